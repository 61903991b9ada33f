package githubapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

// testKey is an RSA key generated once per test run.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
})

// testKeyPEM is testKey in the PKCS #1 PEM form GitHub hands out.
func testKeyPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{
		Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey()),
	}))
}

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestConfigFromEnv(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, []byte(testKeyPEM()), 0o600); err != nil {
		t.Fatal(err)
	}
	escaped := strings.ReplaceAll(testKeyPEM(), "\n", `\n`)

	tests := []struct {
		name     string
		vars     map[string]string
		variable string // the ConfigError's variable; empty when valid
		problem  string
		check    func(is *is.I, cfg Config)
	}{
		{"token", map[string]string{EnvToken: "  ghp_abc \n"}, "", "", func(is *is.I, cfg Config) {
			is.Equal(string(cfg.Token), "ghp_abc")
			is.Equal(cfg.App, nil)
			is.Equal(cfg.APIURL, "https://api.github.com")
			is.Equal(cfg.Timeout, 20*time.Second)
		}},
		{"url and timeout", map[string]string{
			EnvToken: "t", EnvAPIURL: "https://ghe.example.com/api/v3/", EnvTimeout: "45s",
		}, "", "", func(is *is.I, cfg Config) {
			is.Equal(cfg.APIURL, "https://ghe.example.com/api/v3/")
			is.Equal(cfg.Timeout, 45*time.Second)
		}},
		{"app with key text", map[string]string{
			EnvAppID: "12345", EnvAppInstallationID: "678", EnvAppPrivateKey: testKeyPEM(),
		}, "", "", func(is *is.I, cfg Config) {
			is.Equal(cfg.Token, Secret(""))
			is.Equal(cfg.App.AppID, int64(12345))
			is.Equal(cfg.App.InstallationID, int64(678))
			is.True(cfg.App.PrivateKey.Equal(testKey()))
		}},
		{"app with escaped key", map[string]string{
			EnvAppID: "1", EnvAppInstallationID: "2", EnvAppPrivateKey: escaped,
		}, "", "", func(is *is.I, cfg Config) { is.True(cfg.App.PrivateKey.Equal(testKey())) }},
		{"app with key file", map[string]string{
			EnvAppID: "1", EnvAppInstallationID: "2", EnvAppPrivateKeyPath: keyFile,
		}, "", "", func(is *is.I, cfg Config) { is.True(cfg.App.PrivateKey.Equal(testKey())) }},
		{"nothing set", map[string]string{}, EnvToken,
			"GHILLIE_GITHUB_TOKEN is required for GitHub API", nil},
		{"blank token", map[string]string{EnvToken: "   "}, EnvToken, "is required for GitHub API", nil},
		{"token and app", map[string]string{EnvToken: "t", EnvAppID: "1"}, EnvToken, EnvAppID, nil},
		{"app without installation and key", map[string]string{EnvAppID: "1"}, EnvAppInstallationID,
			"set GHILLIE_GITHUB_APP_INSTALLATION_ID, GHILLIE_GITHUB_APP_PRIVATE_KEY " +
				"(or GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH)",
			nil},
		{"app without id", map[string]string{EnvAppInstallationID: "2", EnvAppPrivateKey: testKeyPEM()},
			EnvAppID, "set GHILLIE_GITHUB_APP_ID", nil},
		{"non-numeric app id", map[string]string{
			EnvAppID: "my-app", EnvAppInstallationID: "2", EnvAppPrivateKey: testKeyPEM(),
		}, EnvAppID, `invalid id "my-app"`, nil},
		{"non-numeric installation id", map[string]string{
			EnvAppID: "1", EnvAppInstallationID: "-2", EnvAppPrivateKey: testKeyPEM(),
		}, EnvAppInstallationID, `invalid id "-2"`, nil},
		{"both key forms", map[string]string{
			EnvAppID: "1", EnvAppInstallationID: "2",
			EnvAppPrivateKey: testKeyPEM(), EnvAppPrivateKeyPath: keyFile,
		}, EnvAppPrivateKeyPath, "give the private key once", nil},
		{"unparsable key", map[string]string{
			EnvAppID: "1", EnvAppInstallationID: "2", EnvAppPrivateKey: "not-a-key-SECRETMATERIAL",
		}, EnvAppPrivateKey, "GHILLIE_GITHUB_APP_PRIVATE_KEY holds no PEM block: give the App's " +
			"private key, as PEM", nil},
		{"token with a line break", map[string]string{EnvToken: "ghp_SECRETMATERIAL\nghp_x"},
			EnvToken, "contains whitespace or a control character at byte 19", nil},
		{"token with a space", map[string]string{EnvToken: " ghp_SECRET MATERIAL "},
			EnvToken, "give the token alone, on one line", nil},
		{"token with a tab", map[string]string{EnvToken: "ghp_SECRET\tMATERIAL"},
			EnvToken, "control character", nil},
		{"token with a NUL", map[string]string{EnvToken: "ghp_SECRET\x00MATERIAL"},
			EnvToken, "control character", nil},
		{"unreadable key file", map[string]string{
			EnvAppID: "1", EnvAppInstallationID: "2", EnvAppPrivateKeyPath: keyFile + ".missing",
		}, EnvAppPrivateKeyPath, "cannot read the private key file", nil},
		{"relative url", map[string]string{EnvToken: "t", EnvAPIURL: "api.github.com"}, EnvAPIURL,
			"absolute http or https URL", nil},
		{"url with credentials", map[string]string{EnvToken: "t", EnvAPIURL: "https://u:pw@ghe.example.com"},
			EnvAPIURL, "contains credentials", nil},
		{"plain http to a remote host", map[string]string{EnvToken: "t", EnvAPIURL: "http://ghe.example.com"},
			EnvAPIURL, "use https", nil},
		{"bad timeout", map[string]string{EnvToken: "t", EnvTimeout: "20"}, EnvTimeout,
			`invalid duration "20"`, nil},
		{"negative timeout", map[string]string{EnvToken: "t", EnvTimeout: "-1s"}, EnvTimeout,
			"positive", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cfg, err := ConfigFromEnv(env(tt.vars))
			if tt.variable == "" {
				is.NoErr(err)
				tt.check(is, cfg)
				return
			}
			var cfgErr *ingest.ConfigError
			is.True(errors.As(err, &cfgErr))
			is.Equal(cfgErr.Variable, tt.variable)
			is.True(strings.Contains(err.Error(), tt.problem)) // the problem names the fix
			is.True(!strings.Contains(err.Error(), "SECRETMATERIAL"))
			is.True(!strings.Contains(err.Error(), "PRIVATE KEY-----"))
		})
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		graphQL string
		rest    string
	}{
		{"github.com", "https://api.github.com", "https://api.github.com/graphql", "https://api.github.com/"},
		{"github.com slash", "https://api.github.com/", "https://api.github.com/graphql",
			"https://api.github.com/"},
		{"data residency", "https://api.octocorp.ghe.com", "https://api.octocorp.ghe.com/graphql",
			"https://api.octocorp.ghe.com/"},
		{"enterprise server", "https://ghe.example.com", "https://ghe.example.com/api/graphql",
			"https://ghe.example.com/api/v3/"},
		{"enterprise server with v3", "https://ghe.example.com/api/v3/",
			"https://ghe.example.com/api/graphql", "https://ghe.example.com/api/v3/"},
		{"loopback fake", "http://127.0.0.1:8080", "http://127.0.0.1:8080/api/graphql",
			"http://127.0.0.1:8080/api/v3/"},
		{"ipv6 loopback", "http://[::1]:8080", "http://[::1]:8080/api/graphql", "http://[::1]:8080/api/v3/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := parseEndpoints(tt.url)
			is.NoErr(err)
			is.Equal(got.graphQL, tt.graphQL)
			is.Equal(got.rest, tt.rest)
		})
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	is := is.New(t)
	cfg := Config{Token: testToken, APIURL: "http://127.0.0.1:1", Timeout: time.Second}
	app := Config{App: &AppConfig{AppID: 1, InstallationID: 2, PrivateKey: testKey()}}
	keyDigits := testKey().D.String()[:20]

	var logs strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cfg", cfg, "app", app, "token", cfg.Token)
	asJSON, err := json.Marshal(map[string]any{"cfg": cfg, "app": app})
	is.NoErr(err)

	printed := []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s %q %x", cfg, cfg, cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s %x %d", cfg.Token, cfg.Token, cfg.Token, cfg.Token, cfg.Token, cfg.Token),
		fmt.Sprintf("%v %+v %#v", app, app, &app), fmt.Sprintf("%+v %#v", *app.App, app.App),
		logs.String(), string(asJSON),
	}
	for _, text := range printed {
		is.True(!strings.Contains(text, testToken))
		is.True(!strings.Contains(text, keyDigits))
	}
	is.True(strings.Contains(fmt.Sprint(cfg), "[REDACTED]"))
	is.True(strings.Contains(logs.String(), `"app_id":1`))
	is.Equal(Secret("").String(), "")
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"nothing", Config{APIURL: "http://127.0.0.1:1"}},
		{"token and app", Config{
			Token: "t", App: &AppConfig{AppID: 1, InstallationID: 2, PrivateKey: testKey()},
			APIURL: "http://127.0.0.1:1",
		}},
		{"app without key", Config{
			App: &AppConfig{AppID: 1, InstallationID: 2}, APIURL: "http://127.0.0.1:1",
		}},
		{"bad url", Config{Token: "t", APIURL: "ftp://127.0.0.1"}},
		{"negative timeout", Config{Token: "t", APIURL: "http://127.0.0.1:1", Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := New(tt.cfg)
			var cfgErr *ingest.ConfigError
			is.True(errors.As(err, &cfgErr))
		})
	}
}

// pemOf encodes der as a PEM block of type typ with headers.
func pemOf(typ string, der []byte, headers map[string]string) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der}))
}

func TestPrivateKeyProblems(t *testing.T) {
	public, err := x509.MarshalPKIXPublicKey(&testKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(testKey())
	keyDigits := testKey().D.String()[:20]

	tests := []struct {
		name    string
		key     string
		problem string // empty when the key is accepted
	}{
		{"pkcs1", pemOf("RSA PRIVATE KEY", pkcs1, nil), ""},
		{"pkcs8", pemOf("PRIVATE KEY", pkcs8, nil), ""},
		{"pkcs8 labelled pkcs1", pemOf("RSA PRIVATE KEY", pkcs8, nil), ""},
		{"public key", pemOf("PUBLIC KEY", public, nil),
			"GHILLIE_GITHUB_APP_PRIVATE_KEY holds a public key: give the App's private key, as PEM"},
		{"rsa public key", pemOf("RSA PUBLIC KEY",
			x509.MarshalPKCS1PublicKey(&testKey().PublicKey), nil), "holds a public key"},
		{"encrypted pkcs8", pemOf("ENCRYPTED PRIVATE KEY", pkcs8, nil),
			"holds an encrypted private key: give the App's private key, as PEM, " +
				"without a passphrase"},
		{"encrypted legacy", pemOf("RSA PRIVATE KEY", pkcs1, map[string]string{
			"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF",
		}), "holds an encrypted private key"},
		{"certificate", pemOf("CERTIFICATE", public, nil), "holds a certificate"},
		{"openssh", pemOf("OPENSSH PRIVATE KEY", pkcs1, nil), "holds an OpenSSH key"},
		{"ec in pkcs8", pemOf("PRIVATE KEY", ec8, nil),
			"holds an ECDSA key, but GitHub App keys are RSA"},
		{"other block", pemOf("X509 CRL", pkcs1, nil), `holds a PEM block of type "X509 CRL"`},
		{"damaged", pemOf("RSA PRIVATE KEY", pkcs1[:len(pkcs1)/2], nil),
			"does not parse as an RSA key, perhaps cut short or altered"},
		{"not pem", "MIIEowIBAAKCAQEA" + keyDigits, "holds no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cfg, err := ConfigFromEnv(env(map[string]string{
				EnvAppID: "1", EnvAppInstallationID: "2", EnvAppPrivateKey: tt.key,
			}))
			if tt.problem == "" {
				is.NoErr(err)
				is.True(cfg.App.PrivateKey.Equal(testKey()))
				return
			}
			var cfgErr *ingest.ConfigError
			is.True(errors.As(err, &cfgErr))
			is.Equal(cfgErr.Variable, EnvAppPrivateKey)
			is.True(strings.HasPrefix(err.Error(), EnvAppPrivateKey+" holds "))
			is.True(strings.Contains(err.Error(), tt.problem))
			is.True(!strings.Contains(err.Error(), keyDigits))
			is.True(!strings.Contains(err.Error(), "asn1"))
			is.True(!strings.Contains(err.Error(), "MII"))
		})
	}
}

func TestNewRejectsTokenWithWhitespace(t *testing.T) {
	for _, token := range []string{"ghp_SECRET\n", "ghp_SECRET MATERIAL", "\tghp_SECRET"} {
		is := is.New(t)
		_, err := New(Config{Token: Secret(token), APIURL: "http://127.0.0.1:1"})
		var cfgErr *ingest.ConfigError
		is.True(errors.As(err, &cfgErr))
		is.Equal(cfgErr.Variable, EnvToken)
		is.True(!strings.Contains(err.Error(), "SECRET"))
	}
}

package githubapi

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/ghillie/ghillie/ingest"
)

// Environment variables read by ConfigFromEnv.
const (
	// EnvToken names the personal access or installation token.
	EnvToken = "GHILLIE_GITHUB_TOKEN"

	// EnvAppID names the numeric id of a GitHub App.
	EnvAppID = "GHILLIE_GITHUB_APP_ID"

	// EnvAppInstallationID names the numeric id of the App's installation.
	EnvAppInstallationID = "GHILLIE_GITHUB_APP_INSTALLATION_ID"

	// EnvAppPrivateKey names the App's private key as PEM text.
	EnvAppPrivateKey = "GHILLIE_GITHUB_APP_PRIVATE_KEY"

	// EnvAppPrivateKeyPath names a file with the App's private key.
	EnvAppPrivateKeyPath = "GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH"

	// EnvAPIURL names the API root, DefaultAPIURL when unset.
	EnvAPIURL = "GHILLIE_GITHUB_API_URL"

	// EnvTimeout names the per-request timeout, a Go duration.
	EnvTimeout = "GHILLIE_GITHUB_TIMEOUT"
)

// DefaultAPIURL is the API root of github.com.
const DefaultAPIURL = "https://api.github.com"

// DefaultTimeout bounds one HTTP request, response body included.
const DefaultTimeout = 20 * time.Second

// redacted replaces a secret wherever it would be printed.
const redacted = "[REDACTED]"

// Config selects the GitHub endpoint and the credentials of a Client.
// Exactly one of Token and App is set. Printing a Config with fmt or
// slog redacts the token and the private key.
type Config struct {
	// Token is a personal access token or an installation token minted
	// elsewhere.
	Token Secret

	// App authenticates as a GitHub App installation instead of Token.
	App *AppConfig

	// APIURL is the API root: https://api.github.com (the default when
	// empty), https://api.SUBDOMAIN.ghe.com, or the URL of a GitHub
	// Enterprise Server, with or without its /api/v3 suffix. Plain http
	// is accepted only for loopback hosts.
	APIURL string

	// Timeout bounds each HTTP request; zero means DefaultTimeout.
	Timeout time.Duration
}

// AppConfig identifies a GitHub App installation and holds the App's
// private key, from which the Client mints installation tokens.
type AppConfig struct {
	AppID          int64
	InstallationID int64
	PrivateKey     *rsa.PrivateKey
}

// Secret is a credential that prints as [REDACTED] with fmt, slog and
// encoding/json. Convert it to string to use it.
type Secret string

// String returns [REDACTED], or the empty string for an empty Secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format writes the redacted form for every fmt verb, %#v and %x included.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue returns the redacted form for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// String describes the App without its private key.
func (a AppConfig) String() string {
	key := "none"
	if a.PrivateKey != nil {
		key = redacted
	}
	return fmt.Sprintf("{AppID:%d InstallationID:%d PrivateKey:%s}", a.AppID, a.InstallationID, key)
}

// Format writes String for every fmt verb, so no verb prints the key.
func (a AppConfig) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.String()) }

// LogValue describes the App for slog without its private key.
func (a AppConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("app_id", a.AppID),
		slog.Int64("installation_id", a.InstallationID),
		slog.Bool("private_key_set", a.PrivateKey != nil),
	)
}

// MarshalJSON encodes the App ids without the private key.
func (a AppConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"app_id":          a.AppID,
		"installation_id": a.InstallationID,
		"private_key":     redacted,
	})
}

// String describes the configuration with its secrets redacted.
func (c Config) String() string {
	app := "nil"
	if c.App != nil {
		app = c.App.String()
	}
	return fmt.Sprintf("{Token:%s App:%s APIURL:%s Timeout:%s}", c.Token, app, c.APIURL, c.Timeout)
}

// Format writes String for every fmt verb, so no verb prints a secret.
func (c Config) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue describes the configuration for slog with its secrets redacted.
func (c Config) LogValue() slog.Value {
	auth := "token"
	if c.App != nil {
		auth = "app"
	}
	attrs := []slog.Attr{
		slog.String("auth", auth),
		slog.String("api_url", c.APIURL),
		slog.Duration("timeout", c.Timeout),
	}
	if c.App != nil {
		attrs = append(attrs, slog.Any("app", *c.App))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the configuration with its secrets redacted.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"token":   c.Token,
		"app":     c.App,
		"api_url": c.APIURL,
		"timeout": c.Timeout.String(),
	})
}

// ConfigFromEnv reads the configuration from environment variables
// through getenv (os.Getenv in production): GHILLIE_GITHUB_TOKEN, or the
// GitHub App trio GHILLIE_GITHUB_APP_ID, GHILLIE_GITHUB_APP_INSTALLATION_ID
// and GHILLIE_GITHUB_APP_PRIVATE_KEY (PEM text, literal \n escapes
// accepted) or GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH; GHILLIE_GITHUB_API_URL
// (default https://api.github.com) and GHILLIE_GITHUB_TIMEOUT (a Go
// duration, default 20s). A missing or invalid setting returns an
// *ingest.ConfigError naming the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var cfg Config

	cfg.APIURL = strings.TrimSpace(getenv(EnvAPIURL))
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if _, err := parseEndpoints(cfg.APIURL); err != nil {
		return Config{}, err
	}

	cfg.Timeout = DefaultTimeout
	if text := strings.TrimSpace(getenv(EnvTimeout)); text != "" {
		d, err := time.ParseDuration(text)
		if err != nil || d <= 0 {
			return Config{}, &ingest.ConfigError{
				Variable: EnvTimeout,
				Problem: fmt.Sprintf("invalid duration %q: "+
					"use a positive Go duration such as 20s or 1m", text),
			}
		}
		cfg.Timeout = d
	}

	token := strings.TrimSpace(getenv(EnvToken))
	if err := checkToken(token); err != nil {
		return Config{}, err
	}
	appVars := setAppVariables(getenv)
	switch {
	case token != "" && len(appVars) > 0:
		return Config{}, &ingest.ConfigError{
			Variable: EnvToken,
			Problem: fmt.Sprintf("set together with %s: "+
				"configure either a token or a GitHub App, not both", strings.Join(appVars, ", ")),
		}
	case token != "":
		cfg.Token = Secret(token)
		return cfg, nil
	case len(appVars) == 0:
		return Config{}, &ingest.ConfigError{
			Variable: EnvToken,
			Problem: fmt.Sprintf("%s is required for GitHub API unless a GitHub App is "+
				"configured with %s, %s and %s (or %s)",
				EnvToken, EnvAppID, EnvAppInstallationID, EnvAppPrivateKey, EnvAppPrivateKeyPath),
		}
	}

	app, err := appFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	cfg.App = app
	return cfg, nil
}

// checkToken rejects a token with whitespace or control characters,
// which no GitHub token contains and no HTTP header can carry, without
// printing the token.
func checkToken(token string) error {
	bad := strings.IndexFunc(token, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	})
	if bad < 0 {
		return nil
	}
	return &ingest.ConfigError{
		Variable: EnvToken,
		Problem: fmt.Sprintf("contains whitespace or a control character at byte %d, "+
			"such as a line break from a pasted file: give the token alone, on one line",
			bad+1),
	}
}

// setAppVariables lists the GitHub App variables that are not blank.
func setAppVariables(getenv func(string) string) []string {
	var set []string
	names := []string{EnvAppID, EnvAppInstallationID, EnvAppPrivateKey, EnvAppPrivateKeyPath}
	for _, name := range names {
		if strings.TrimSpace(getenv(name)) != "" {
			set = append(set, name)
		}
	}
	return set
}

// appFromEnv reads the GitHub App variables, naming every missing one.
func appFromEnv(getenv func(string) string) (*AppConfig, error) {
	appID := strings.TrimSpace(getenv(EnvAppID))
	installationID := strings.TrimSpace(getenv(EnvAppInstallationID))
	keyText := strings.TrimSpace(getenv(EnvAppPrivateKey))
	keyPath := strings.TrimSpace(getenv(EnvAppPrivateKeyPath))

	var missing []string
	if appID == "" {
		missing = append(missing, EnvAppID)
	}
	if installationID == "" {
		missing = append(missing, EnvAppInstallationID)
	}
	if keyText == "" && keyPath == "" {
		missing = append(missing, EnvAppPrivateKey+" (or "+EnvAppPrivateKeyPath+")")
	}
	if len(missing) > 0 {
		return nil, &ingest.ConfigError{
			Variable: strings.Fields(missing[0])[0],
			Problem:  "GitHub App configuration is incomplete: set " + strings.Join(missing, ", "),
		}
	}
	if keyText != "" && keyPath != "" {
		return nil, &ingest.ConfigError{
			Variable: EnvAppPrivateKeyPath,
			Problem:  "set together with " + EnvAppPrivateKey + ": give the private key once",
		}
	}

	app := &AppConfig{}
	var err error
	if app.AppID, err = parseID(EnvAppID, appID); err != nil {
		return nil, err
	}
	if app.InstallationID, err = parseID(EnvAppInstallationID, installationID); err != nil {
		return nil, err
	}

	subject := EnvAppPrivateKey
	if keyPath != "" {
		if keyText, err = readKeyFile(keyPath); err != nil {
			return nil, err
		}
		subject = EnvAppPrivateKeyPath + " names a file that"
	}
	key, problem := parsePrivateKey(keyText)
	if problem != "" {
		variable := strings.Fields(subject)[0]
		return nil, &ingest.ConfigError{Variable: variable, Problem: subject + " " + problem}
	}
	app.PrivateKey = key
	return app, nil
}

// maxKeyFileSize bounds the private key file. A 4096-bit RSA key in PEM
// takes about 3.3 KiB.
const maxKeyFileSize = 64 << 10

// readKeyFile reads the private key file at path, which must be a
// regular file of at most maxKeyFileSize bytes, so that a named pipe
// cannot block the start and a device cannot exhaust memory.
func readKeyFile(path string) (string, error) {
	fail := func(format string, args ...any) error {
		return &ingest.ConfigError{
			Variable: EnvAppPrivateKeyPath,
			Problem:  fmt.Sprintf(format, args...),
		}
	}
	check := func(info fs.FileInfo) error {
		if kind := fileKind(info.Mode()); kind != "" {
			return fail("%q is %s, not a regular file: give the path of the App's private "+
				"key file, as GitHub generated it", path, kind)
		}
		if info.Size() > maxKeyFileSize {
			return fail("%q has %d bytes, more than a private key's limit of %d: give the "+
				"path of the App's private key file", path, info.Size(), maxKeyFileSize)
		}
		return nil
	}

	info, err := os.Stat(path)
	if err != nil {
		return "", fail("cannot read the private key file: %v", err)
	}
	if err := check(info); err != nil {
		return "", err
	}

	// O_NONBLOCK keeps the open from waiting for a writer if a named
	// pipe replaced the file since the check, and the file is checked
	// again once open. Regular files ignore the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fail("cannot read the private key file: %v", err)
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return "", fail("cannot read the private key file: %v", err)
	}
	if err := check(info); err != nil {
		return "", err
	}

	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return "", fail("cannot read the private key file: %v", err)
	}
	if len(data) > maxKeyFileSize {
		return "", fail("%q grew beyond a private key's limit of %d bytes while being read: "+
			"give the path of the App's private key file", path, maxKeyFileSize)
	}
	return string(data), nil
}

// fileKind describes a file that is not a regular one, or returns "".
func fileKind(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return ""
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (mode " + mode.String() + ")"
}

// parseID parses a positive decimal GitHub id.
func parseID(variable, text string) (int64, error) {
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id <= 0 {
		return 0, &ingest.ConfigError{
			Variable: variable,
			Problem:  fmt.Sprintf("invalid id %q: use the positive number GitHub shows", text),
		}
	}
	return id, nil
}

// parsePrivateKey parses a PEM RSA key (PKCS #1 or PKCS #8). Secret
// stores often flatten the PEM to one line with literal \n escapes,
// which never occur in PEM, so they are turned back into newlines. It
// returns the problem with a key it rejects, what it holds and what is
// expected, without the parser's errors, which can quote key material.
func parsePrivateKey(text string) (*rsa.PrivateKey, string) {
	const want = "give the App's private key, as PEM"
	text = strings.ReplaceAll(strings.TrimSpace(text), `\n`, "\n")
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, "holds no PEM block: " + want + ", the text from the BEGIN line to " +
			"the END line, as GitHub generated it"
	}
	_, encrypted := block.Headers["DEK-Info"]
	switch {
	case block.Type == "ENCRYPTED PRIVATE KEY" || encrypted:
		return nil, "holds an encrypted private key: " + want + ", without a passphrase, " +
			"as GitHub generated it"
	case strings.HasSuffix(block.Type, "PUBLIC KEY"):
		return nil, "holds a public key: " + want
	case block.Type == "CERTIFICATE":
		return nil, "holds a certificate: " + want
	case block.Type == "OPENSSH PRIVATE KEY":
		return nil, "holds an OpenSSH key: " + want + " in the PEM format GitHub generated"
	case block.Type == "EC PRIVATE KEY":
		return nil, "holds an EC key, but GitHub App keys are RSA: " + want
	case block.Type != "RSA PRIVATE KEY" && block.Type != "PRIVATE KEY":
		return nil, fmt.Sprintf("holds a PEM block of type %q: %s", block.Type, want)
	}

	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, ""
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Sprintf("holds a %s block that does not parse as an RSA key, "+
			"perhaps cut short or altered: %s", block.Type, want)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Sprintf("holds an %s key, but GitHub App keys are RSA: %s",
			keyAlgorithm(parsed), want)
	}
	return key, ""
}

// keyAlgorithm names the algorithm of a parsed PKCS #8 key.
func keyAlgorithm(key any) string {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case ed25519.PrivateKey:
		return "Ed25519"
	case *ecdh.PrivateKey:
		return "ECDH"
	}
	return fmt.Sprintf("%T", key)
}

// endpoints are the GraphQL URL and the REST root (ending in a slash)
// of one GitHub installation.
type endpoints struct {
	graphQL string
	rest    string
}

// parseEndpoints derives the GraphQL and REST URLs from an API root.
// github.com and GitHub Enterprise Cloud with data residency serve
// GraphQL at /graphql and REST at the root; GitHub Enterprise Server
// serves them at /api/graphql and /api/v3.
func parseEndpoints(apiURL string) (endpoints, error) {
	u, err := url.Parse(strings.TrimSpace(apiURL))
	if err != nil {
		return endpoints{}, &ingest.ConfigError{
			Variable: EnvAPIURL,
			Problem:  fmt.Sprintf("invalid URL %q: %v", apiURL, err),
		}
	}
	problem := ""
	switch {
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		problem = "want an absolute http or https URL such as " + DefaultAPIURL
	case u.User != nil:
		problem = "contains credentials: remove them and set a token or a GitHub App"
	case u.RawQuery != "" || u.Fragment != "":
		problem = "contains a query or fragment: give only the API root"
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		problem = "uses plain http, which would send the token unencrypted: use https"
	}
	if problem != "" {
		return endpoints{}, &ingest.ConfigError{
			Variable: EnvAPIURL,
			Problem:  fmt.Sprintf("invalid URL %q: %s", u.Redacted(), problem),
		}
	}

	host := strings.ToLower(u.Hostname())
	path := strings.TrimSuffix(u.Path, "/")
	base := u.Scheme + "://" + u.Host
	cloud := strings.HasPrefix(host, "api.") && strings.HasSuffix(host, ".ghe.com")
	if host == "api.github.com" || cloud {
		return endpoints{graphQL: base + path + "/graphql", rest: base + path + "/"}, nil
	}
	path = strings.TrimSuffix(path, "/api/v3")
	return endpoints{graphQL: base + path + "/api/graphql", rest: base + path + "/api/v3/"}, nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

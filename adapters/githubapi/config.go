package githubapi

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

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

	variable := EnvAppPrivateKey
	if keyPath != "" {
		variable = EnvAppPrivateKeyPath
		data, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, &ingest.ConfigError{
				Variable: EnvAppPrivateKeyPath,
				Problem:  fmt.Sprintf("cannot read the private key file: %v", err),
			}
		}
		keyText = string(data)
	}
	if app.PrivateKey, err = parsePrivateKey(keyText); err != nil {
		return nil, &ingest.ConfigError{
			Variable: variable,
			Problem: fmt.Sprintf("invalid GitHub App private key (%v): give the PEM file "+
				"GitHub generated for the App", err),
		}
	}
	return app, nil
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
// which never occur in PEM, so they are turned back into newlines.
func parsePrivateKey(text string) (*rsa.PrivateKey, error) {
	text = strings.ReplaceAll(strings.TrimSpace(text), `\n`, "\n")
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(text))
	if err != nil {
		return nil, err
	}
	return key, nil
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

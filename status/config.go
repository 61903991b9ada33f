package status

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by FromEnv and OpenAIConfigFromEnv.
const (
	// EnvBackend selects the model: "mock" or "openai".
	EnvBackend = "GHILLIE_STATUS_MODEL_BACKEND"

	// EnvOpenAIAPIKey names the API key, sent as a bearer token.
	EnvOpenAIAPIKey = "GHILLIE_OPENAI_API_KEY"

	// EnvOpenAIEndpoint names the full chat completions URL.
	EnvOpenAIEndpoint = "GHILLIE_OPENAI_ENDPOINT"

	// EnvOpenAIModel names the model to request.
	EnvOpenAIModel = "GHILLIE_OPENAI_MODEL"

	// EnvOpenAITemperature names the sampling temperature, 0 to 2.
	EnvOpenAITemperature = "GHILLIE_OPENAI_TEMPERATURE"

	// EnvOpenAIMaxTokens names the limit on completion tokens.
	EnvOpenAIMaxTokens = "GHILLIE_OPENAI_MAX_TOKENS"

	// EnvOpenAITimeout names the timeout of one request, a Go duration.
	EnvOpenAITimeout = "GHILLIE_OPENAI_TIMEOUT"

	// EnvOpenAIMaxAttempts names the number of requests per call,
	// retries included.
	EnvOpenAIMaxAttempts = "GHILLIE_OPENAI_MAX_ATTEMPTS"

	// EnvOpenAIPromptTokens names the token budget of a prompt.
	EnvOpenAIPromptTokens = "GHILLIE_OPENAI_PROMPT_TOKENS"
)

// Backends lists the values EnvBackend accepts, sorted.
var Backends = []string{"mock", "openai"}

// Defaults of OpenAIConfig.
const (
	DefaultOpenAIEndpoint = "https://api.openai.com/v1/chat/completions"
	DefaultOpenAIModel    = "gpt-5.1-thinking"
	DefaultTemperature    = 0.3
	DefaultMaxTokens      = 2048
	DefaultTimeout        = 120 * time.Second
	DefaultMaxAttempts    = 3
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = time.Minute
	DefaultPromptTokens   = 16000
)

// maxAttemptsLimit bounds MaxAttempts, so a typo cannot make a call
// retry for hours.
const maxAttemptsLimit = 10

// chatCompletionsPath ends every endpoint. The client's base URL is the
// part of the endpoint before it.
const chatCompletionsPath = "/chat/completions"

// redacted replaces a secret wherever it would be printed.
const redacted = "[REDACTED]"

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

// OpenAIConfig configures the OpenAI model. NewOpenAI fills zero fields
// with the defaults of DefaultOpenAIConfig, except APIKey, which is
// required, and Temperature, whose zero is a valid setting. Printing an
// OpenAIConfig with fmt, slog or encoding/json redacts the API key.
type OpenAIConfig struct {
	// APIKey is sent as the bearer token. Required.
	APIKey Secret

	// Endpoint is the full chat completions URL, ending in
	// /chat/completions, as DefaultOpenAIEndpoint does. The client sends
	// requests to that URL, because the part before /chat/completions
	// becomes its base URL. Plain http is accepted only for loopback hosts.
	Endpoint string

	// Model is the model name sent with each request.
	Model string

	// Temperature is the sampling temperature, from 0 to 2.
	Temperature float64

	// MaxTokens limits the completion, sent as max_tokens.
	MaxTokens int

	// Timeout bounds one request, response body included.
	Timeout time.Duration

	// MaxAttempts is the number of requests one call may send, from 1
	// to 10: the first and its retries.
	MaxAttempts int

	// BaseDelay is the backoff before the first retry. It doubles on
	// each further retry.
	BaseDelay time.Duration

	// MaxDelay caps the backoff. A Retry-After longer than MaxDelay
	// ends the call with the error rather than waiting.
	MaxDelay time.Duration

	// PromptTokens is the token budget of the system and user prompts
	// together, as estimated by EstimateTokens.
	PromptTokens int
}

// DefaultOpenAIConfig returns the defaults, without an API key.
func DefaultOpenAIConfig() OpenAIConfig {
	return OpenAIConfig{
		Endpoint:     DefaultOpenAIEndpoint,
		Model:        DefaultOpenAIModel,
		Temperature:  DefaultTemperature,
		MaxTokens:    DefaultMaxTokens,
		Timeout:      DefaultTimeout,
		MaxAttempts:  DefaultMaxAttempts,
		BaseDelay:    DefaultBaseDelay,
		MaxDelay:     DefaultMaxDelay,
		PromptTokens: DefaultPromptTokens,
	}
}

// String describes the configuration with the API key redacted.
func (c OpenAIConfig) String() string {
	return fmt.Sprintf("{APIKey:%s Endpoint:%s Model:%s Temperature:%g MaxTokens:%d "+
		"Timeout:%s MaxAttempts:%d BaseDelay:%s MaxDelay:%s PromptTokens:%d}",
		c.APIKey, c.Endpoint, c.Model, c.Temperature, c.MaxTokens,
		c.Timeout, c.MaxAttempts, c.BaseDelay, c.MaxDelay, c.PromptTokens)
}

// Format writes String for every fmt verb, so no verb prints the key.
func (c OpenAIConfig) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue describes the configuration for slog with the key redacted.
func (c OpenAIConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_key", c.APIKey.String()),
		slog.String("endpoint", c.Endpoint),
		slog.String("model", c.Model),
		slog.Float64("temperature", c.Temperature),
		slog.Int("max_tokens", c.MaxTokens),
		slog.Duration("timeout", c.Timeout),
		slog.Int("max_attempts", c.MaxAttempts),
		slog.Int("prompt_tokens", c.PromptTokens),
	)
}

// MarshalJSON encodes the configuration with the key redacted.
func (c OpenAIConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"api_key":       c.APIKey,
		"endpoint":      c.Endpoint,
		"model":         c.Model,
		"temperature":   c.Temperature,
		"max_tokens":    c.MaxTokens,
		"timeout":       c.Timeout.String(),
		"max_attempts":  c.MaxAttempts,
		"base_delay":    c.BaseDelay.String(),
		"max_delay":     c.MaxDelay.String(),
		"prompt_tokens": c.PromptTokens,
	})
}

// FromEnv returns the model that EnvBackend selects, reading variables
// through getenv (os.Getenv in production). The value is trimmed and
// compared case-insensitively. "openai" reads the rest of its
// configuration with OpenAIConfigFromEnv. A missing or unknown backend
// is a *ConfigError naming EnvBackend, the value and the choices.
func FromEnv(getenv func(string) string) (Model, error) {
	raw := getenv(EnvBackend)
	choices := "'" + strings.Join(Backends, "', '") + "'"

	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "mock":
		return NewMock(), nil
	case "openai":
		cfg, err := OpenAIConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return NewOpenAI(cfg, OpenAIOptions{})
	case "":
		return nil, &ConfigError{Variable: EnvBackend, Value: raw,
			Problem: "missing status model backend: set it to one of " + choices}
	}
	return nil, &ConfigError{Variable: EnvBackend, Value: raw,
		Problem: "invalid status model backend: want one of " + choices}
}

// OpenAIConfigFromEnv reads an OpenAIConfig through getenv:
// GHILLIE_OPENAI_API_KEY (required), GHILLIE_OPENAI_ENDPOINT,
// GHILLIE_OPENAI_MODEL, GHILLIE_OPENAI_TEMPERATURE (a decimal number
// from 0 to 2), GHILLIE_OPENAI_MAX_TOKENS (a positive integer),
// GHILLIE_OPENAI_TIMEOUT (a Go duration such as 90s),
// GHILLIE_OPENAI_MAX_ATTEMPTS (1 to 10) and GHILLIE_OPENAI_PROMPT_TOKENS
// (a positive integer). Values are trimmed, and an empty or blank
// value takes the default. Numbers use Go syntax: a leading sign is accepted,
// digit separators such as 1_000 are not. A missing or invalid setting
// is a *ConfigError naming the variable and its value, never the key.
func OpenAIConfigFromEnv(getenv func(string) string) (OpenAIConfig, error) {
	cfg := DefaultOpenAIConfig()

	key := strings.TrimSpace(getenv(EnvOpenAIAPIKey))
	if key == "" {
		return OpenAIConfig{}, &ConfigError{Variable: EnvOpenAIAPIKey,
			Problem: "missing API key: set it to a non-empty OpenAI API key"}
	}
	cfg.APIKey = Secret(key)

	if v := strings.TrimSpace(getenv(EnvOpenAIEndpoint)); v != "" {
		cfg.Endpoint = v
	}
	if _, err := baseURL(cfg.Endpoint); err != nil {
		return OpenAIConfig{}, err
	}
	if v := strings.TrimSpace(getenv(EnvOpenAIModel)); v != "" {
		cfg.Model = v
	}

	if raw := getenv(EnvOpenAITemperature); strings.TrimSpace(raw) != "" {
		t, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || math.IsNaN(t) || t < 0 || t > 2 {
			return OpenAIConfig{}, &ConfigError{Variable: EnvOpenAITemperature, Value: raw,
				Problem: "invalid temperature: want a number from 0.0 to 2.0"}
		}
		cfg.Temperature = t
	}

	var err error
	if cfg.MaxTokens, err = positiveInt(getenv, EnvOpenAIMaxTokens, "max_tokens",
		cfg.MaxTokens, math.MaxInt32); err != nil {
		return OpenAIConfig{}, err
	}
	if cfg.MaxAttempts, err = positiveInt(getenv, EnvOpenAIMaxAttempts, "max_attempts",
		cfg.MaxAttempts, maxAttemptsLimit); err != nil {
		return OpenAIConfig{}, err
	}
	if cfg.PromptTokens, err = positiveInt(getenv, EnvOpenAIPromptTokens, "prompt_tokens",
		cfg.PromptTokens, math.MaxInt32); err != nil {
		return OpenAIConfig{}, err
	}

	if raw := getenv(EnvOpenAITimeout); strings.TrimSpace(raw) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil || d <= 0 {
			return OpenAIConfig{}, &ConfigError{Variable: EnvOpenAITimeout, Value: raw,
				Problem: "invalid timeout: want a positive Go duration such as 120s or 2m"}
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// positiveInt reads an integer from 1 to limit, or def when the
// variable is blank.
func positiveInt(getenv func(string) string, variable, field string, def, limit int) (int, error) {
	raw := getenv(variable)
	if strings.TrimSpace(raw) == "" {
		return def, nil
	}

	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n <= 0 || n > limit {
		return 0, &ConfigError{Variable: variable, Value: raw,
			Problem: fmt.Sprintf("invalid %s: want a positive integer no greater than %d",
				field, limit)}
	}
	return n, nil
}

// baseURL returns the client base URL of a chat completions endpoint:
// the endpoint without its trailing /chat/completions.
func baseURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	printable := "(not a URL)"
	if err == nil {
		printable = redactURL(u)
	}
	fail := func(problem string) error {
		return &ConfigError{Variable: EnvOpenAIEndpoint, Value: printable,
			Problem: "invalid endpoint: " + problem}
	}
	if err != nil {
		return "", fail("not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return "", fail("want an absolute https URL such as " + DefaultOpenAIEndpoint)
	case u.User != nil:
		return "", fail("contains credentials: set the key in " + EnvOpenAIAPIKey)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fail("contains a query or fragment, which requests would not keep")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fail("uses plain http, which would send the API key unencrypted: use https")
	case !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), chatCompletionsPath):
		return "", fail("want the full chat completions URL, ending in " + chatCompletionsPath)
	}

	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), chatCompletionsPath) + "/"
	u.RawPath = ""
	return u.String(), nil
}

// redactURL returns u for an error message, without the user
// information and query, which may hold credentials.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		c.RawQuery = "REDACTED"
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

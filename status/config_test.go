package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

const testKey = "sk-test-0123456789abcdef"

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		want    string // the model's type, or "" for an error
		problem []string
	}{
		{"mock", "mock", "*status.Mock", nil},
		{"mock padded upper case", "  MoCk \n", "*status.Mock", nil},
		{"openai", "OpenAI", "*status.OpenAI", nil},
		{"unset", "", "", []string{EnvBackend, "missing", "'mock', 'openai'"}},
		{"blank", "   ", "", []string{EnvBackend, `"   "`, "'mock', 'openai'"}},
		{"unknown", "claude", "", []string{EnvBackend, `"claude"`, "'mock', 'openai'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			vars := map[string]string{EnvBackend: tt.backend, EnvOpenAIAPIKey: testKey,
				EnvOpenAIEndpoint: "http://127.0.0.1:1/v1/chat/completions"}

			m, err := FromEnv(env(vars))

			if tt.want != "" {
				is.NoErr(err)
				is.Equal(fmt.Sprintf("%T", m), tt.want)
				return
			}
			var cfgErr *ConfigError
			is.True(errors.As(err, &cfgErr))
			is.Equal(cfgErr.Variable, EnvBackend)
			for _, p := range tt.problem {
				is.True(strings.Contains(err.Error(), p))
			}
		})
	}
}

func TestFromEnvOpenAIConfigError(t *testing.T) {
	is := is.New(t)

	_, err := FromEnv(env(map[string]string{EnvBackend: "openai"}))

	var cfgErr *ConfigError
	is.True(errors.As(err, &cfgErr))
	is.Equal(cfgErr.Variable, EnvOpenAIAPIKey)
}

func TestOpenAIConfigFromEnv(t *testing.T) {
	base := func(extra map[string]string) map[string]string {
		vars := map[string]string{EnvOpenAIAPIKey: testKey}
		for k, v := range extra {
			vars[k] = v
		}
		return vars
	}
	tests := []struct {
		name     string
		vars     map[string]string
		variable string   // the ConfigError's variable; empty when valid
		words    []string // in the error message
		check    func(is *is.I, cfg OpenAIConfig)
	}{
		{"defaults", base(nil), "", nil, func(is *is.I, cfg OpenAIConfig) {
			is.Equal(string(cfg.APIKey), testKey)
			is.Equal(cfg.Endpoint, "https://api.openai.com/v1/chat/completions")
			is.Equal(cfg.Model, "gpt-5.1-thinking")
			is.Equal(cfg.Temperature, 0.3)
			is.Equal(cfg.MaxTokens, 2048)
			is.Equal(cfg.Timeout, 120*time.Second)
			is.Equal(cfg.MaxAttempts, 3)
			is.Equal(cfg.PromptTokens, 16000)
		}},
		{"all set", base(map[string]string{
			EnvOpenAIEndpoint: " https://llm.example.com/openai/v1/chat/completions ",
			EnvOpenAIModel:    "gpt-4o-mini", EnvOpenAITemperature: " 1e-1 ",
			EnvOpenAIMaxTokens: "+512", EnvOpenAITimeout: "45s", EnvOpenAIMaxAttempts: "5",
			EnvOpenAIPromptTokens: "8000",
		}), "", nil, func(is *is.I, cfg OpenAIConfig) {
			is.Equal(cfg.Endpoint, "https://llm.example.com/openai/v1/chat/completions")
			is.Equal(cfg.Model, "gpt-4o-mini")
			is.Equal(cfg.Temperature, 0.1)
			is.Equal(cfg.MaxTokens, 512)
			is.Equal(cfg.Timeout, 45*time.Second)
			is.Equal(cfg.MaxAttempts, 5)
			is.Equal(cfg.PromptTokens, 8000)
		}},
		{"key trimmed", map[string]string{EnvOpenAIAPIKey: "  k \n"}, "", nil,
			func(is *is.I, cfg OpenAIConfig) { is.Equal(string(cfg.APIKey), "k") }},
		{"temperature bounds", base(map[string]string{EnvOpenAITemperature: "2"}), "", nil,
			func(is *is.I, cfg OpenAIConfig) { is.Equal(cfg.Temperature, 2.0) }},
		{"temperature zero", base(map[string]string{EnvOpenAITemperature: "0"}), "", nil,
			func(is *is.I, cfg OpenAIConfig) { is.Equal(cfg.Temperature, 0.0) }},
		{"loopback http", base(map[string]string{
			EnvOpenAIEndpoint: "http://localhost:11434/v1/chat/completions"}), "", nil, nil},
		{"key missing", map[string]string{}, EnvOpenAIAPIKey,
			[]string{EnvOpenAIAPIKey, "non-empty"}, nil},
		{"key blank", map[string]string{EnvOpenAIAPIKey: "  "}, EnvOpenAIAPIKey,
			[]string{EnvOpenAIAPIKey, "non-empty"}, nil},
		{"temperature high", base(map[string]string{EnvOpenAITemperature: "2.5"}),
			EnvOpenAITemperature, []string{"temperature", `"2.5"`, "0.0 to 2.0"}, nil},
		{"temperature negative", base(map[string]string{EnvOpenAITemperature: "-0.1"}),
			EnvOpenAITemperature, []string{"temperature", `"-0.1"`}, nil},
		{"temperature nan", base(map[string]string{EnvOpenAITemperature: "NaN"}),
			EnvOpenAITemperature, []string{"temperature", `"NaN"`}, nil},
		{"temperature inf", base(map[string]string{EnvOpenAITemperature: "inf"}),
			EnvOpenAITemperature, []string{"temperature", `"inf"`}, nil},
		{"temperature text", base(map[string]string{EnvOpenAITemperature: "warm"}),
			EnvOpenAITemperature, []string{"temperature", `"warm"`}, nil},
		{"max tokens zero", base(map[string]string{EnvOpenAIMaxTokens: "0"}),
			EnvOpenAIMaxTokens, []string{"max_tokens", `"0"`, "positive integer"}, nil},
		{"max tokens fraction", base(map[string]string{EnvOpenAIMaxTokens: "1.5"}),
			EnvOpenAIMaxTokens, []string{"max_tokens", `"1.5"`}, nil},
		{"max tokens separator", base(map[string]string{EnvOpenAIMaxTokens: "1_000"}),
			EnvOpenAIMaxTokens, []string{"max_tokens", `"1_000"`}, nil},
		{"timeout invalid", base(map[string]string{EnvOpenAITimeout: "120"}),
			EnvOpenAITimeout, []string{"timeout", `"120"`}, nil},
		{"timeout negative", base(map[string]string{EnvOpenAITimeout: "-1s"}),
			EnvOpenAITimeout, []string{"timeout", `"-1s"`}, nil},
		{"attempts too many", base(map[string]string{EnvOpenAIMaxAttempts: "11"}),
			EnvOpenAIMaxAttempts, []string{"max_attempts", `"11"`}, nil},
		{"prompt tokens invalid", base(map[string]string{EnvOpenAIPromptTokens: "-5"}),
			EnvOpenAIPromptTokens, []string{"prompt_tokens", `"-5"`}, nil},
		{"endpoint plain http", base(map[string]string{
			EnvOpenAIEndpoint: "http://llm.example.com/v1/chat/completions"}),
			EnvOpenAIEndpoint, []string{"plain http", "llm.example.com"}, nil},
		{"endpoint without path", base(map[string]string{
			EnvOpenAIEndpoint: "https://llm.example.com/v1"}),
			EnvOpenAIEndpoint, []string{"/chat/completions"}, nil},
		{"endpoint with query", base(map[string]string{
			EnvOpenAIEndpoint: "https://llm.example.com/v1/chat/completions?api-version=1"}),
			EnvOpenAIEndpoint, []string{"query"}, nil},
		{"endpoint relative", base(map[string]string{EnvOpenAIEndpoint: "/v1/chat/completions"}),
			EnvOpenAIEndpoint, []string{"absolute"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			cfg, err := OpenAIConfigFromEnv(env(tt.vars))

			if tt.variable == "" {
				is.NoErr(err)
				if tt.check != nil {
					tt.check(is, cfg)
				}
				return
			}
			var cfgErr *ConfigError
			is.True(errors.As(err, &cfgErr))
			is.Equal(cfgErr.Variable, tt.variable)
			for _, w := range tt.words {
				is.True(strings.Contains(err.Error(), w))
			}
			is.True(!strings.Contains(err.Error(), testKey))
		})
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		endpoint string
		want     string
	}{
		{"https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1/"},
		{"https://api.openai.com/v1/chat/completions/", "https://api.openai.com/v1/"},
		{"https://llm.example.com/chat/completions", "https://llm.example.com/"},
		{"http://127.0.0.1:8080/openai/v1/chat/completions", "http://127.0.0.1:8080/openai/v1/"},
		{"http://[::1]:8080/v1/chat/completions", "http://[::1]:8080/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			is := is.New(t)
			got, err := baseURL(tt.endpoint)
			is.NoErr(err)
			is.Equal(got, tt.want)
		})
	}
}

func TestOpenAIConfigRedactsKey(t *testing.T) {
	cfg := DefaultOpenAIConfig()
	cfg.APIKey = testKey

	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("config", "cfg", cfg, "ptr", &cfg, "key", cfg.APIKey)
	textLogged := &bytes.Buffer{}
	slog.New(slog.NewTextHandler(textLogged, nil)).Info("config", "cfg", cfg)
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	model, err := NewOpenAI(cfg, OpenAIOptions{})
	if err != nil {
		t.Fatal(err)
	}

	forms := map[string]string{
		"%v":        fmt.Sprintf("%v", cfg),
		"%+v":       fmt.Sprintf("%+v", cfg),
		"%#v":       fmt.Sprintf("%#v", cfg),
		"%s":        fmt.Sprintf("%s", cfg),
		"pointer":   fmt.Sprintf("%+v", &cfg),
		"key %x":    fmt.Sprintf("%x", cfg.APIKey),
		"slog json": logged.String(),
		"slog text": textLogged.String(),
		"json":      string(data),
		"model %v":  fmt.Sprintf("%v", model),
		"model %+v": fmt.Sprintf("%+v", model),
		"model %#v": fmt.Sprintf("%#v", model),
	}
	for name, text := range forms {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			is.True(!strings.Contains(text, testKey))
			is.True(!strings.Contains(text, "0123456789abcdef"))
		})
	}
	is := is.New(t)
	is.True(strings.Contains(forms["%+v"], redacted))
	is.True(strings.Contains(forms["json"], redacted))
	is.True(strings.Contains(forms["slog json"], redacted))
}

func TestNewOpenAIRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*OpenAIConfig)
		variable string
	}{
		{"no key", func(c *OpenAIConfig) { c.APIKey = " " }, EnvOpenAIAPIKey},
		{"temperature", func(c *OpenAIConfig) { c.Temperature = 3 }, EnvOpenAITemperature},
		{"max tokens", func(c *OpenAIConfig) { c.MaxTokens = -1 }, EnvOpenAIMaxTokens},
		{"attempts", func(c *OpenAIConfig) { c.MaxAttempts = 20 }, EnvOpenAIMaxAttempts},
		{"endpoint", func(c *OpenAIConfig) { c.Endpoint = "ftp://x/chat/completions" },
			EnvOpenAIEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cfg := OpenAIConfig{APIKey: testKey}
			tt.change(&cfg)

			_, err := NewOpenAI(cfg, OpenAIOptions{})

			var cfgErr *ConfigError
			is.True(errors.As(err, &cfgErr))
			is.Equal(cfgErr.Variable, tt.variable)
		})
	}
}

func TestEndpointErrorsHideCredentials(t *testing.T) {
	for _, endpoint := range []string{
		"http://user:hunter2pass@127.0.0.1:18089/v1/chat/completions",
		"http://127.0.0.1:18089/v1/chat/completions?key=sk-SECRETKEY-12345",
	} {
		t.Run(endpoint, func(t *testing.T) {
			is := is.New(t)
			_, err := OpenAIConfigFromEnv(func(k string) string {
				return map[string]string{EnvOpenAIAPIKey: "k", EnvOpenAIEndpoint: endpoint}[k]
			})
			is.True(err != nil)
			is.True(!strings.Contains(err.Error(), "hunter2pass"))
			is.True(!strings.Contains(err.Error(), "SECRETKEY"))
		})
	}
}

package reporting

import (
	"fmt"
	"strconv"
	"strings"
)

// Config holds the reporting settings an operator sets in the
// environment.
type Config struct {
	// WindowDays is the length of a subject's first window, in days;
	// later windows start where the previous report ended.
	WindowDays int

	// SinkPath is the folder a FilesystemSink writes Markdown to; empty
	// writes none.
	SinkPath string

	// MaxAttempts is how many times the model is asked for a summary
	// that passes validation before the window is marked for review.
	MaxAttempts int
}

// Limits of the settings: ten years of first window, and ten model
// calls per window before it is marked for review.
const (
	MaxWindowDays = 3650
	MaxAttempts   = 10
)

// DefaultConfig is the configuration with nothing set.
var DefaultConfig = Config{WindowDays: 7, MaxAttempts: 2}

// ConfigFromEnv reads GHILLIE_REPORTING_WINDOW_DAYS (default 7),
// GHILLIE_REPORT_SINK_PATH (default none) and
// GHILLIE_VALIDATION_MAX_ATTEMPTS (default 2). A blank value takes the
// default; a value that is not a positive integer is an error naming the
// variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := DefaultConfig
	cfg.SinkPath = strings.TrimSpace(getenv("GHILLIE_REPORT_SINK_PATH"))

	for _, v := range []struct {
		name string
		dst  *int
		max  int
	}{
		{"GHILLIE_REPORTING_WINDOW_DAYS", &cfg.WindowDays, MaxWindowDays},
		{"GHILLIE_VALIDATION_MAX_ATTEMPTS", &cfg.MaxAttempts, MaxAttempts},
	} {
		raw := strings.TrimSpace(getenv(v.name))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q is not an integer: use a positive whole number", v.name, raw)
		}
		if n < 1 || n > v.max {
			return Config{}, fmt.Errorf("%s=%d is out of range: use 1 to %d", v.name, n, v.max)
		}
		*v.dst = n
	}
	return cfg, nil
}

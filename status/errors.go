package status

import (
	"fmt"
	"strings"
	"time"
)

// ConfigError is a missing or invalid setting, named by its environment
// variable. Value is the raw value read, and stays empty for the API
// key, whose value is never repeated.
type ConfigError struct {
	Variable string
	Value    string
	Problem  string
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return e.Variable + ": " + e.Problem
	}
	return fmt.Sprintf("%s=%q: %s", e.Variable, e.Value, e.Problem)
}

// APIError is a chat completions request that failed: a timeout, a
// network failure or an HTTP error status. It is the last failure after
// all attempts.
type APIError struct {
	// Status is the HTTP status code, or 0 when no response arrived.
	Status int

	// Timeout reports whether the last attempt timed out.
	Timeout bool

	// RetryAfter is the wait the server requested with Retry-After, or 0.
	RetryAfter time.Duration

	// Attempts is the number of requests sent.
	Attempts int

	// Detail is the cause in the provider's words, shortened and with
	// the API key removed.
	Detail string

	// Err is the transport error, when there was one.
	Err error
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("chat completion request ")
	switch {
	case e.Timeout:
		b.WriteString("timed out (timeout reached before a response)")
	case e.Status == 429:
		b.WriteString("rate limited: HTTP 429")
	case e.Status != 0:
		fmt.Fprintf(&b, "failed: HTTP %d", e.Status)
	default:
		b.WriteString("failed with a network error")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the transport error.
func (e *APIError) Unwrap() error { return e.Err }

// Retryable reports whether another attempt could succeed: after a
// timeout, a network failure, HTTP 429 or a 5xx status.
func (e *APIError) Retryable() bool {
	return e.Timeout || e.Status == 0 || e.Status == 429 || e.Status >= 500
}

// ResponseError is a chat completions response that cannot be used: a
// body that is not JSON, a missing or mistyped field, output cut off
// at the token limit, or model output that does not match the report
// schema.
type ResponseError struct {
	// Problem describes what is wrong and names the field.
	Problem string

	// Preview is the start of the offending text, when it helps.
	Preview string

	// Err is the decoding error, when there was one.
	Err error
}

func (e *ResponseError) Error() string {
	msg := "invalid chat completion response: " + e.Problem
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Preview != "" {
		msg += fmt.Sprintf(" (starts %q)", e.Preview)
	}
	return msg
}

// Unwrap returns the decoding error.
func (e *ResponseError) Unwrap() error { return e.Err }

package reporting

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type customError struct{}

func (customError) Error() string { return "custom" }

func TestErrorType(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"canceled", fmt.Errorf("report of a/b: %w", context.Canceled), "Canceled"},
		{"timeout", fmt.Errorf("call: %w", context.DeadlineExceeded), "Timeout"},
		{"window", fmt.Errorf("%w: as of", ErrWindow), "WindowError"},
		{"wrapped custom", fmt.Errorf("a: %w", fmt.Errorf("b: %w", customError{})),
			"reporting.customError"},
		{"plain", errors.New("plain"), "*errors.errorString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorType(tt.err); got != tt.want {
				t.Errorf("errorType(%v) = %q, expected %q", tt.err, got, tt.want)
			}
		})
	}
}

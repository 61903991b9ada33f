package cli

import (
	"testing"
	"time"
)

func TestHumanAge(t *testing.T) {
	tests := []struct {
		age  time.Duration
		want string
	}{
		{90 * time.Second, "1m30s"},
		{47*time.Hour + 59*time.Minute + 59*time.Second + 600*time.Millisecond, "48h0m0s"},
		{48 * time.Hour, "2d0h"},
		{12950*time.Hour + 47*time.Minute, "539d14h"},
	}
	for _, tt := range tests {
		if got := humanAge(tt.age); got != tt.want {
			t.Errorf("humanAge(%s) = %q, expected %q", tt.age, got, tt.want)
		}
	}
}

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestBinaryExitCodes builds the real binary and checks the exit status
// that scripts and CI see.
func TestBinaryExitCodes(t *testing.T) {
	is := is.New(t)
	bin := filepath.Join(t.TempDir(), "ghillie")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	is.NoErr(err) // go build failed
	if err != nil {
		t.Log(string(out))
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	is.NoErr(os.WriteFile(bad, []byte("version: 1\nprojects: [{key: x}]\n"), 0o600))

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"valid", []string{"catalogue", "lint", "../examples/wildside-catalogue.yaml"}, 0, "is valid", ""},
		{"invalid", []string{"catalogue", "lint", bad}, 1, "", "is invalid"},
		{"usage", []string{"catalogue", "lint"}, 2, "", "expects 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(os.Environ(), "GHILLIE_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "g.db"))
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr

			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else {
				is.NoErr(err)
			}
			is.Equal(code, tt.code)
			is.True(strings.Contains(stdout.String(), tt.stdout))
			is.True(strings.Contains(stderr.String(), tt.stderr))
		})
	}
}

package stack

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

// installPages are the official installation pages of the tools.
var installPages = map[string]string{
	"docker":  "https://docs.docker.com/get-started/get-docker/",
	"k3d":     "https://k3d.io/stable/#installation",
	"kubectl": "https://kubernetes.io/docs/tasks/tools/",
	"helm":    "https://helm.sh/docs/intro/install/",
}

// Limits of the tool output that a StepError keeps: the end of the
// output, where tools print the error.
const (
	maxOutputLines = 40
	maxOutputBytes = 4000
)

// waitDelay bounds the wait for a tool's output after the tool was
// stopped because the context ended, in case a child process of the
// tool still holds its pipes.
const waitDelay = 5 * time.Second

// redacted replaces a secret in any output.
const redacted = "[REDACTED]"

// MissingToolsError lists the tools that were not found on PATH.
type MissingToolsError struct {
	Tools []string
}

// Error names every missing tool with its installation page, one line
// each.
func (e *MissingToolsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s not found on PATH; install %s and run the command again:",
		strings.Join(e.Tools, ", "), pronoun(len(e.Tools)))
	for _, tool := range e.Tools {
		fmt.Fprintf(&b, "\n  %s: %s", tool, installPages[tool])
	}
	return b.String()
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// StepError is a step of a command that failed: a tool that exited with
// an error, or a check of what a tool created. Output is the end of the
// tool's output, with every known secret replaced by [REDACTED].
type StepError struct {
	Step    string
	Command string
	Output  string
	Err     error
}

// Error names the step and the command, followed by the output,
// indented.
func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %q failed", e.Step)
	if e.Command != "" {
		fmt.Fprintf(&b, ": %s", e.Command)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if out := strings.TrimRight(e.Output, "\n"); out != "" {
		for _, line := range strings.Split(out, "\n") {
			fmt.Fprintf(&b, "\n  | %s", line)
		}
	}
	return b.String()
}

// Unwrap returns the tool's error.
func (e *StepError) Unwrap() error { return e.Err }

// runner runs the tools for one command of a Preview.
type runner struct {
	logger  *slog.Logger
	paths   map[string]string
	secrets []string
}

// command is one run of a tool. Its arguments never contain a secret;
// stdin may.
type command struct {
	step  string
	tool  string
	args  []string
	dir   string
	stdin []byte

	// secretStdout marks standard output that contains a secret, which
	// a StepError then leaves out.
	secretStdout bool

	// stdout and stderr, when set, receive the tool's output as it
	// comes, instead of the buffers that run returns.
	stdout, stderr io.Writer
}

// line returns the command as a shell would show it.
func (c command) line() string {
	return strings.Join(append([]string{c.tool}, c.args...), " ")
}

// newRunner finds the tools on PATH through lookPath, and returns a
// *MissingToolsError that lists all the missing ones.
func newRunner(logger *slog.Logger, lookPath func(string) (string, error), tools ...string) (*runner, error) {
	r := &runner{logger: logger, paths: map[string]string{}}
	var missing []string
	for _, tool := range tools {
		path, err := lookPath(tool)
		if err != nil {
			missing = append(missing, tool)
			continue
		}
		r.paths[tool] = path
	}
	if len(missing) > 0 {
		return nil, &MissingToolsError{Tools: missing}
	}
	return r, nil
}

// addSecrets makes later output redact the values given.
func (r *runner) addSecrets(values ...string) {
	for _, v := range values {
		// Very short values would redact ordinary words.
		if len(v) < 4 {
			continue
		}

		// A Secret's data is base64, and kubectl may echo it in an error.
		// The unpadded forms are prefixes of the padded ones, so replacing
		// them hides both.
		r.secrets = append(r.secrets, v, base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.RawURLEncoding.EncodeToString([]byte(v)))
	}
}

// redact replaces every known secret in text.
func (r *runner) redact(text string) string {
	for _, s := range r.secrets {
		text = strings.ReplaceAll(text, s, redacted)
	}
	return text
}

// run runs the command and returns its standard output. A tool that
// cannot start or exits with an error is a *StepError with the end of
// its output.
func (r *runner) run(ctx context.Context, c command) ([]byte, error) {
	path, ok := r.paths[c.tool]
	if !ok {
		return nil, fmt.Errorf("step %q: %s was not looked up on PATH", c.step, c.tool)
	}

	cmd := exec.CommandContext(ctx, path, c.args...)
	cmd.Dir = c.dir
	cmd.WaitDelay = waitDelay
	if c.stdin != nil {
		cmd.Stdin = bytes.NewReader(c.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	if c.stderr != nil {
		cmd.Stderr = c.stderr
	}

	line := r.redact(c.line())
	r.logger.DebugContext(ctx, "stack.command.started", "step", c.step, "command", line, "dir", c.dir)
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err == nil {
		r.logger.DebugContext(ctx, "stack.command.finished", "step", c.step, "tool", c.tool,
			"duration", elapsed)
		return stdout.Bytes(), nil
	}

	output := stderr.String()
	if !c.secretStdout {
		output = joinOutput(stderr.String(), stdout.String())
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (stopped: %w)", err, ctx.Err())
	}
	r.logger.DebugContext(ctx, "stack.command.failed", "step", c.step, "tool", c.tool,
		"duration", elapsed, "err", err)
	return nil, &StepError{Step: c.step, Command: line, Output: trimOutput(r.redact(output)), Err: err}
}

// joinOutput puts the tool's standard error first, where tools print
// their errors, and its standard output after it.
func joinOutput(stderr, stdout string) string {
	stderr, stdout = strings.TrimRight(stderr, "\n"), strings.TrimRight(stdout, "\n")
	if stderr == "" || stdout == "" {
		return stderr + stdout
	}
	return stderr + "\n" + stdout
}

// trimOutput keeps the last maxOutputLines lines and maxOutputBytes
// bytes of output, and notes how many lines it left out.
func trimOutput(output string) string {
	output = strings.TrimRight(output, "\n")
	if output == "" {
		return ""
	}

	lines := strings.Split(output, "\n")
	kept := lines
	if len(kept) > maxOutputLines {
		kept = kept[len(kept)-maxOutputLines:]
	}
	for len(kept) > 1 && len(strings.Join(kept, "\n")) > maxOutputBytes {
		kept = kept[1:]
	}
	text := strings.Join(kept, "\n")
	if len(text) > maxOutputBytes {
		// The cut may split a character, which ToValidUTF8 drops.
		text = "..." + strings.ToValidUTF8(text[len(text)-maxOutputBytes:], "")
	}
	if left := len(lines) - len(kept); left > 0 {
		text = fmt.Sprintf("(%d earlier lines left out)\n%s", left, text)
	}
	return text
}

// isExitError reports whether err is a tool that ran and exited with an
// error, rather than one that could not start.
func isExitError(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit)
}

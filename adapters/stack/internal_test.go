package stack

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/stack/stacktest"
)

func TestIngressPort(t *testing.T) {
	tests := []struct {
		name  string
		nodes string
		port  int
		found bool
	}{
		{"loopback first", `[{"role": "loadbalancer", "portMappings": {"80/tcp": [
			{"HostIp": "0.0.0.0", "HostPort": "8081"}, {"HostIp": "127.0.0.1", "HostPort": "49213"}]}}]`,
			49213, true},
		{"any address", `[{"role": "loadbalancer", "portMappings": {"80/tcp": [
			{"HostIp": "0.0.0.0", "HostPort": "8081"}]}}]`, 8081, true},
		{"server ports only", `[{"role": "server", "portMappings": {"80/tcp": [
			{"HostIp": "127.0.0.1", "HostPort": "8081"}]}}]`, 0, false},
		{"api port only", `[{"role": "loadbalancer", "portMappings": {"6443/tcp": [
			{"HostIp": "0.0.0.0", "HostPort": "6443"}]}}]`, 0, false},
		{"bad port", `[{"role": "loadbalancer", "portMappings": {"80/tcp": [
			{"HostIp": "127.0.0.1", "HostPort": "http"}]}}]`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var c cluster
			is.NoErr(json.Unmarshal([]byte(`{"name": "x", "nodes": `+tt.nodes+`}`), &c))
			port, found := c.ingressPort()
			is.Equal(port, tt.port)
			is.Equal(found, tt.found)
		})
	}
}

func TestTrimOutput(t *testing.T) {
	is := is.New(t)
	var lines []string
	for i := range 100 {
		lines = append(lines, "line "+strings.Repeat("x", i%3))
	}
	lines[99] = "error: the last line"

	out := trimOutput(strings.Join(lines, "\n") + "\n\n")
	kept := strings.Split(out, "\n")
	is.Equal(kept[0], "(60 earlier lines left out)")
	is.Equal(len(kept), maxOutputLines+1)
	is.Equal(kept[len(kept)-1], "error: the last line") // the end, where the error is, stays

	long := trimOutput(strings.Repeat("é", 3000))
	is.True(len(long) <= maxOutputBytes+3)
	is.True(strings.HasPrefix(long, "..."))
	is.True(strings.HasSuffix(long, "é"))
}

func TestRunnerRedactsOutput(t *testing.T) {
	is := is.New(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("find sh, which runs the test's commands: %v", err)
	}
	r := &runner{logger: slog.New(slog.DiscardHandler), paths: map[string]string{"sh": sh}}
	r.addSecrets("s3cret-value", "abc")

	_, err = r.run(t.Context(), command{step: "echo", tool: "sh",
		args: []string{"-c", "echo out s3cret-value; echo abc err >&2; exit 3"}})
	var step *StepError
	is.True(errors.As(err, &step))
	is.Equal(step.Output, "abc err\nout [REDACTED]") // short values are not redacted
	is.True(strings.Contains(step.Error(), "exit status 3"))

	_, err = r.run(t.Context(), command{step: "echo", tool: "sh", secretStdout: true,
		args: []string{"-c", "echo token-in-stdout; exit 1"}})
	is.True(errors.As(err, &step))
	is.Equal(step.Output, "") // output marked secret is left out

	// base64 of s3cret-value alone and followed by a newline, as in a
	// Secret's data.
	_, err = r.run(t.Context(), command{step: "echo", tool: "sh",
		args: []string{"-c", "echo '{\"token\":\"czNjcmV0LXZhbHVl\"}'; echo czNjcmV0LXZhbHVlCg==; exit 1"}})
	is.True(errors.As(err, &step))
	is.Equal(step.Output, "{\"token\":\"[REDACTED]\"}\n[REDACTED]Cg==")

	// A secret across the point where long output is cut is hidden
	// before the cut, so no part of it is printed.
	line := strings.Repeat("x", 100) + "s3cret-value" + strings.Repeat("y", maxOutputBytes-5)
	_, err = r.run(t.Context(), command{step: "echo", tool: "sh",
		args: []string{"-c", "echo " + line + "; exit 1"}})
	is.True(errors.As(err, &step))
	is.True(!strings.Contains(step.Output, "value")) // no tail of the secret
	is.True(!strings.Contains(step.Output, "s3cret"))
}

func TestApplyDatabaseRetriesWebhook(t *testing.T) {
	is := is.New(t)
	fake := stacktest.Install(t)
	fake.AddCluster(t, stacktest.Cluster{Name: "ghillie-local", Port: 40123, Running: true})
	fake.Fail(t, stacktest.Failure{Call: "kubectl --context k3d-ghillie-local apply",
		Output: `Error from server (InternalError): failed calling webhook "mcluster.cnpg.io": ` +
			`connect: connection refused`})
	restore := webhookDelay
	webhookDelay = 10 * time.Millisecond
	t.Cleanup(func() { webhookDelay = restore })

	p := &Preview{}
	r, err := p.runner("kubectl")
	is.NoErr(err)
	cfg := Config{}.withDefaults()
	is.NoErr(p.applyDatabase(context.Background(), r, cfg))
	is.Equal(len(fake.Calls(t)), 2) // refused once, then applied

	manifest := fake.Calls(t)[1].Stdin
	is.True(strings.Contains(manifest, "kind: Cluster\n"))
	is.True(strings.Contains(manifest, "  namespace: ghillie\n"))

}

func TestInterrupted(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("find sh, which runs the test's commands: %v", err)
	}
	tests := []struct {
		name   string
		script string
		want   bool
	}{
		{"signal", "kill -TERM $$", true},
		{"status 130", "exit 130", true},
		{"failure", "exit 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := exec.Command(sh, "-c", tt.script).Run()
			is.New(t).Equal(interrupted(err), tt.want)
		})
	}
}

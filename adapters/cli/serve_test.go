package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverAddr waits for the server's "http.server.started" log line and
// returns the address it reports.
func serverAddr(t *testing.T, stderr *lockedBuffer, done <-chan int) string {
	t.Helper()

	deadline := time.After(10 * time.Second)
	for {
		scanner := bufio.NewScanner(strings.NewReader(stderr.String()))
		for scanner.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(scanner.Bytes(), &line) == nil && line.Msg == "http.server.started" {
				return line.Addr
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before listening: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("serve did not start within 10s: %s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestServe(t *testing.T) {
	is := is.New(t)
	env := migratedEnv(t, "sqlite")
	env["GHILLIE_HOST"] = "127.0.0.1"
	env["GHILLIE_PORT"] = "0"
	env["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"
	env["GHILLIE_API_TOKEN"] = "serve-test-token"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve"}, strings.NewReader(""), &stdout, stderr,
			func(key string) string { return env[key] })
	}()

	addr := serverAddr(t, stderr, done)
	is.True(strings.HasPrefix(addr, "127.0.0.1:"))

	res, err := http.Get("http://" + addr + "/health")
	is.NoErr(err)
	body, err := io.ReadAll(res.Body)
	is.NoErr(err)
	is.NoErr(res.Body.Close())
	is.Equal(res.StatusCode, http.StatusOK)
	is.Equal(strings.TrimSpace(string(body)), `{"status":"ok"}`)

	res, err = http.Get("http://" + addr + "/ready")
	is.NoErr(err)
	is.NoErr(res.Body.Close())
	is.Equal(res.StatusCode, http.StatusOK)

	res, err = http.Get("http://" + addr + "/metrics")
	is.NoErr(err)
	metrics, err := io.ReadAll(res.Body)
	is.NoErr(err)
	is.NoErr(res.Body.Close())
	is.True(strings.Contains(string(metrics), "ghillie_ingestion_run_duration_seconds")) // jobs run here

	res, err = http.Post("http://"+addr+"/reports/repositories/leynos/wildside", "", nil)
	is.NoErr(err)
	is.NoErr(res.Body.Close())
	is.Equal(res.StatusCode, http.StatusUnauthorized) // the token is required

	cancel()
	select {
	case code := <-done:
		is.Equal(code, cli.ExitOK)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of cancellation")
	}
	is.True(strings.Contains(stderr.String(), `"msg":"http.server.stopped"`))
	is.True(!strings.Contains(stderr.String(), "serve-test-token")) // the token is never logged

	_, err = http.Get("http://" + addr + "/health")
	is.True(err != nil) // the port is closed
}

func TestServeSettingsErrors(t *testing.T) {
	base := migratedEnv(t, "sqlite")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no token on all interfaces", map[string]string{"GHILLIE_HOST": "0.0.0.0"},
			"GHILLIE_API_TOKEN is not set"},
		{"no token by default", map[string]string{}, "GHILLIE_API_TOKEN is not set"},
		{"bad port", map[string]string{"GHILLIE_HOST": "127.0.0.1", "GHILLIE_PORT": "http"},
			"invalid GHILLIE_PORT"},
		{"port too large", map[string]string{"GHILLIE_HOST": "127.0.0.1",
			"GHILLIE_PORT": "70000"}, "invalid GHILLIE_PORT"},
		{"bad allow flag", map[string]string{"GHILLIE_API_ALLOW_UNAUTHENTICATED": "yes"},
			"invalid GHILLIE_API_ALLOW_UNAUTHENTICATED"},
		{"no model", map[string]string{"GHILLIE_HOST": "127.0.0.1"},
			"GHILLIE_STATUS_MODEL_BACKEND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			env := map[string]string{"GHILLIE_DATABASE_URL": base["GHILLIE_DATABASE_URL"]}
			for k, v := range tt.env {
				env[k] = v
			}
			r := run(t, env, "serve")
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, tt.want)) // stderr names the problem
		})
	}
}

func TestServeUnauthenticatedAllowed(t *testing.T) {
	is := is.New(t)
	env := migratedEnv(t, "sqlite")
	env["GHILLIE_HOST"] = "127.0.0.1"
	env["GHILLIE_PORT"] = "0"
	env["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, stderr,
			func(key string) string { return env[key] })
	}()

	serverAddr(t, stderr, done)
	is.True(strings.Contains(stderr.String(), "http.auth.disabled")) // the log warns

	cancel()
	code := <-done
	if code != cli.ExitOK {
		t.Log(stderr.String())
	}
	is.Equal(code, cli.ExitOK)
}

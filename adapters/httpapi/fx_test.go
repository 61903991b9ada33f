package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// logBuffer collects JSON log lines from the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// addr returns the address of the "http.server.started" line.
func (b *logBuffer) addr(t *testing.T) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()

	for _, line := range strings.Split(b.buf.String(), "\n") {
		var entry struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "http.server.started" {
			return entry.Addr
		}
	}
	t.Fatalf("no http.server.started line in the log: %s", b.buf.String())
	return ""
}

// slowApp is an fx application of the module whose handler waits for
// release before it responds, with started closed when a request arrives.
func slowApp(t *testing.T, logs *logBuffer, started, release chan struct{}) *fxtest.App {
	t.Helper()

	cfg := config(storetest.Open(t, store.SQLite), status.NewMock())
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	return fxtest.New(t,
		fx.NopLogger,
		fx.Supply(cfg, httpapi.ServerConfig{Addr: "127.0.0.1:0"}),
		httpapi.Module,
		fx.Decorate(func(http.Handler) http.Handler { return slow }),
	)
}

func TestModuleFinishesRequestsOnStop(t *testing.T) {
	is := is.New(t)
	logs := &logBuffer{}
	started, release := make(chan struct{}), make(chan struct{})
	app := slowApp(t, logs, started, release)
	app.RequireStart()
	addr := logs.addr(t)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		got <- result{body: string(b), err: err}
	}()
	<-started

	stopped := make(chan error, 1)
	go func() { stopped <- app.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("stop returned %v before the request in flight finished", err)
	case <-time.After(100 * time.Millisecond):
	}

	close(release)
	r := <-got
	is.NoErr(r.err)
	is.Equal(r.body, "finished")
	is.NoErr(<-stopped)
}

func TestModuleStopTimesOut(t *testing.T) {
	is := is.New(t)
	logs := &logBuffer{}
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	app := slowApp(t, logs, started, release)
	app.RequireStart()
	addr := logs.addr(t)

	go func() {
		if res, err := http.Get("http://" + addr + "/slow"); err == nil {
			_ = res.Body.Close()
		}
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := app.Stop(ctx)
	is.True(err != nil) // the request was still in flight
	is.True(errors.Is(err, context.DeadlineExceeded))
}

func TestModuleRejectsPortInUse(t *testing.T) {
	is := is.New(t)
	logs := &logBuffer{}
	first := slowApp(t, logs, make(chan struct{}), make(chan struct{}))
	first.RequireStart()
	defer first.RequireStop()

	cfg := config(storetest.Open(t, store.SQLite), status.NewMock())
	second := fx.New(fx.NopLogger,
		fx.Supply(cfg, httpapi.ServerConfig{Addr: logs.addr(t)}), httpapi.Module)
	err := second.Start(context.Background())
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "GHILLIE_PORT")) // the error names the fix
}

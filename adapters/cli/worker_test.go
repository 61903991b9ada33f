package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store"
)

// TestWorkerIngestsOnSchedule starts 'ghillie worker' with an ingestion
// interval: the schedule fires at start, and the worker ingests the two
// repositories the fake GitHub serves and refines their commits.
func TestWorkerIngestsOnSchedule(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := ingestEnv(t, d)
			env["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"
			env["GHILLIE_INGEST_INTERVAL"] = "1h"
			env["GHILLIE_REPORT_SCHEDULE"] = "off"

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr lockedBuffer
			done := make(chan int, 1)
			go func() {
				done <- cli.Run(ctx, []string{"worker"}, strings.NewReader(""), &stdout, &stderr,
					func(key string) string { return env[key] })
			}()

			db, err := store.Open(context.Background(), env["GHILLIE_DATABASE_URL"])
			is.NoErr(err)
			defer db.Close()
			deadline := time.Now().Add(time.Minute)
			for {
				var n int
				is.NoErr(db.Get(&n, `SELECT count(*) FROM commits`))
				if n == 2 {
					break
				}
				if time.Now().After(deadline) {
					cancel()
					<-done
					t.Fatalf("%d commits refined, want 2\n%s", n, stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}

			cancel()
			select {
			case code := <-done:
				is.Equal(code, cli.ExitOK)
			case <-time.After(30 * time.Second):
				t.Fatal("the worker did not stop")
			}
			is.True(strings.Contains(stderr.String(), `"msg":"worker.run.scheduled"`))
			is.True(strings.Contains(stderr.String(), `"msg":"ghillie.worker.stopped"`))
			is.True(!strings.Contains(stderr.String(), githubToken(env)))
		})
	}
}

func githubToken(env map[string]string) string { return env["GHILLIE_GITHUB_TOKEN"] }

func TestWorkerSettingErrors(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"interval", "GHILLIE_INGEST_INTERVAL", "daily", "invalid GHILLIE_INGEST_INTERVAL \"daily\""},
		{"schedule", "GHILLIE_REPORT_SCHEDULE", "every monday", "GHILLIE_REPORT_SCHEDULE: invalid schedule"},
		{"concurrency", "GHILLIE_WORKER_CONCURRENCY", "0", "invalid GHILLIE_WORKER_CONCURRENCY \"0\""},
		{"watch", "GHILLIE_CATALOGUE_CHECKOUT", "/srv/catalogue", "GHILLIE_CATALOGUE_ESTATE"},
		{"short interval", "GHILLIE_INGEST_INTERVAL", "30s", "use a Go duration of 1m or more"},
		{"every second", "GHILLIE_REPORT_SCHEDULE", "@every 1s", "fire at most once per 1h0m0s"},
		{"time zone", "GHILLIE_REPORT_SCHEDULE", "TZ=Europe/London 0 6 * * 1", "schedules are in UTC"},
		{"never", "GHILLIE_REPORT_SCHEDULE", "0 0 30 2 *", "it never fires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			env := map[string]string{"GHILLIE_DATABASE_URL": "sqlite::memory:",
				"GHILLIE_STATUS_MODEL_BACKEND": "mock", tt.variable: tt.value}

			r := run(t, env, "worker")
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, tt.want))
		})
	}
}

func TestWorkerWatchErrors(t *testing.T) {
	is := is.New(t)
	env := map[string]string{"GHILLIE_DATABASE_URL": "sqlite::memory:",
		"GHILLIE_STATUS_MODEL_BACKEND": "mock", "GHILLIE_CATALOGUE_CHECKOUT": t.TempDir(),
		"GHILLIE_CATALOGUE_ESTATE": "wildside"}

	r := run(t, env, "worker")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "GHILLIE_CATALOGUE_CHECKOUT, _FILE or _BRANCH"))
	is.True(strings.Contains(r.stderr, "is not a git checkout"))
	is.True(!strings.Contains(r.stderr, "fx.go")) // one plain line, not fx's call chain
}

func TestWorkerIntervalNeedsGitHub(t *testing.T) {
	is := is.New(t)
	env := map[string]string{"GHILLIE_DATABASE_URL": "sqlite::memory:",
		"GHILLIE_STATUS_MODEL_BACKEND": "mock", "GHILLIE_INGEST_INTERVAL": "1h"}

	r := run(t, env, "worker")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "GHILLIE_INGEST_INTERVAL is 1h but no GitHub access is set"))
}

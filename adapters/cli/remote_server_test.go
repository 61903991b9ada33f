package cli_test

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/store"
)

const serveToken = "remote-serve-token-0123"

// startServe runs 'ghillie serve' on a loopback port with the database
// and fake GitHub of env, and on PostgreSQL 'ghillie worker' too, which
// works the jobs that the server only queues there. It returns the
// server's base URL.
func startServe(t *testing.T, dialect string, env map[string]string) string {
	t.Helper()

	env = maps.Clone(env)
	env["GHILLIE_HOST"] = "127.0.0.1"
	env["GHILLIE_PORT"] = "0"
	env["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"
	env["GHILLIE_API_TOKEN"] = serveToken
	env["GHILLIE_REPORT_SCHEDULE"] = "off"

	ctx, cancel := context.WithCancel(context.Background())
	start := func(command string) (chan int, *lockedBuffer) {
		stderr := &lockedBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- cli.Run(ctx, []string{command}, strings.NewReader(""), &lockedBuffer{}, stderr,
				func(key string) string { return env[key] })
		}()
		return done, stderr
	}

	serveDone, serveLog := start("serve")
	addr := serverAddr(t, serveLog, serveDone)
	waits := []chan int{serveDone}
	if dialect == "postgres" {
		workerDone, _ := start("worker")
		waits = append(waits, workerDone)
	}
	t.Cleanup(func() {
		cancel()
		for _, done := range waits {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("serve or worker did not stop")
			}
		}
	})
	return "http://" + addr
}

// TestRemoteMatchesLocal runs each remote-capable command against a real
// server and locally on the same database, and compares their output.
func TestRemoteMatchesLocal(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			local := ingestEnv(t, d)
			local["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"
			remote := maps.Clone(local)
			remote["GHILLIE_API_BASE_URL"] = startServe(t, d, local)
			remote["GHILLIE_AUTH_TOKEN"] = serveToken

			// same runs args in remote mode, then locally, and checks that
			// both end alike.
			same := func(t *testing.T, args ...string) result {
				t.Helper()
				r := run(t, remote, args...)
				l := run(t, local, args...)
				if r.code != l.code || r.stdout != l.stdout {
					t.Fatalf("%v:\nremote %d %s%s\nlocal %d %s%s", args, r.code, r.stdout, r.stderr,
						l.code, l.stdout, l.stderr)
				}
				return r
			}

			// sameRun is same for a command that starts a run, whose id and
			// timestamps differ between the two runs.
			sameRun := func(t *testing.T, args ...string) {
				t.Helper()
				r := run(t, remote, args...)
				l := run(t, local, args...)
				if r.code != l.code || normalizeRun(r.stdout) != normalizeRun(l.stdout) {
					t.Fatalf("%v:\nremote %d %s%s\nlocal %d %s%s", args, r.code, r.stdout, r.stderr,
						l.code, l.stdout, l.stderr)
				}
				if !strings.Contains(r.stdout, "leynos/wildside") {
					t.Fatalf("%v: the run names no unit:\n%s", args, r.stdout)
				}
			}

			start := time.Now().UTC().AddDate(0, 0, -30).Format(time.RFC3339)
			end := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
			window := []string{"--window-start", start, "--window-end", end}

			is := is.New(t)
			r := run(t, remote, "-o", "json", "ingest", "run", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside", "--poll-interval", "100ms")
			is.Equal(r.code, cli.ExitOK)
			var ingestion httpapi.RunBody
			is.NoErr(json.Unmarshal([]byte(r.stdout), &ingestion))
			is.Equal(ingestion.State, runs.StateSucceeded)
			is.Equal(len(ingestion.Units), 1)
			is.Equal(ingestion.Units[0].Name, "leynos/wildside")

			waitForCommits(t, local["GHILLIE_DATABASE_URL"])

			r = run(t, remote, "ingest", "run", "--scope", "repository", "--owner", "leynos",
				"--name", "no-such-repository")
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, "Repository not found"))

			r = run(t, remote, "-o", "json", "report", "run", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside", "--poll-interval", "100ms")
			is.Equal(r.code, cli.ExitOK)
			var report httpapi.RunBody
			is.NoErr(json.Unmarshal([]byte(r.stdout), &report))
			is.Equal(report.State, runs.StateSucceeded)
			is.Equal(report.Units[0].State, runs.UnitSucceeded) // written, not skipped

			// After this estate run the estate's reports are up to date, so
			// the estate runs below skip every unit in either mode.
			r = run(t, remote, "report", "run", "--scope", "estate", "--estate-key", "wildside",
				"--poll-interval", "100ms")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "roll-up                          succeeded"))

			// An estate run that ends where the repository's report ends
			// shows that report as existing in both modes, not as skipped.
			r = run(t, local, "-o", "json", "report", "show", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside")
			is.Equal(r.code, cli.ExitOK)
			var shown struct {
				WindowEnd time.Time `json:"window_end"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &shown))
			reported := shown.WindowEnd.Format(time.RFC3339Nano)
			for _, env := range []map[string]string{remote, local} {
				r = run(t, env, "-o", "json", "report", "run", "--scope", "estate",
					"--estate-key", "wildside", "--as-of", reported, "--poll-interval", "100ms")
				is.Equal(r.code, cli.ExitOK)
				details := map[string]string{}
				for _, u := range decodeRun(t, r).Units {
					details[u.Name] = u.Detail
				}
				is.True(strings.HasPrefix(details["leynos/wildside"], "existing report "))
			}
			sameRun(t, "report", "run", "--scope", "estate", "--estate-key", "wildside",
				"--as-of", reported, "--poll-interval", "100ms")

			for _, format := range []string{"table", "json", "yaml"} {
				t.Run(format, func(t *testing.T) {
					o := []string{"-o", format}
					same(t, append(o, "estate", "list")...)
					same(t, append(o, "estate", "repo", "list", "--estate-key", "wildside")...)
					same(t, append(o, "estate", "repo", "list", "--inactive", "--limit", "3")...)
					// Each run finds nothing new since the runs above, whose
					// watermarks and reports both modes share.
					poll := []string{"--poll-interval", "100ms"}
					sameRun(t, append(append(o, "ingest", "run", "--scope", "repository",
						"--owner", "leynos", "--name", "wildside"), poll...)...)
					sameRun(t, append(append(o, "report", "run", "--scope", "repository",
						"--owner", "leynos", "--name", "wildside"), poll...)...)
					sameRun(t, append(append(o, "report", "run", "--scope", "estate",
						"--estate-key", "wildside"), poll...)...)
					// A run's own limits and first window work in both modes.
					sameRun(t, append(append(o, "ingest", "run", "--scope", "repository",
						"--owner", "leynos", "--name", "wildside", "--lookback-days", "2",
						"--max-events-per-kind", "5"), poll...)...)
					sameRun(t, append(append(o, "report", "run", "--scope", "estate",
						"--estate-key", "wildside", "--window-days", "3"), poll...)...)
					same(t, append(o, "ingest", "status", "--run-id", ingestion.RunID)...)
					same(t, append(o, "report", "status", "--run-id", report.RunID)...)
					wrong := same(t, append(o, "ingest", "status", "--run-id", report.RunID)...)
					is.New(t).Equal(wrong.code, cli.ExitFailure)
					is.New(t).True(strings.Contains(wrong.stderr, "is a report run, not an ingestion run"))
					missing := same(t, append(o, "report", "status", "--run-id", "no-such-run")...)
					is.New(t).Equal(missing.code, cli.ExitFailure)
					same(t, append(o, "report", "show", "--scope", "repository", "--owner", "leynos",
						"--name", "wildside")...)
					same(t, append(o, "report", "reviews")...)
					same(t, append(append(o, "metrics", "required", "--scope", "estate",
						"--estate-key", "wildside"), window...)...)
					same(t, append(append(o, "metrics", "required", "--scope", "repository",
						"--owner", "leynos", "--name", "wildside"), window...)...)
				})
			}

			for _, kind := range []string{"events", "evidence", "reports", "bundle"} {
				t.Run(kind, func(t *testing.T) {
					r := same(t, append([]string{"export", kind, "--scope", "estate",
						"--estate-key", "wildside", "--format", "jsonl"}, window...)...)
					is.New(t).True(strings.Contains(r.stdout, "wildside")) // not empty
					same(t, append([]string{"export", kind, "--scope", "repository", "--owner",
						"leynos", "--name", "wildside"}, window...)...)
				})
			}

			// Writes: the second of each changes nothing, in either mode.
			r = run(t, remote, "estate", "repo", "set", "--owner", "leynos", "--name", "wildside",
				"--ingestion-disabled")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "leynos/wildside  disabled   yes"))
			same(t, "estate", "repo", "set", "--owner", "leynos", "--name", "wildside",
				"--ingestion-disabled")
			same(t, "estate", "sync", "--estate-key", "wildside")
			is.Equal(run(t, local, "estate", "import", "--estate-key", "wildside",
				"--catalogue-path", example, "--commit-sha", "abcdef1").code, cli.ExitOK)
			r = same(t, "estate", "import", "--estate-key", "wildside", "--catalogue-path", example,
				"--commit-sha", "abcdef1")
			is.True(strings.Contains(r.stdout, "skipped: commit already imported"))

			r = run(t, remote, "-o", "json", "ingest", "health")
			is.Equal(r.code, cli.ExitOK)
			var lags []struct {
				Repository string `json:"repo_slug"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &lags))
			l := run(t, local, "-o", "json", "ingest", "health")
			is.True(len(lags) > 0)
			is.Equal(strings.Count(l.stdout, "repo_slug"), len(lags)) // ages differ, the list not
		})
	}
}

// waitForCommits waits until the worker has refined the ingested commit
// into Silver, which a job after the ingestion does.
func waitForCommits(t *testing.T, databaseURL string) {
	t.Helper()

	db, err := store.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := db.Get(&n, `SELECT count(*) FROM commits`); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the ingested commit was not refined within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run ids and report ids, and timestamps, differ from run to run.
var (
	uuidPattern      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timestampPattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
)

// normalizeRun replaces the ids and timestamps of a printed run with
// placeholders, so that two runs of the same work compare equal.
func normalizeRun(out string) string {
	out = uuidPattern.ReplaceAllString(out, "ID")
	return timestampPattern.ReplaceAllString(out, "TIME")
}

package cli_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/store"
)

const wildsideCommit = `{"source_system":"github","event_type":"github.commit",` +
	`"source_event_id":"abc123","repo_external_id":"leynos/wildside",` +
	`"occurred_at":"2024-07-10T09:30:00Z","payload":{"sha":"abc123","repo_owner":"leynos",` +
	`"repo_name":"wildside","message":"feat: add walks","committed_at":"2024-07-10T09:30:00Z"}}`

// reportEnv is a migrated database with the example estate synced, one
// commit of leynos/wildside refined into Silver, and the mock model.
func reportEnv(t *testing.T, dialect string) map[string]string {
	t.Helper()

	env := migratedEnv(t, dialect)
	env["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"
	for _, args := range [][]string{
		{"estate", "import", "--estate-key", "wildside", "--catalogue-path", example, "--commit-sha", "abc1234"},
		{"estate", "sync", "--estate-key", "wildside"},
	} {
		if r := run(t, env, args...); r.code != cli.ExitOK {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	if r := runWithInput(t, env, wildsideCommit+"\n", "events", "import", "-"); r.code != cli.ExitOK {
		t.Fatalf("events import: %s", r.stderr)
	}
	if r := run(t, env, "transform"); r.code != cli.ExitOK {
		t.Fatalf("transform: %s", r.stderr)
	}
	return env
}

func TestReportCommands(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := reportEnv(t, d)
			sink := t.TempDir()
			env["GHILLIE_REPORT_SINK_PATH"] = sink

			r := run(t, env, "-o", "json", "report", "run", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside", "--as-of", "2024-07-14T00:00:00Z")
			is.Equal(r.code, cli.ExitOK)
			ran := decodeRun(t, r)
			is.Equal(len(ran.Units), 1)
			is.Equal(ran.Units[0].State, "succeeded") // written, not skipped
			is.True(strings.HasPrefix(ran.Units[0].Detail, "report "))
			is.True(strings.HasSuffix(ran.Units[0].Detail, ", status on_track"))
			repositoryReport := ran.Units[0].Detail
			_, err := os.Stat(filepath.Join(sink, "leynos", "wildside", "latest.md"))
			is.NoErr(err)

			r = run(t, env, "report", "show", "--scope", "repository", "--owner", "leynos",
				"--name", "wildside")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.HasPrefix(r.stdout,
				"# leynos/wildside — Status report (2024-07-07 to 2024-07-14)"))

			r = run(t, env, "-o", "json", "report", "run", "--scope", "estate", "--estate-key",
				"wildside", "--as-of", "2024-07-14T00:00:00Z")
			is.Equal(r.code, cli.ExitOK)
			ran = decodeRun(t, r)
			is.Equal(ran.State, "succeeded")
			is.Equal(len(ran.Units), 7) // six repositories and the roll-up
			units := ran.units()
			// The window of the repository's report above, which it keeps.
			is.Equal(units["leynos/wildside"].Detail, "existing "+repositoryReport)
			is.Equal(units["leynos/ortho-config"].Detail, "no events in the window")
			is.Equal(units["roll-up"].Detail, "3 project and estate reports")

			r = run(t, env, "-o", "json", "report", "status", "--run-id", ran.RunID)
			is.Equal(r.code, cli.ExitOK)
			is.Equal(decodeRun(t, r).units(), units) // recorded like a run on a server

			r = run(t, env, "report", "show", "--scope", "project", "--estate-key", "wildside",
				"--project-key", "wildside")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "## Components"))
			r = run(t, env, "report", "show", "--scope", "estate", "--estate-key", "wildside")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "Estate status report"))
			r = run(t, env, "-o", "json", "report", "show", "--scope", "estate", "--estate-key", "wildside")
			is.Equal(r.code, cli.ExitOK)
			var printed struct {
				Scope    string `json:"scope"`
				Markdown string `json:"markdown"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &printed))
			is.Equal(printed.Scope, "estate")
			is.True(strings.HasPrefix(printed.Markdown, "# "))

			r = run(t, env, "-o", "json", "metrics", "reporting", "--from", "2000-01-01T00:00:00Z",
				"--to", "2100-01-01T00:00:00Z", "--estate-key", "wildside")
			is.Equal(r.code, cli.ExitOK)
			var snap struct {
				Total int `json:"total_reports"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &snap))
			is.Equal(snap.Total, 4)

			r = run(t, env, "report", "reviews", "--state", "pending")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "ID"))

			// A marker names its subject, not only its id.
			db, err := store.Open(context.Background(), env["GHILLIE_DATABASE_URL"])
			is.NoErr(err)
			defer db.Close()
			var repoID string
			is.NoErr(db.Get(&repoID, `SELECT id FROM repositories WHERE github_name = 'wildside'`))
			_, err = gold.NewStore(db).MarkForReview(context.Background(), gold.Review{
				Subject:     gold.Subject{Scope: gold.ScopeRepository, ID: repoID},
				WindowStart: time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC),
				WindowEnd:   time.Date(2024, 7, 21, 0, 0, 0, 0, time.UTC), AttemptCount: 2})
			is.NoErr(err)
			r = run(t, env, "report", "reviews", "--state", "pending")
			is.Equal(r.code, cli.ExitOK)
			is.Equal(strings.Fields(strings.Split(r.stdout, "\n")[0])[2], "SUBJECT")
			is.Equal(strings.Fields(strings.Split(r.stdout, "\n")[1])[2], "leynos/wildside")
		})
	}
}

func TestReportCommandErrors(t *testing.T) {
	env := reportEnv(t, "sqlite")
	noModel := map[string]string{"GHILLIE_DATABASE_URL": env["GHILLIE_DATABASE_URL"]}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"no scope", env, []string{"report", "run"}, cli.ExitUsage, "--scope is required"},
		{"no name", env, []string{"report", "run", "--scope", "repository", "--owner", "x"},
			cli.ExitUsage, "needs --owner and --name"},
		{"no project", env, []string{"report", "run", "--scope", "project", "--estate-key", "w"},
			cli.ExitUsage, "needs --estate-key and --project-key"},
		{"bad time", env, []string{"report", "run", "--scope", "estate", "--estate-key", "wildside",
			"--as-of", "2024-07-14"}, cli.ExitUsage, "invalid --as-of"},
		{"future as of", env, []string{"report", "run", "--scope", "estate", "--estate-key", "wildside",
			"--as-of", "2099-01-01T00:00:00Z"}, cli.ExitUsage,
			"invalid --as-of 2099-01-01T00:00:00Z: it is in the future"},
		{"future as of remote", map[string]string{"GHILLIE_API_BASE_URL": "http://127.0.0.1:9"},
			[]string{"report", "run", "--scope", "estate", "--estate-key", "wildside",
				"--as-of", "2099-01-01T00:00:00Z"}, cli.ExitUsage, "it is in the future"},
		{"half window", env, []string{"report", "run", "--scope", "estate", "--estate-key", "wildside",
			"--window-start", "2024-07-01T00:00:00Z"}, cli.ExitUsage, "go together"},
		{"estate only", env, []string{"report", "run", "--scope", "project", "--estate-key", "w",
			"--project-key", "p", "--estate-only"}, cli.ExitUsage, "--estate-only goes with"},
		{"bad window days", withEnv(env, "GHILLIE_REPORTING_WINDOW_DAYS", "0"), []string{"report",
			"run", "--scope", "estate", "--estate-key", "wildside"}, cli.ExitUsage,
			"GHILLIE_REPORTING_WINDOW_DAYS"},
		{"no model", noModel, []string{"report", "run", "--scope", "estate", "--estate-key",
			"wildside"}, cli.ExitFailure, "GHILLIE_STATUS_MODEL_BACKEND"},
		{"unknown estate", env, []string{"report", "run", "--scope", "estate", "--estate-key", "nope"},
			cli.ExitFailure, `estate "nope" not found`},
		{"nothing to show", env, []string{"report", "show", "--scope", "estate", "--estate-key",
			"wildside"}, cli.ExitFailure,
			"no estate report yet: write one with 'ghillie report run --scope estate --estate-key wildside'"},
		{"unknown project", env, []string{"report", "show", "--scope", "project", "--estate-key",
			"wildside", "--project-key", "nope"}, cli.ExitFailure, `project "nope" not found`},
		{"unknown review", env, []string{"report", "reviews", "resolve", "nope"}, cli.ExitFailure,
			`review "nope" not found`},
		{"metrics period", env, []string{"metrics", "reporting", "--from", "2024-07-02T00:00:00Z",
			"--to", "2024-07-01T00:00:00Z"}, cli.ExitUsage, "--to 2024-07-01T00:00:00Z must be after --from"},
		{"inverted window", env, []string{"report", "run", "--scope", "estate", "--estate-key", "wildside",
			"--window-start", "2024-07-10T00:00:00Z", "--window-end", "2024-07-01T00:00:00Z"},
			cli.ExitUsage, "must be after --window-start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, tt.env, tt.args...)
			is.Equal(r.code, tt.code)
			is.True(strings.Contains(r.stderr, tt.want)) // stderr names the problem
		})
	}
}

// withEnv returns a copy of env with one more variable.
func withEnv(env map[string]string, name, value string) map[string]string {
	out := maps.Clone(env)
	out[name] = value
	return out
}

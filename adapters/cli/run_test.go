package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// exampleRepositories are the repositories of the example catalogue.
var exampleRepositories = []string{"wildside", "wildside-engine", "wildside-mockup",
	"ortho-config", "rstest-bdd", "pg-embedded-setup-unpriv"}

// runEnv is the environment of 'ghillie run' on a new database, with a
// fake GitHub serving the repositories of the example catalogue.
func runEnv(t *testing.T, dialect string, names ...string) map[string]string {
	t.Helper()

	var repos []*githubtest.Repository
	for _, name := range names {
		repos = append(repos, fakeRepository("leynos", name))
	}
	server := githubtest.NewServer(t, githubtest.Options{}, repos...)
	return map[string]string{
		"GHILLIE_DATABASE_URL":         storetest.URL(t, store.Dialect(dialect)),
		"GHILLIE_GITHUB_TOKEN":         githubtest.DefaultToken,
		"GHILLIE_GITHUB_API_URL":       server.URL,
		"GHILLIE_STATUS_MODEL_BACKEND": "mock",
		"GHILLIE_REPORT_SINK_PATH":     filepath.Join(t.TempDir(), "reports"),
	}
}

func TestRunDoesTheWholeJob(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := runEnv(t, d, exampleRepositories...)
			args := []string{"run", "--catalogue", example, "--estate-key", "wildside"}

			r := run(t, env, args...)
			is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
			is.True(strings.Contains(r.stdout, "Reports are in "+env["GHILLIE_REPORT_SINK_PATH"]))
			// A commit of each repository, and a documentation change of each
			// repository whose project follows docs/roadmap.md.
			is.True(strings.Contains(r.stdout, "Ingested 9 events from 6 repositories (0 failed)"))

			sink := env["GHILLIE_REPORT_SINK_PATH"]
			for _, path := range []string{"leynos/wildside/latest.md", "estates/wildside/projects/wildside/latest.md",
				"estates/wildside/latest.md"} {
				_, err := os.Stat(filepath.Join(sink, path))
				is.NoErr(err) // the report's Markdown is on disk
			}

			// A second run finds no new events, so nothing is reported again.
			r = run(t, env, append([]string{"-o", "json"}, args...)...)
			is.Equal(r.code, cli.ExitOK)
			var sum struct {
				Ingestion []struct {
					Commits int `json:"commits_ingested"`
				} `json:"ingestion"`
				Reports []struct {
					Scope   string `json:"scope"`
					Outcome string `json:"outcome"`
				} `json:"reports"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &sum))
			is.Equal(len(sum.Ingestion), 6)
			for _, row := range sum.Ingestion {
				is.Equal(row.Commits, 0)
			}
			for _, row := range sum.Reports {
				if row.Scope == "repository" {
					is.Equal(row.Outcome, "skipped, no events")
				} else {
					is.Equal(row.Outcome, "skipped, no new repository report") // no roll-up of nothing
				}
			}
		})
	}
}

func TestRunPartial(t *testing.T) {
	is := is.New(t)
	env := runEnv(t, "sqlite", "wildside", "ortho-config") // four repositories are missing

	r := run(t, env, "run", "--catalogue", example, "--estate-key", "wildside")
	is.Equal(r.code, cli.ExitRunFailed)
	is.True(strings.Contains(r.stderr, "4 repositories failed to ingest"))
	is.True(strings.Contains(r.stderr, "leynos/rstest-bdd: ")) // each failure with its reason
	_, err := os.Stat(filepath.Join(env["GHILLIE_REPORT_SINK_PATH"], "leynos", "wildside", "latest.md"))
	is.NoErr(err) // the repositories that were ingested are reported
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no catalogue", []string{"run", "--estate-key", "wildside"}, `"catalogue" not set`},
		{"record and replay", []string{"run", "--catalogue", example, "--estate-key", "w",
			"--record", "a", "--replay", "b"}, "exclude each other"},
		{"bad lookback", []string{"run", "--catalogue", example, "--estate-key", "w",
			"--lookback-days", "0"}, "invalid --lookback-days 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, nil, tt.args...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, tt.want))
		})
	}
}

func TestTimeFlagBounds(t *testing.T) {
	for _, at := range []string{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
		t.Run(at, func(t *testing.T) {
			is := is.New(t)
			r := run(t, nil, "metrics", "required", "--scope", "repository", "--owner", "leynos",
				"--name", "wildside", "--as-of", at)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, "use a time from 1970 to 2199"))
		})
	}
}

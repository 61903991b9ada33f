package cli_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

// fakeRepository is a repository with one commit an hour ago, touching
// its roadmap.
func fakeRepository(owner, name string) *githubtest.Repository {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	return &githubtest.Repository{Owner: owner, Name: name, DefaultBranch: "main",
		Commits: []githubtest.Commit{{
			OID: strings.Repeat("a", 40), MessageHeadline: "Plan the next release",
			AuthoredDate: at, CommittedDate: at,
			Author: githubtest.GitActor{Name: "Dev One", Email: "dev1@example.invalid"},
			Files:  []githubtest.ChangedFile{{Path: "docs/roadmap.md", ChangeType: "MODIFIED"}},
		}}}
}

// ingestEnv is a migrated database with the example estate synced, and
// a fake GitHub that serves two of its six repositories.
func ingestEnv(t *testing.T, dialect string) map[string]string {
	t.Helper()

	env := migratedEnv(t, dialect)
	for _, args := range [][]string{
		{"estate", "import", "--estate-key", "wildside", "--catalogue-path", example, "--commit-sha", "abc1234"},
		{"estate", "sync", "--estate-key", "wildside"},
	} {
		if r := run(t, env, args...); r.code != cli.ExitOK {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}

	server := githubtest.NewServer(t, githubtest.Options{},
		fakeRepository("leynos", "wildside"), fakeRepository("leynos", "ortho-config"))
	env["GHILLIE_GITHUB_TOKEN"] = githubtest.DefaultToken
	env["GHILLIE_GITHUB_API_URL"] = server.URL
	return env
}

// printedRun is the JSON form of a run, as 'ingest run', 'report run'
// and their status commands print it.
type printedRun struct {
	RunID string        `json:"run_id"`
	State string        `json:"state"`
	Units []printedUnit `json:"units"`
}

// printedUnit is a unit of a printedRun.
type printedUnit struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Detail string `json:"detail"`
}

// decodeRun decodes the JSON of a printed run.
func decodeRun(t *testing.T, r result) printedRun {
	t.Helper()

	var run printedRun
	if err := json.Unmarshal([]byte(r.stdout), &run); err != nil {
		t.Fatalf("decode %q: %v (stderr %s)", r.stdout, err, r.stderr)
	}
	return run
}

// units returns the units of the run by name.
func (p printedRun) units() map[string]printedUnit {
	out := map[string]printedUnit{}
	for _, u := range p.Units {
		out[u.Name] = u
	}
	return out
}

// counts reads the numbers of an ingestion unit's detail by noun in the
// singular: "1 commit, 2 issues; 1 GitHub request" gives commit 1, issue
// 2 and GitHub request 1.
func counts(t *testing.T, detail string) map[string]int {
	t.Helper()

	out := map[string]int{}
	for _, part := range strings.FieldsFunc(detail, func(r rune) bool { return r == ',' || r == ';' }) {
		number, noun, ok := strings.Cut(strings.TrimSpace(part), " ")
		n, err := strconv.Atoi(number)
		if !ok || err != nil {
			continue // such as "backlog left"
		}
		out[strings.TrimSuffix(noun, "s")] = n
	}
	if len(out) == 0 {
		t.Fatalf("no counts in detail %q", detail)
	}
	return out
}

func TestIngestRepository(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := ingestEnv(t, d)

			r := run(t, env, "-o", "json", "ingest", "run", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside")
			is.Equal(r.code, cli.ExitOK)
			first := decodeRun(t, r)
			is.Equal(first.State, "succeeded")
			unit := first.units()["leynos/wildside"]
			is.Equal(unit.State, "succeeded")
			n := counts(t, unit.Detail)
			is.Equal(n["commit"], 1)
			is.Equal(n["documentation change"], 1) // docs/roadmap.md from the catalogue
			is.Equal(n["GitHub request"], 1)
			is.True(strings.Contains(r.stderr, "ingestion.run.completed"))

			// A second run starts at the first one's watermark: one request,
			// nothing to store.
			r = run(t, env, "-o", "json", "ingest", "run", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside")
			is.Equal(r.code, cli.ExitOK)
			n = counts(t, decodeRun(t, r).units()["leynos/wildside"].Detail)
			is.Equal(n["commit"], 0)
			is.Equal(n["duplicate"], 0)
			is.Equal(n["GitHub request"], 1)

			// The local run is recorded like a run on a server.
			r = run(t, env, "-o", "json", "ingest", "status", "--run-id", first.RunID)
			is.Equal(r.code, cli.ExitOK)
			is.Equal(decodeRun(t, r).units()["leynos/wildside"].Detail, unit.Detail)

			r = run(t, env, "transform")
			is.Equal(r.code, cli.ExitOK)
			is.Equal(strings.Fields(strings.Split(r.stdout, "\n")[1]), []string{"2", "0", "0"})
		})
	}
}

func TestIngestEstateGoesOnAfterFailures(t *testing.T) {
	is := is.New(t)
	env := ingestEnv(t, "sqlite")

	r := run(t, env, "-o", "json", "ingest", "run", "--scope", "estate", "--estate-key", "wildside")
	is.Equal(r.code, cli.ExitRunFailed)
	ran := decodeRun(t, r)
	is.Equal(ran.State, "partial")
	units := ran.units()
	is.Equal(len(units), 6)
	is.Equal(units["leynos/ortho-config"].State, "succeeded")
	is.Equal(units["leynos/wildside"].State, "succeeded")
	is.Equal(units["leynos/rstest-bdd"].State, "failed") // unknown to the fake GitHub
	is.True(strings.Contains(units["leynos/rstest-bdd"].Detail, "GitHub repository not found"))
	is.True(strings.Contains(r.stderr, "4 of 6 repositories failed"))

	r = run(t, env, "ingest", "run", "--scope", "estate", "--estate-key", "wildside")
	is.Equal(r.code, cli.ExitRunFailed)
	is.True(strings.HasPrefix(r.stdout, "ingestion run "))
	is.True(strings.Contains(r.stdout, "of estate wildside: partial (6 of 6 units finished)"))
	is.True(strings.Contains(r.stdout, "leynos/rstest-bdd                failed"))

	r = run(t, env, "-o", "json", "ingest", "health")
	is.Equal(r.code, cli.ExitOK)
	var lags []struct {
		Slug    string `json:"repo_slug"`
		Stalled bool   `json:"is_stalled"`
		Error   string `json:"last_error_category"`
	}
	is.NoErr(json.Unmarshal([]byte(r.stdout), &lags))
	is.Equal(len(lags), 6)
	stalled := 0
	for _, l := range lags {
		if l.Stalled {
			stalled++
			is.Equal(l.Error, "client_error")
		}
	}
	is.Equal(stalled, 4)

	r = run(t, env, "ingest", "health", "--stalled", "--fail-on-stalled")
	is.Equal(r.code, cli.ExitFailure)
	is.Equal(len(strings.Split(strings.TrimSpace(r.stdout), "\n")), 5) // header and four
	is.True(strings.Contains(r.stderr, "4 repositories are stalled"))
}

func TestIngestUsageErrors(t *testing.T) {
	env := migratedEnv(t, "sqlite")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no scope", []string{"ingest", "run"}, cli.ExitUsage, "--scope is required"},
		{"bad scope", []string{"ingest", "run", "--scope", "org"}, cli.ExitUsage, `invalid --scope "org"`},
		{"no name", []string{"ingest", "run", "--scope", "repository", "--owner", "x"}, cli.ExitUsage,
			"needs --owner and --name"},
		{"no estate", []string{"ingest", "run", "--scope", "estate"}, cli.ExitUsage, "needs --estate-key"},
		{"mixed", []string{"ingest", "run", "--scope", "estate", "--estate-key", "w", "--owner", "x"},
			cli.ExitUsage, "go with --scope repository"},
		{"lookback", []string{"ingest", "run", "--scope", "estate", "--estate-key", "w",
			"--lookback-days", "0"}, cli.ExitUsage, "invalid --lookback-days 0"},
		{"lookback too long", []string{"ingest", "run", "--scope", "estate", "--estate-key", "w",
			"--lookback-days", "106752"}, cli.ExitUsage, "invalid --lookback-days 106752: use 1 to 3650"},
		{"cap", []string{"ingest", "run", "--scope", "estate", "--estate-key", "w",
			"--max-events-per-kind", "0"}, cli.ExitUsage, "invalid --max-events-per-kind 0"},
		{"no token", []string{"ingest", "run", "--scope", "estate", "--estate-key", "w"}, cli.ExitFailure,
			"GHILLIE_GITHUB_TOKEN is required"},
		{"threshold", []string{"ingest", "health", "--stalled-threshold", "0s"}, cli.ExitUsage,
			"invalid --stalled-threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, tt.args...)
			is.Equal(r.code, tt.code)
			is.True(strings.Contains(r.stderr, tt.want)) // stderr names the problem
		})
	}
}

func TestIngestDisabledRepository(t *testing.T) {
	is := is.New(t)
	env := ingestEnv(t, "sqlite")
	r := run(t, env, "estate", "repo", "set", "--owner", "leynos", "--name", "wildside",
		"--ingestion-disabled")
	is.Equal(r.code, cli.ExitOK)

	r = run(t, env, "ingest", "run", "--scope", "repository", "--owner", "leynos", "--name", "wildside")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "ingestion of leynos/wildside is disabled"))
}

func TestIngestEstateStopsOnBadCredentials(t *testing.T) {
	is := is.New(t)
	env := ingestEnv(t, "sqlite")
	env["GHILLIE_GITHUB_TOKEN"] = "not-a-token"

	r := run(t, env, "-o", "json", "ingest", "run", "--scope", "estate", "--estate-key", "wildside")
	is.Equal(r.code, cli.ExitFailure)
	notRun := 0
	for _, u := range decodeRun(t, r).Units {
		if u.State == "failed" && strings.HasPrefix(u.Detail, "not run: ") {
			notRun++
		}
	}
	is.Equal(notRun, 5) // the first 401 stops the run
	is.True(strings.Contains(r.stderr, "5 of 6 repositories were not run"))
	is.True(strings.Contains(r.stderr, "check GHILLIE_GITHUB_TOKEN")) // the fix
}

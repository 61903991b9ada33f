package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

// reefCatalogue lists octo/reef with a glob among its documentation
// paths, so ingestion lists commit files over REST as well.
const reefCatalogue = `version: 1
projects:
  - key: reef
    name: Reef
    components:
      - key: reef-main
        name: Reef
        repository:
          owner: octo
          name: reef
          default_branch: main
          documentation_paths: [docs/roadmap.md, "docs/adr-*.md"]
`

// reefRepository has three commits with changed files, a pull request
// and an issue, all within the last day.
func reefRepository() *githubtest.Repository {
	now := time.Now().UTC().Truncate(time.Second)
	at := func(hours int) time.Time { return now.Add(-time.Duration(hours) * time.Hour) }
	dev := githubtest.GitActor{Name: "Dev One", Email: "dev1@example.invalid", Login: "dev1"}
	commit := func(oid string, hours int, paths ...string) githubtest.Commit {
		c := githubtest.Commit{OID: strings.Repeat(oid, 40), MessageHeadline: "Change " + oid,
			AuthoredDate: at(hours), CommittedDate: at(hours), Author: dev}
		for _, p := range paths {
			c.Files = append(c.Files, githubtest.ChangedFile{Path: p, ChangeType: "MODIFIED"})
		}
		return c
	}
	return &githubtest.Repository{Owner: "octo", Name: "reef", DefaultBranch: "main",
		Commits: []githubtest.Commit{
			commit("c", 1, "docs/adr-002-storage.md", "src/main.go"),
			commit("b", 2, "docs/roadmap.md"),
			commit("a", 3, "docs/adr-001-language.md", "README.md"),
		},
		PullRequests: []githubtest.PullRequest{{DatabaseID: 3_000_000_001, Number: 1,
			Title: "Pick a language", State: "MERGED", CreatedAt: at(4), UpdatedAt: at(3),
			MergedAt: at(3), ClosedAt: at(3), BaseRefName: "main", HeadRefName: "language",
			Author: &githubtest.Actor{Login: "dev1"}}},
		Issues: []githubtest.Issue{{DatabaseID: 101, Number: 2, Title: "Choose storage",
			State: "OPEN", CreatedAt: at(5), UpdatedAt: at(2)}},
	}
}

// reefEnv is a migrated database with reef's estate synced.
func reefEnv(t *testing.T) map[string]string {
	t.Helper()

	env := migratedEnv(t, "sqlite")
	path := writeFile(t, t.TempDir(), "reef.yaml", reefCatalogue)
	for _, args := range [][]string{
		{"estate", "import", "--estate-key", "reef", "--catalogue-path", path, "--commit-sha", "abc1234"},
		{"estate", "sync", "--estate-key", "reef"},
	} {
		if r := run(t, env, args...); r.code != cli.ExitOK {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	return env
}

func TestIngestRecordThenReplay(t *testing.T) {
	is := is.New(t)
	server := githubtest.NewServer(t, githubtest.Options{}, reefRepository())
	dir := filepath.Join(t.TempDir(), "recording")
	ingestReef := []string{"-o", "json", "ingest", "run", "--scope", "repository",
		"--owner", "octo", "--name", "reef"}

	env := reefEnv(t)
	env["GHILLIE_GITHUB_TOKEN"] = githubtest.DefaultToken
	env["GHILLIE_GITHUB_API_URL"] = server.URL
	recorded := run(t, env, append(ingestReef, "--record", dir)...)
	is.Equal(recorded.code, cli.ExitOK)
	unit := decodeRun(t, recorded).units()["octo/reef"]
	is.Equal(unit.State, "succeeded")
	n := counts(t, unit.Detail)
	is.Equal(n["commit"], 3)
	is.Equal(n["documentation change"], 3) // the roadmap and two decision records
	is.True(strings.Contains(recorded.stderr, "github.recording.saved"))

	restRequests := 0
	for _, r := range server.Requests() {
		if strings.Contains(r.Path, "/commits/") {
			restRequests++
		}
	}
	is.True(restRequests > 0) // the glob needed the commits' files
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), len(server.Requests())+1) // one file per exchange and the index
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		is.NoErr(err)
		text := strings.ToLower(string(data))
		is.True(!strings.Contains(text, strings.ToLower(githubtest.DefaultToken))) // no token
		is.True(!strings.Contains(text, "authorization"))                          // no header
	}

	server.Close()
	env = reefEnv(t)
	env["GHILLIE_GITHUB_API_URL"] = server.URL // closed: nothing may reach it
	replayed := run(t, env, append(ingestReef, "--replay", dir)...)
	is.Equal(replayed.code, cli.ExitOK)
	// The same units, counts and requests, in a run of its own.
	is.Equal(normalizeRun(replayed.stdout), normalizeRun(recorded.stdout))
	is.True(!strings.Contains(replayed.stderr, "github.rate_limit.wait"))
	is.True(!strings.Contains(replayed.stderr, "github.retry.wait"))
}

func TestIngestReplayErrors(t *testing.T) {
	env := reefEnv(t)
	env["GHILLIE_GITHUB_API_URL"] = "http://127.0.0.1:9"
	empty := t.TempDir()
	recording := t.TempDir()
	writeFile(t, recording, "index.json", `{"version":1,"exchanges":[]}`)
	reef := []string{"ingest", "run", "--scope", "repository", "--owner", "octo", "--name", "reef"}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"record and replay", append(reef, "--record", empty, "--replay", recording), cli.ExitUsage,
			"--record and --replay exclude each other"},
		{"no recording", append(reef, "--replay", empty), cli.ExitFailure,
			"contains no recording: record a run into it first"},
		{"missing answer", append(reef, "--replay", recording), cli.ExitRunFailed,
			"replay POST /api/graphql: no recorded response"},
		{"record without a token", append(reef, "--record", recording), cli.ExitFailure,
			"GHILLIE_GITHUB_TOKEN is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, tt.args...)
			is.Equal(r.code, tt.code)
			is.True(strings.Contains(r.stdout+r.stderr, tt.want)) // the output names the problem
		})
	}

	t.Run("record into a recording", func(t *testing.T) {
		is := is.New(t)
		withToken := map[string]string{"GHILLIE_GITHUB_TOKEN": githubtest.DefaultToken}
		for k, v := range env {
			withToken[k] = v
		}
		r := run(t, withToken, append(reef, "--record", recording)...)
		is.Equal(r.code, cli.ExitFailure)
		is.True(strings.Contains(r.stderr, "already contains a recording")) // names the fix
	})
}

func TestIngestRunHelpNamesRecordAndReplay(t *testing.T) {
	is := is.New(t)
	r := run(t, map[string]string{}, "ingest", "run", "--help")
	is.Equal(r.code, cli.ExitOK)
	is.True(strings.Contains(r.stdout, "--record DIR"))
	is.True(strings.Contains(r.stdout, "--replay DIR"))
	is.True(strings.Contains(r.stdout, "needs no token"))
}

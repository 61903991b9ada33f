package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
)

func listSlugs(t *testing.T, env map[string]string, args ...string) []string {
	t.Helper()

	r := run(t, env, append([]string{"-o", "json", "estate", "repo", "list"}, args...)...)
	if r.code != cli.ExitOK {
		t.Fatalf("estate repo list %v: %s", args, r.stderr)
	}
	var repos []struct {
		Owner string `json:"owner"`
		Name  string `json:"name"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &repos); err != nil {
		t.Fatalf("decode %q: %v", r.stdout, err)
	}
	slugs := make([]string, len(repos))
	for i, repo := range repos {
		slugs[i] = repo.Owner + "/" + repo.Name
	}
	return slugs
}

func TestRegistryCommands(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := migratedEnv(t, d)

			r := run(t, env, "estate", "import", "--estate-key", "wildside", "--catalogue-path", example,
				"--commit-sha", "abc1234")
			is.Equal(r.code, cli.ExitOK)

			r = run(t, env, "estate", "sync", "--estate-key", "wildside")
			is.Equal(r.code, cli.ExitOK)
			is.Equal(strings.Fields(strings.Split(r.stdout, "\n")[1]), []string{"wildside", "6", "0", "0"})

			all := listSlugs(t, env)
			is.Equal(len(all), 6)
			is.Equal(all[0], "leynos/ortho-config") // ordered by owner and name

			r = run(t, env, "estate", "repo", "set", "--owner", "leynos", "--name", "wildside-engine",
				"--ingestion-disabled")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "disabled"))

			r = run(t, env, "estate", "sync", "--estate-key", "wildside")
			is.Equal(r.code, cli.ExitOK)
			is.Equal(listSlugs(t, env, "--inactive"), []string{"leynos/wildside-engine"}) // operator's choice kept
			is.Equal(len(listSlugs(t, env, "--active", "--estate-key", "wildside")), 5)
			is.Equal(listSlugs(t, env, "--limit", "2", "--offset", "1"),
				[]string{"leynos/pg-embedded-setup-unpriv", "leynos/rstest-bdd"})

			r = run(t, env, "estate", "repo", "list")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "operator")) // the table shows who set ingestion
			is.True(strings.Contains(r.stdout, "docs/roadmap.md, docs/adr/"))
		})
	}
}

func TestRegistryCommandErrors(t *testing.T) {
	env := migratedEnv(t, "sqlite")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"both filters", []string{"estate", "repo", "list", "--active", "--inactive"}, cli.ExitUsage,
			"exclude each other"},
		{"no state", []string{"estate", "repo", "set", "--owner", "o", "--name", "n"}, cli.ExitUsage,
			"exactly one of --ingestion-enabled and --ingestion-disabled"},
		{"unknown repository", []string{"estate", "repo", "set", "--owner", "o", "--name", "n",
			"--ingestion-enabled"}, cli.ExitFailure, "repository o/n not found"},
		{"empty owner", []string{"estate", "repo", "set", "--owner", "", "--name", "n",
			"--ingestion-enabled"}, cli.ExitUsage, "--owner and --name must not be empty"},
		{"empty name", []string{"estate", "repo", "set", "--owner", "o", "--name", "",
			"--ingestion-disabled"}, cli.ExitUsage, "--owner and --name must not be empty"},
		{"unknown estate", []string{"estate", "sync", "--estate-key", "nope"}, cli.ExitFailure,
			`estate "nope" not found`},
		{"negative limit", []string{"estate", "repo", "list", "--limit", "-1"}, cli.ExitUsage,
			"invalid --limit -1"},
		{"missing key", []string{"estate", "sync"}, cli.ExitUsage, `"estate-key" not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, tt.args...)
			is.Equal(r.code, tt.code)
			is.True(strings.Contains(r.stderr, tt.want)) // message names the problem
		})
	}
}

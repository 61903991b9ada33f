package cli_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// countEstates counts the rows of the estates table in the database at
// rawURL.
func countEstates(t *testing.T, rawURL string) int {
	t.Helper()

	db, err := store.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(rawURL), err)
	}
	defer db.Close()

	var n int
	if err := db.Get(&n, "SELECT count(*) FROM estates"); err != nil {
		t.Fatalf("count estates of %s: %v", store.Redact(rawURL), err)
	}
	return n
}

func TestSeparateCatalogueDatabase(t *testing.T) {
	for _, layout := range []string{"sqlite-split", "postgres-split", "mixed"} {
		t.Run(layout, func(t *testing.T) {
			is := is.New(t)
			env := layoutEnv(t, layout)

			r := run(t, env, "-o", "json", "migrate")
			is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
			var migrated struct {
				To        int64 `json:"schema_version"`
				Catalogue struct {
					Database string `json:"database"`
					To       int64  `json:"schema_version"`
				} `json:"catalogue"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &migrated))
			is.Equal(migrated.Catalogue.To, migrated.To)
			is.Equal(migrated.Catalogue.Database, store.Redact(env["GHILLIE_CATALOGUE_DATABASE_URL"]))

			r = run(t, env, "estate", "import", "--estate-key", "wildside",
				"--catalogue-path", example, "--commit-sha", "abc1230")
			is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
			is.Equal(countEstates(t, env["GHILLIE_CATALOGUE_DATABASE_URL"]), 1)
			is.Equal(countEstates(t, env["GHILLIE_DATABASE_URL"]), 0) // the main copy stays empty

			r = run(t, env, "-o", "json", "estate", "sync", "--estate-key", "wildside")
			is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
			is.True(strings.Contains(r.stdout, `"created": 6`))

			r = run(t, env, "-o", "json", "estate", "list")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, `"key": "wildside"`))

			// Without the catalogue URL the main database's own, empty
			// catalogue tables are read: no estates, and no error.
			single := map[string]string{"GHILLIE_DATABASE_URL": env["GHILLIE_DATABASE_URL"]}
			r = run(t, single, "-o", "json", "estate", "list")
			is.Equal(r.code, cli.ExitOK)
			is.Equal(strings.TrimSpace(r.stdout), "[]")
		})
	}
}

func TestCatalogueDatabaseNotCopied(t *testing.T) {
	is := is.New(t)
	env := migratedEnv(t, "sqlite")
	r := run(t, env, "estate", "import", "--estate-key", "wildside", "--catalogue-path", example,
		"--commit-sha", "abc1230")
	if r.code != cli.ExitOK {
		t.Fatalf("estate import: %s", r.stderr)
	}

	split := maps.Clone(env)
	split["GHILLIE_CATALOGUE_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "catalogue.db")
	is.Equal(run(t, split, "migrate").code, cli.ExitOK)

	for _, args := range [][]string{{"estate", "list"}, {"estate", "sync", "--estate-key", "wildside"}} {
		r = run(t, split, args...)
		is.Equal(r.code, cli.ExitFailure)
		is.True(strings.Contains(r.stderr, "still has 1")) // stderr: r.stderr
		is.True(strings.Contains(r.stderr, "copy the tables"))
	}
}

func TestCatalogueDatabaseErrorsNameIt(t *testing.T) {
	is := is.New(t)
	env := migratedEnv(t, "sqlite")

	// An unmigrated PostgreSQL database, reached with a password that
	// the test server's trust authentication ignores.
	_, catalogue := storetest.LayoutURLs(t, storetest.LayoutNamed(t, "postgres-split"))
	u, err := url.Parse(catalogue)
	is.NoErr(err)
	u.User = url.UserPassword(u.User.Username(), "s3cret-pass")
	env["GHILLIE_CATALOGUE_DATABASE_URL"] = u.String()

	r := run(t, env, "estate", "list")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.HasPrefix(r.stderr, "ghillie: catalogue database postgres://")) // stderr: r.stderr
	is.True(strings.Contains(r.stderr, "run 'ghillie migrate'"))
	is.True(!strings.Contains(r.stderr, "s3cret-pass"))

	r = run(t, env, "--catalogue-database-url", "mysql://db/x", "estate", "list")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, "--catalogue-database-url")) // stderr: r.stderr
}

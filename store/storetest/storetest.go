// Package storetest gives tests a fresh, migrated database of each
// dialect, so every storage test in Ghillie runs on SQLite and PostgreSQL.
//
// SQLite databases are files in the test's temporary folder. PostgreSQL
// databases are new schemas on the server that GHILLIE_TEST_DATABASE_URL
// names (default DefaultPostgresURL), dropped when the test ends. When that
// server cannot be reached, PostgreSQL tests are skipped with a message,
// except when CI=true, where they fail: CI must never pass without them.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ghillie/ghillie/store"
)

// DefaultPostgresURL is the server used when GHILLIE_TEST_DATABASE_URL is
// unset: the local PostgreSQL with trust authentication.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Dialects lists the dialects that Run covers, in order.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// Run runs fn as one subtest per dialect, named "sqlite" and "postgres",
// each with a fresh migrated database.
func Run(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()

	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated database of the dialect, closed when the
// test ends.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()

	db := OpenEmpty(t, d)
	if err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate %s test database: %v", d, err)
	}
	return db
}

// OpenEmpty returns a fresh database of the dialect without migrations.
func OpenEmpty(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()

	db, err := store.Open(context.Background(), URL(t, d))
	if err != nil {
		t.Fatalf("open %s test database: %v", d, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// URL returns the URL of a fresh, empty database of the dialect. Each call
// makes a new one, so a test can open several connections to it by
// opening the same URL more than once.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()

	switch d {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "ghillie.db")
	case store.Postgres:
		return postgresSchemaURL(t)
	}
	t.Fatalf("storetest: unknown dialect %q", d)
	return ""
}

// postgresSchemaURL creates a uniquely named schema and returns a URL whose
// connections use it as their search path.
func postgresSchemaURL(t testing.TB) string {
	t.Helper()

	schema := "ghillie_test_" + randomSuffix(t)
	base := onTestServer(t, "CREATE SCHEMA "+schema, "DROP SCHEMA "+schema+" CASCADE")
	return withSearchPath(t, base, schema)
}

// onTestServer runs create on the PostgreSQL test server, and drop when
// the test ends, and returns the server's URL.
func onTestServer(t testing.TB, create, drop string) string {
	t.Helper()

	base := os.Getenv("GHILLIE_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := store.Open(ctx, base)
	if err != nil {
		unavailable(t, base, err)
	}
	defer admin.Close()

	if _, err := admin.ExecContext(ctx, create); err != nil {
		t.Fatalf("%s on %s: %v", create, store.Redact(base), err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		admin, err := store.Open(ctx, base)
		if err != nil {
			t.Errorf("%s: %v", drop, err)
			return
		}
		defer admin.Close()

		if _, err := admin.ExecContext(ctx, drop); err != nil {
			t.Errorf("%s: %v", drop, err)
		}
	})
	return base
}

func withSearchPath(t testing.TB, base, schema string) string {
	t.Helper()

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GHILLIE_TEST_DATABASE_URL %q is not a URL: %v", store.Redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// unavailable skips the test, or fails it in CI.
func unavailable(t testing.TB, base string, err error) {
	t.Helper()

	msg := fmt.Sprintf("PostgreSQL at %s is unavailable (%v); "+
		"start it or set GHILLIE_TEST_DATABASE_URL", store.Redact(base), err)
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

func randomSuffix(t testing.TB) string {
	t.Helper()

	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	return hex.EncodeToString(b)
}

// Layout places the catalogue tables and the other tables on dialects.
// Catalogue is empty in the single-database layout.
type Layout struct {
	Name      string
	Main      store.Dialect
	Catalogue store.Dialect
}

// Layouts lists the layouts that RunLayouts covers: one database of each
// dialect, a separate catalogue database of each dialect, and a SQLite
// catalogue beside a PostgreSQL main database.
var Layouts = []Layout{
	{Name: "sqlite", Main: store.SQLite},
	{Name: "postgres", Main: store.Postgres},
	{Name: "sqlite-split", Main: store.SQLite, Catalogue: store.SQLite},
	{Name: "postgres-split", Main: store.Postgres, Catalogue: store.Postgres},
	{Name: "mixed", Main: store.Postgres, Catalogue: store.SQLite},
}

// RunLayouts runs fn as one subtest per entry of Layouts, named by it,
// each with fresh migrated databases. The DB that fn receives has the
// catalogue database attached (see store.DB.WithCatalogue), so code under
// test must reach the catalogue tables through db.Catalogue().
func RunLayouts(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()

	for _, l := range Layouts {
		t.Run(l.Name, func(t *testing.T) {
			fn(t, OpenLayout(t, l))
		})
	}
}

// OpenLayout returns fresh migrated databases in the layout, closed when
// the test ends. A separate PostgreSQL catalogue is a database of its own
// on the test server, not a schema, so that no query can reach across.
func OpenLayout(t testing.TB, l Layout) *store.DB {
	t.Helper()

	mainURL, catalogueURL := LayoutURLs(t, l)
	main, err := store.Open(context.Background(), mainURL)
	if err != nil {
		t.Fatalf("open %s test database: %v", l.Main, err)
	}
	t.Cleanup(func() { _ = main.Close() })
	if catalogueURL == "" {
		migrateTest(t, main, l.Name)
		return main
	}

	catalogue, err := store.Open(context.Background(), catalogueURL)
	if err != nil {
		t.Fatalf("open %s test catalogue database: %v", l.Catalogue, err)
	}
	t.Cleanup(func() { _ = catalogue.Close() })

	// The cleanups close each database once, so the combined DB is not
	// closed itself.
	db := main.WithCatalogue(catalogue)
	migrateTest(t, db, l.Name)
	return db
}

// LayoutURLs returns the URLs of fresh, empty databases in the layout: the
// main database, and the catalogue database or "" when the layout has
// none.
func LayoutURLs(t testing.TB, l Layout) (main, catalogue string) {
	t.Helper()

	main = URL(t, l.Main)
	switch l.Catalogue {
	case "":
	case store.Postgres:
		catalogue = postgresDatabaseURL(t)
	default:
		catalogue = URL(t, l.Catalogue)
	}
	return main, catalogue
}

// LayoutNamed returns the entry of Layouts with the name.
func LayoutNamed(t testing.TB, name string) Layout {
	t.Helper()

	for _, l := range Layouts {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("storetest: unknown layout %q", name)
	return Layout{}
}

func migrateTest(t testing.TB, db *store.DB, layout string) {
	t.Helper()

	if err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate %s test databases: %v", layout, err)
	}
}

// postgresDatabaseURL creates a uniquely named database on the test server
// and returns its URL. The database is dropped when the test ends.
func postgresDatabaseURL(t testing.TB) string {
	t.Helper()

	// WITH (FORCE) ends connections that a failed test left open.
	name := "ghillie_test_" + randomSuffix(t)
	base := onTestServer(t, "CREATE DATABASE "+name, "DROP DATABASE "+name+" WITH (FORCE)")

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GHILLIE_TEST_DATABASE_URL %q is not a URL: %v", store.Redact(base), err)
	}
	u.Path = "/" + name
	return u.String()
}

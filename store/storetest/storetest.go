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

	base := os.Getenv("GHILLIE_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	admin, err := store.Open(ctx, base)
	if err != nil {
		unavailable(t, base, err)
	}
	defer admin.Close()

	schema := "ghillie_test_" + randomSuffix(t)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s on %s: %v", schema, store.Redact(base), err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		admin, err := store.Open(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()

		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	return withSearchPath(t, base, schema)
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

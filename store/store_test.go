package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestOpenSQLiteSettings(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()

	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "g.db"))
	is.NoErr(err)
	defer db.Close()
	is.Equal(db.Dialect(), store.SQLite)

	var journal string
	is.NoErr(db.GetContext(ctx, &journal, "PRAGMA journal_mode"))
	is.Equal(journal, "wal")

	var foreignKeys int
	is.NoErr(db.GetContext(ctx, &foreignKeys, "PRAGMA foreign_keys"))
	is.Equal(foreignKeys, 1)

	var busy int64
	is.NoErr(db.GetContext(ctx, &busy, "PRAGMA busy_timeout"))
	is.Equal(busy, store.SQLiteBusyTimeout.Milliseconds())
}

func TestOpenSQLiteMemorySharesOneDatabase(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()

	db, err := store.Open(ctx, "sqlite::memory:")
	is.NoErr(err)
	defer db.Close()

	// Without a single shared connection each query could land on a new,
	// empty in-memory database.
	is.NoErr(store.Migrate(ctx, db))
	for range 5 {
		var n int
		is.NoErr(db.GetContext(ctx, &n, "SELECT count(*) FROM estates"))
		is.Equal(n, 0)
	}
}

func TestOpenMissingFolder(t *testing.T) {
	is := is.New(t)

	path := filepath.Join(t.TempDir(), "missing", "g.db")
	_, err := store.Open(context.Background(), "sqlite:"+path)
	is.True(err != nil)
	is.True(errors.Is(err, store.ErrConnection)) // cannot open is a connectivity error
	is.True(strings.Contains(err.Error(), path))
}

func TestOpenUnreachablePostgres(t *testing.T) {
	is := is.New(t)

	// Port 1 on loopback is closed, so the connection is refused at once.
	_, err := store.Open(context.Background(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2")
	is.True(err != nil)
	is.True(errors.Is(err, store.ErrConnection))
	is.True(!strings.Contains(err.Error(), "secret")) // password redacted
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		current, latest, err := store.SchemaVersion(ctx, db)
		is.NoErr(err)
		is.Equal(current, latest)
		is.True(latest >= 1)

		tables := tableNames(t, db)
		is.NoErr(store.Migrate(ctx, db))

		again, _, err := store.SchemaVersion(ctx, db)
		is.NoErr(err)
		is.Equal(again, current)
		is.Equal(tableNames(t, db), tables)
	})
}

func TestSchemaVersionOfEmptyDatabase(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			db := storetest.OpenEmpty(t, d)

			current, latest, err := store.SchemaVersion(context.Background(), db)
			is.NoErr(err)
			is.Equal(current, int64(0))
			is.True(latest >= 1)
		})
	}
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	is := is.New(t)

	sqlite := migrationFiles(t, "migrations/sqlite")
	postgres := migrationFiles(t, "migrations/postgres")
	is.True(len(sqlite) > 0)
	is.Equal(sqlite, postgres) // every migration exists for both dialects
}

func TestCatalogueTablesExist(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		got := tableNames(t, db)
		for _, want := range []string{
			"catalogue_imports", "catalogue_repositories", "component_edges",
			"components", "estates", "projects",
		} {
			is.True(contains(got, want)) // table missing
		}
	})
}

func migrationFiles(t *testing.T, dir string) []string {
	t.Helper()

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func tableNames(t *testing.T, db *store.DB) []string {
	t.Helper()

	query := "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	if db.Dialect() == store.Postgres {
		query = "SELECT table_name FROM information_schema.tables " +
			"WHERE table_schema = current_schema() ORDER BY table_name"
	}

	var names []string
	if err := db.SelectContext(context.Background(), &names, query); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

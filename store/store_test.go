package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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

// TestReadOnlySQLiteExplained checks that a failed write to a read-only
// SQLite database names the file and the fix. Tests run as root, and file
// permissions do not stop root, so the test sets query_only instead:
// SQLite reports both cases as SQLITE_READONLY.
func TestReadOnlySQLiteExplained(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()

	path := filepath.Join(t.TempDir(), "g.db")
	db, err := store.Open(ctx, "sqlite:"+path)
	is.NoErr(err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, "CREATE TABLE t (x INTEGER)")
	is.NoErr(err)
	_, err = db.ExecContext(ctx, "PRAGMA query_only = 1")
	is.NoErr(err)

	err = db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)")
		return err
	})
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "readonly database")) // SQLite's own words
	is.True(errors.Is(err, store.ErrReadOnly))
	is.True(strings.Contains(err.Error(), "(the database is sqlite:"+path+")")) // which file
	is.True(strings.Contains(err.Error(), "check their permissions"))           // and the fix
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
	is.True(errors.Is(err, fs.ErrNotExist))
	is.True(strings.Contains(err.Error(), "does not exist: create it first"))
	is.True(strings.Contains(err.Error(), filepath.Dir(path)))
}

func TestOpenFolderAsDatabase(t *testing.T) {
	is := is.New(t)

	dir := t.TempDir()
	_, err := store.Open(context.Background(), "sqlite:"+dir)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "is a folder, not a SQLite database file"))
}

func TestOpenExistingMissingFile(t *testing.T) {
	is := is.New(t)

	path := filepath.Join(t.TempDir(), "typo.db")
	_, err := store.OpenExisting(context.Background(), "sqlite:"+path)
	is.True(errors.Is(err, fs.ErrNotExist))
	_, statErr := os.Stat(path)
	is.True(errors.Is(statErr, fs.ErrNotExist)) // no file created
}

func TestOpenExistingFile(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()

	url := "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	created, err := store.Open(ctx, url)
	is.NoErr(err)
	is.NoErr(created.Close())

	db, err := store.OpenExisting(ctx, url)
	is.NoErr(err)
	is.NoErr(db.Close())
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
			is.Equal(len(tableNames(t, db)), 0) // reading the version created nothing
		})
	}
}

func TestMigrateRejectsNewerSchema(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		_, latest, err := store.SchemaVersion(ctx, db)
		is.NoErr(err)
		_, err = db.ExecContext(ctx, db.Rebind(
			"INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)"), latest+1, true)
		is.NoErr(err)

		err = store.Migrate(ctx, db)
		is.True(errors.Is(err, store.ErrSchemaTooNew))
		is.True(strings.Contains(err.Error(), fmt.Sprintf("schema version %d", latest+1)))
	})
}

func TestMigrateConcurrently(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			url := storetest.URL(t, d)

			// Separate pools behave like separate processes starting at once.
			const migrators = 4
			var wg sync.WaitGroup
			errs := make(chan error, migrators)
			for range migrators {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, err := store.Open(ctx, url)
					if err != nil {
						errs <- err
						return
					}
					defer db.Close()
					errs <- store.Migrate(ctx, db)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				is.NoErr(err)
			}
		})
	}
}

func TestMissingSearchPathSchema(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()

	url := storetest.URL(t, store.Postgres)
	url = strings.Replace(url, "search_path=", "search_path=nosuch", 1)
	db, err := store.Open(ctx, url)
	is.NoErr(err)
	defer db.Close()

	err = store.Migrate(ctx, db)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "no schema of its search_path exists"))
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

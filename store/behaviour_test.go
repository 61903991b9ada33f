package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// scratchTables creates tables used only by these tests. They exercise the
// same constraint kinds as the real schema.
func scratchTables(t *testing.T, db *store.DB) {
	t.Helper()

	ddl := []string{
		`CREATE TABLE parent (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))`,
		`CREATE TABLE child (id TEXT PRIMARY KEY,
			parent_id TEXT NOT NULL REFERENCES parent (id))`,
		`CREATE TABLE item (key TEXT PRIMARY KEY, label TEXT, n INTEGER NOT NULL DEFAULT 0,
			updated_at TEXT)`,
	}
	for _, stmt := range ddl {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("create scratch table: %v", err)
		}
	}
}

func TestClassifyConstraintErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scratchTables(t, db)
		exec := func(query string, args ...any) error {
			_, err := db.ExecContext(ctx, db.Rebind(query), args...)
			return store.Classify(err)
		}
		if err := exec("INSERT INTO parent (id, n) VALUES (?, ?)", "p1", 1); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			err  error
			want error
		}{
			{"unique", exec("INSERT INTO parent (id, n) VALUES (?, ?)", "p1", 2), store.ErrUniqueViolation},
			{"foreign key", exec("INSERT INTO child (id, parent_id) VALUES (?, ?)", "c1", "nope"),
				store.ErrForeignKeyViolation},
			{"not null", exec("INSERT INTO parent (id, n) VALUES (?, NULL)", "p2"), store.ErrNotNullViolation},
			{"check", exec("INSERT INTO parent (id, n) VALUES (?, ?)", "p3", -1), store.ErrCheckViolation},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				is.True(errors.Is(tt.err, tt.want)) // wrong classification
				var classified *store.Error
				is.True(errors.As(tt.err, &classified))
				is.True(classified.Err != nil) // driver error kept
			})
		}
	})
}

func TestClassifyUniqueNamesConstraint(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		insert := db.Rebind("INSERT INTO estates (id, key, name) VALUES (?, ?, ?)")
		_, err := db.ExecContext(ctx, insert, store.NewID(), "alpha", "Alpha")
		is.NoErr(err)
		_, err = db.ExecContext(ctx, insert, store.NewID(), "alpha", "Again")

		var classified *store.Error
		is.True(errors.As(store.Classify(err), &classified))
		want := map[store.Dialect]string{store.SQLite: "estates.key", store.Postgres: "ix_estates_key"}
		is.Equal(classified.Constraint, want[db.Dialect()])

		insertRepo := db.Rebind("INSERT INTO catalogue_repositories (id, owner, name, default_branch) " +
			"VALUES (?, ?, ?, 'main')")
		_, err = db.ExecContext(ctx, insertRepo, store.NewID(), "org", "repo")
		is.NoErr(err)
		_, err = db.ExecContext(ctx, insertRepo, store.NewID(), "Org", "Repo")
		is.True(errors.As(store.Classify(err), &classified))
		is.Equal(classified.Constraint, "uq_catalogue_repository_slug") // expression index named
	})
}

func TestClassifyForeignKeyConstraint(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		_, err := db.Exec(db.Rebind("INSERT INTO projects (id, estate_id, key, name) VALUES (?, ?, ?, ?)"),
			store.NewID(), "missing", "p", "P")
		var classified *store.Error
		is.True(errors.As(store.Classify(err), &classified))
		is.True(errors.Is(classified, store.ErrForeignKeyViolation))
		want := map[store.Dialect]string{store.SQLite: "", store.Postgres: "projects_estate_id_fkey"}
		is.Equal(classified.Constraint, want[db.Dialect()]) // SQLite does not name it
	})
}

func TestClassifyLeavesOtherErrors(t *testing.T) {
	is := is.New(t)

	plain := errors.New("plain")
	is.Equal(store.Classify(plain), plain)
	is.Equal(store.Classify(nil), nil)
}

func TestInTx(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scratchTables(t, db)
		count := func(t *testing.T) int {
			t.Helper()
			var n int
			if err := db.GetContext(ctx, &n, "SELECT count(*) FROM parent"); err != nil {
				t.Fatal(err)
			}
			return n
		}
		insert := func(tx *store.Tx, id string) error {
			_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO parent (id, n) VALUES (?, 0)"), id)
			return err
		}

		t.Run("commit", func(t *testing.T) {
			is := is.New(t)
			is.NoErr(db.InTx(ctx, func(tx *store.Tx) error { return insert(tx, "a") }))
			is.Equal(count(t), 1)
		})

		t.Run("error rolls back", func(t *testing.T) {
			is := is.New(t)
			boom := errors.New("boom")
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if err := insert(tx, "b"); err != nil {
					return err
				}
				return boom
			})
			is.True(errors.Is(err, boom))
			is.Equal(count(t), 1)
		})

		t.Run("driver error classified", func(t *testing.T) {
			is := is.New(t)
			err := db.InTx(ctx, func(tx *store.Tx) error { return insert(tx, "a") })
			is.True(errors.Is(err, store.ErrUniqueViolation))
			is.Equal(count(t), 1)
		})

		t.Run("panic rolls back", func(t *testing.T) {
			is := is.New(t)
			func() {
				defer func() { is.Equal(recover(), "boom") }()
				_ = db.InTx(ctx, func(tx *store.Tx) error {
					if err := insert(tx, "c"); err != nil {
						return err
					}
					panic("boom")
				})
			}()
			is.Equal(count(t), 1)
		})
	})
}

func TestTxLockSerializes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		scratchTables(t, db)
		_, err := db.ExecContext(ctx, "INSERT INTO parent (id, n) VALUES ('counter', 0)")
		is.NoErr(err)

		// Each worker reads, waits, then writes. Without the lock two
		// workers on PostgreSQL read the same value and an update is lost.
		const workers = 4
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.InTx(ctx, func(tx *store.Tx) error {
					if err := tx.Lock(ctx, "counter"); err != nil {
						return err
					}
					var n int
					if err := tx.GetContext(ctx, &n, "SELECT n FROM parent WHERE id = 'counter'"); err != nil {
						return err
					}
					time.Sleep(20 * time.Millisecond)
					_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE parent SET n = ? WHERE id = 'counter'"), n+1)
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			is.NoErr(err)
		}

		var n int
		is.NoErr(db.GetContext(ctx, &n, "SELECT n FROM parent WHERE id = 'counter'"))
		is.Equal(n, workers)
	})
}

func TestUpsert(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scratchTables(t, db)
		upsert := store.Upsert{
			Table:         "item",
			Columns:       []string{"key", "label", "n", "updated_at"},
			ConflictOn:    []string{"key"},
			Update:        []string{"label", "n"},
			OnlyIfChanged: true,
			Touch:         []string{"updated_at"},
			Returning:     []string{"key"},
		}.SQL(db.Dialect())
		write := func(t *testing.T, label string, n int, at string) []string {
			t.Helper()
			var keys []string
			if err := db.SelectContext(ctx, &keys, upsert, "k", label, n, at); err != nil {
				t.Fatalf("upsert: %v", err)
			}
			return keys
		}
		read := func(t *testing.T) (label string, n int, at string) {
			t.Helper()
			row := db.QueryRowContext(ctx, "SELECT label, n, updated_at FROM item WHERE key = 'k'")
			if err := row.Scan(&label, &n, &at); err != nil {
				t.Fatal(err)
			}
			return label, n, at
		}

		t.Run("insert", func(t *testing.T) {
			is := is.New(t)
			is.Equal(write(t, "a", 1, "t1"), []string{"k"})
			label, n, at := read(t)
			is.Equal(label, "a")
			is.Equal(n, 1)
			is.Equal(at, "t1")
		})

		t.Run("unchanged skips", func(t *testing.T) {
			is := is.New(t)
			is.Equal(len(write(t, "a", 1, "t2")), 0) // no row returned when nothing changed
			_, _, at := read(t)
			is.Equal(at, "t1") // touched column kept
		})

		t.Run("changed updates", func(t *testing.T) {
			is := is.New(t)
			is.Equal(write(t, "b", 1, "t3"), []string{"k"})
			label, _, at := read(t)
			is.Equal(label, "b")
			is.Equal(at, "t3")
		})

		t.Run("do nothing", func(t *testing.T) {
			is := is.New(t)
			ignore := store.Upsert{
				Table: "item", Columns: []string{"key", "label"}, ConflictOn: []string{"key"},
			}.SQL(db.Dialect())
			res, err := db.ExecContext(ctx, ignore, "k", "ignored")
			is.NoErr(err)
			rows, err := res.RowsAffected()
			is.NoErr(err)
			is.Equal(rows, int64(0))
			label, _, _ := read(t)
			is.Equal(label, "b")
		})
	})
}

func TestTimeRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := db.ExecContext(ctx, "CREATE TABLE stamp (id INTEGER PRIMARY KEY, at "+
			map[store.Dialect]string{store.SQLite: "TEXT", store.Postgres: "timestamptz"}[db.Dialect()]+")")
		if err != nil {
			t.Fatal(err)
		}

		plus3 := time.FixedZone("+03", 3*60*60)
		tests := []struct {
			name string
			in   time.Time
			want time.Time
		}{
			{"utc", time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC), time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)},
			{"offset", time.Date(2024, 7, 2, 12, 30, 0, 0, plus3), time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)},
			{"nanoseconds truncated", time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC),
				time.Date(2024, 1, 1, 0, 0, 0, 123456000, time.UTC)},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				_, err := db.ExecContext(ctx, db.Rebind("INSERT INTO stamp (id, at) VALUES (?, ?)"),
					i, store.NewTime(tt.in))
				is.NoErr(err)

				var got store.Time
				is.NoErr(db.GetContext(ctx, &got, db.Rebind("SELECT at FROM stamp WHERE id = ?"), i))
				is.True(got.Equal(tt.want))
				is.Equal(got.Location(), time.UTC)
			})
		}

		t.Run("null", func(t *testing.T) {
			is := is.New(t)
			var none *store.Time
			_, err := db.ExecContext(ctx, db.Rebind("INSERT INTO stamp (id, at) VALUES (?, ?)"), 99, none)
			is.NoErr(err)

			var got *store.Time
			is.NoErr(db.GetContext(ctx, &got, "SELECT at FROM stamp WHERE id = 99"))
			is.True(got == nil)
		})

		t.Run("year 10000 rejected", func(t *testing.T) {
			is := is.New(t)
			_, err := db.ExecContext(ctx, db.Rebind("INSERT INTO stamp (id, at) VALUES (?, ?)"),
				101, store.NewTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))
			is.True(err != nil)
		})

		t.Run("zero rejected", func(t *testing.T) {
			is := is.New(t)
			_, err := db.ExecContext(ctx, db.Rebind("INSERT INTO stamp (id, at) VALUES (?, ?)"),
				100, store.Time{})
			is.True(err != nil)
		})
	})
}

func TestSQLiteTimeTextSortsByTime(t *testing.T) {
	is := is.New(t)

	early, err := store.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Value()
	is.NoErr(err)
	late, err := store.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 1000, time.UTC)).Value()
	is.NoErr(err)
	is.Equal(len(early.(string)), len(late.(string))) // fixed width
	is.True(early.(string) < late.(string))
}

func TestJSONRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		type noise struct {
			Enabled bool     `json:"enabled"`
			Labels  []string `json:"labels"`
		}
		want := noise{Enabled: true, Labels: []string{"chore/deps", "ünïcode"}}
		id := store.NewID()
		_, err := db.ExecContext(ctx,
			db.Rebind("INSERT INTO projects (id, estate_id, key, name, noise) VALUES (?, ?, ?, ?, ?)"),
			id, "missing-estate", "p", "P", store.NewJSON(want))
		is.True(errors.Is(store.Classify(err), store.ErrForeignKeyViolation)) // foreign keys enforced

		estate := store.NewID()
		_, err = db.ExecContext(ctx, db.Rebind("INSERT INTO estates (id, key, name) VALUES (?, ?, ?)"),
			estate, "e", "E")
		is.NoErr(err)
		_, err = db.ExecContext(ctx,
			db.Rebind("INSERT INTO projects (id, estate_id, key, name, noise) VALUES (?, ?, ?, ?, ?)"),
			id, estate, "p", "P", store.NewJSON(want))
		is.NoErr(err)

		var got store.JSON[noise]
		is.NoErr(db.GetContext(ctx, &got, db.Rebind("SELECT noise FROM projects WHERE id = ?"), id))
		is.Equal(got.V.Enabled, want.Enabled)
		is.Equal(got.V.Labels, want.Labels)

		var paths store.JSON[[]string]
		is.NoErr(db.GetContext(ctx, &paths,
			db.Rebind("SELECT documentation_paths FROM projects WHERE id = ?"), id))
		is.Equal(len(paths.V), 0) // column default is an empty list
		is.True(paths.V != nil)
	})
}

func TestNewID(t *testing.T) {
	is := is.New(t)

	first := store.NewID()
	second := store.NewID()
	is.Equal(len(first), 36)
	is.Equal(first[14], byte('7'))     // version 7
	is.True(first[:13] <= second[:13]) // millisecond prefix does not go back
}

func TestSavepointKeepsTransactionUsable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		scratchTables(t, db)
		insert := func(tx *store.Tx, id string, n int) error {
			_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO parent (id, n) VALUES (?, ?)"), id, n)
			return err
		}

		err := db.InTx(ctx, func(tx *store.Tx) error {
			is.NoErr(tx.Savepoint(ctx, "first", func() error { return insert(tx, "a", 1) }))

			// The failed statement would abort a PostgreSQL transaction
			// without the savepoint.
			err := tx.Savepoint(ctx, "second", func() error {
				if err := insert(tx, "b", 1); err != nil {
					return err
				}
				return insert(tx, "a", 2)
			})
			is.True(errors.Is(err, store.ErrUniqueViolation))

			return insert(tx, "c", 3)
		})
		is.NoErr(err)

		var ids []string
		is.NoErr(db.Select(&ids, "SELECT id FROM parent ORDER BY id"))
		is.Equal(ids, []string{"a", "c"}) // b rolled back with its savepoint
	})
}

func TestClassifyInvalidValue(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.Postgres)

	// SQLite does not enforce varchar lengths, so only PostgreSQL rejects it.
	_, err := db.Exec("INSERT INTO estates (id, key, name) VALUES ($1, $2, 'E')",
		store.NewID(), strings.Repeat("k", 65))
	is.True(errors.Is(store.Classify(err), store.ErrInvalidValue))
}

func TestForUpdate(t *testing.T) {
	is := is.New(t)

	is.Equal(store.Postgres.ForUpdate(true), " FOR UPDATE SKIP LOCKED")
	is.Equal(store.Postgres.ForUpdate(false), " FOR UPDATE")
	is.Equal(store.SQLite.ForUpdate(true), "")
}

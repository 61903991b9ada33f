package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// TestBytewiseKeysMigrationKeepsRows migrates a database with rows from
// version 3 up through 00005_bytewise_keys and back down, and checks that
// the rows and their keys read back the same after each step.
func TestBytewiseKeysMigrationKeepsRows(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			url := storetest.URL(t, d)

			// Each step opens new connections, as a restarted process does,
			// because PostgreSQL rejects a statement prepared before its
			// columns changed type.
			db := openURL(t, url)
			is.NoErr(store.MigrateTo(ctx, db, 3))
			insertSilverRows(t, db)
			before := readSilverRows(t, db)
			is.True(hasIndex(t, db, "ix_raw_events_repo_time"))

			db = openURL(t, url)
			is.NoErr(store.Migrate(ctx, db))
			db = openURL(t, url)
			is.Equal(readSilverRows(t, db), before)
			is.True(!hasIndex(t, db, "ix_raw_events_repo_time"))
			is.True(!hasIndex(t, db, "ix_event_facts_event_type"))
			if d == store.Postgres {
				is.Equal(collation(t, db, "raw_events", "dedupe_key"), "C")
				is.Equal(collation(t, db, "commits", "sha"), "C")
			}

			// The unique key still rejects a second row with the same key.
			_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO raw_events (source_system,
				event_type, occurred_at, ingested_at, dedupe_key, payload)
				VALUES (?, ?, ?, ?, ?, ?)`),
				"github", "github.push", store.Now(), store.Now(), testDedupeKey, "{}")
			is.True(err != nil)

			is.NoErr(store.MigrateDownTo(ctx, db, 3))
			db = openURL(t, url)
			is.Equal(readSilverRows(t, db), before)
			is.True(hasIndex(t, db, "ix_raw_events_repo_time"))
			is.True(hasIndex(t, db, "ix_event_facts_event_type"))
			if d == store.Postgres {
				is.Equal(collation(t, db, "raw_events", "dedupe_key"), "")
			}
		})
	}
}

func openURL(t *testing.T, url string) *store.DB {
	t.Helper()

	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

const testDedupeKey = "3f0a6c1b9e2d4f5a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"

func insertSilverRows(t *testing.T, db *store.DB) {
	t.Helper()

	now := store.Now()
	statements := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO raw_events (id, source_system, source_event_id, event_type, repo_external_id,
			occurred_at, ingested_at, dedupe_key, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{7, "github", "c0ffee", "github.commit", "octo/reef", now, now, testDedupeKey,
				`{"sha":"c0ffee"}`}},
		{`INSERT INTO event_facts (raw_event_id, repo_external_id, event_type, occurred_at, payload)
			VALUES (?, ?, ?, ?, ?)`, []any{7, "octo/reef", "github.commit", now, `{"sha":"c0ffee"}`}},
		{`INSERT INTO repositories (id, github_owner, github_name, default_branch)
			VALUES (?, ?, ?, ?)`, []any{"0190a0d2-0000-7000-8000-000000000001", "octo", "reef", "main"}},
		{`INSERT INTO commits (repo_id, sha, message) VALUES (?, ?, ?)`,
			[]any{"0190a0d2-0000-7000-8000-000000000001", "c0ffee", "Add the reef"}},
		{`INSERT INTO documentation_changes (repo_id, commit_sha, path, change_type, occurred_at,
			observed_at) VALUES (?, ?, ?, ?, ?, ?)`,
			[]any{"0190a0d2-0000-7000-8000-000000000001", "c0ffee", "docs/adr/1.md", "modified", now, now}},
	}
	for _, s := range statements {
		if _, err := db.ExecContext(context.Background(), db.Rebind(s.query), s.args...); err != nil {
			t.Fatalf("insert rows: %v", err)
		}
	}
}

// silverRows is what readSilverRows reads back.
type silverRows struct {
	DedupeKey string
	FactRepo  string
	CommitSHA string
	DocPath   string
}

func readSilverRows(t *testing.T, db *store.DB) silverRows {
	t.Helper()

	var rows silverRows
	err := db.QueryRowContext(context.Background(), `SELECT r.dedupe_key, f.repo_external_id, c.sha, d.path
		FROM raw_events r
		JOIN event_facts f ON f.raw_event_id = r.id
		JOIN commits c ON c.sha = 'c0ffee'
		JOIN documentation_changes d ON d.repo_id = c.repo_id AND d.commit_sha = c.sha`,
	).Scan(&rows.DedupeKey, &rows.FactRepo, &rows.CommitSHA, &rows.DocPath)
	if err != nil {
		t.Fatalf("read rows: %v", err)
	}
	return rows
}

func hasIndex(t *testing.T, db *store.DB, name string) bool {
	t.Helper()

	query := "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?"
	if db.Dialect() == store.Postgres {
		query = "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
	}
	var n int
	if err := db.GetContext(context.Background(), &n, query, name); err != nil {
		t.Fatalf("look up index %s: %v", name, err)
	}
	return n > 0
}

// collation returns the collation of a PostgreSQL column, or "" for the
// database's default.
func collation(t *testing.T, db *store.DB, table, column string) string {
	t.Helper()

	var name *string
	err := db.GetContext(context.Background(), &name, `SELECT collation_name
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, table, column)
	if err != nil {
		t.Fatalf("read collation of %s.%s: %v", table, column, err)
	}
	if name == nil {
		return ""
	}
	return *name
}

// TestEntityKeysMigration migrates a database with event facts from
// version 7 up through 00010_event_fact_entities and back down. On
// PostgreSQL the facts written before the migration get their entity
// keys. On SQLite the index on the keys replaces the plain one.
func TestEntityKeysMigration(t *testing.T) {
	facts := []struct {
		eventType, payload string
		sha, path          *string
		id                 *int64
	}{
		{"github.commit", `{"sha":"c0ffee"}`, ptr("c0ffee"), nil, nil},
		{"github.doc_change", `{"commit_sha":"c0ffee","path":"docs/a.md"}`, ptr("c0ffee"),
			ptr("docs/a.md"), nil},
		{"github.pull_request", `{"id":17}`, nil, nil, ptr[int64](17)},
		{"github.issue", `{"id":"18"}`, nil, nil, ptr[int64](18)},
		{"github.issue", `{"id":"1234567890123456789"}`, nil, nil, nil},
		{"github.issue", `{"id":-5}`, nil, nil, nil},
		{"github.pull_request", `{"id":true}`, nil, nil, nil},
		{"github.push", `{"sha":"c0ffee","id":5}`, nil, nil, nil},
	}

	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			url := storetest.URL(t, d)

			db := openURL(t, url)
			is.NoErr(store.MigrateTo(ctx, db, 7))
			now := store.Now()
			for i, f := range facts {
				_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO raw_events (id, source_system,
					event_type, repo_external_id, occurred_at, ingested_at, dedupe_key, payload)
					VALUES (?, 'github', ?, 'octo/reef', ?, ?, ?, ?)`),
					i+1, f.eventType, now, now, fmt.Sprint("key-", i), f.payload)
				is.NoErr(err)
				_, err = db.ExecContext(ctx, db.Rebind(`INSERT INTO event_facts (id, raw_event_id,
					repo_external_id, event_type, occurred_at, payload)
					VALUES (?, ?, 'octo/reef', ?, ?, ?)`), i+1, i+1, f.eventType, now, f.payload)
				is.NoErr(err)
			}

			db = openURL(t, url)
			is.NoErr(store.Migrate(ctx, db))
			is.True(hasIndex(t, db, "ix_event_facts_repo_time"))
			if d == store.Postgres {
				for i, f := range facts {
					var sha, path *string
					var id *int64
					err := db.QueryRowContext(ctx, `SELECT entity_sha, entity_id, entity_path
						FROM event_facts WHERE id = $1`, i+1).Scan(&sha, &id, &path)
					is.NoErr(err)
					is.Equal(show(sha), show(f.sha))   // entity_sha
					is.Equal(show(id), show(f.id))     // entity_id
					is.Equal(show(path), show(f.path)) // entity_path
				}
			}

			is.NoErr(store.MigrateDownTo(ctx, db, 7))
			db = openURL(t, url)
			is.True(hasIndex(t, db, "ix_event_facts_repo_time"))
			var n int
			is.NoErr(db.GetContext(ctx, &n, `SELECT count(*) FROM event_facts`))
			is.Equal(n, len(facts))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// show returns the value p points to as text, or NULL.
func show[T any](p *T) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

package evidence

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// TestSQLiteQueriesReadFactsFromIndex checks that SQLite reads event
// facts from ix_event_facts_repo_time alone. It fails when the key
// expressions in sqliteKeys and in the migration differ, because SQLite
// then computes each key from the payload.
func TestSQLiteQueriesReadFactsFromIndex(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	q := queriesOf(store.SQLite)
	window := []any{"octo/reef", store.NewTime(time.Now().Add(-time.Hour)), store.Now(), "repo"}
	entityArgs := append([]any{"repo"}, window...)

	for name, query := range map[string]struct {
		sql  string
		args []any
	}{
		"ids":                   {q.ids, window},
		"commits":               {q.commits, entityArgs},
		"pull requests":         {q.pullRequests, entityArgs},
		"issues":                {q.issues, entityArgs},
		"documentation changes": {q.documentationChanges, append(window, "repo")},
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query.sql, query.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()

			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}

			reads := 0
			for _, step := range plan {
				if !strings.Contains(step, " ef ") {
					continue
				}
				reads++
				if !strings.Contains(step, "USING COVERING INDEX ix_event_facts_repo_time ") {
					t.Errorf("plan step %q reads event facts outside the index; plan:\n%s",
						step, strings.Join(plan, "\n"))
				}
			}
			if reads != 1 {
				t.Errorf("plan reads event facts %d times, expected once:\n%s", reads,
					strings.Join(plan, "\n"))
			}
		})
	}
}

// TestFactKeys checks each dialect's entity keys of event facts, for the
// forms of payload that Silver accepts and some that it rejects.
func TestFactKeys(t *testing.T) {
	facts := []struct {
		eventType, payload string
		want               string // sha, id and path, NULL for none
	}{
		{"github.commit", `{"sha":"c0ffee"}`, "c0ffee NULL NULL"},
		{"github.doc_change", `{"commit_sha":"c0ffee","path":"docs/a.md"}`, "c0ffee NULL docs/a.md"},
		{"github.pull_request", `{"id":17}`, "NULL 17 NULL"},
		{"github.issue", `{"id":"18"}`, "NULL 18 NULL"},
		{"github.issue", `{"id":"123456789012345678"}`, "NULL 123456789012345678 NULL"},
		{"github.issue", `{"id":"1234567890123456789"}`, "NULL NULL NULL"},
		{"github.issue", `{"id":"12a"}`, "NULL NULL NULL"},
		{"github.pull_request", `{"id":true}`, "NULL NULL NULL"},
		{"github.pull_request", `{}`, "NULL NULL NULL"},
		{"github.push", `{"sha":"c0ffee","id":5,"path":"a"}`, "NULL NULL NULL"},
	}

	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := store.Now()
		for i, f := range facts {
			_, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO raw_events (id, source_system,
				event_type, repo_external_id, occurred_at, dedupe_key, payload)
				VALUES (?, 'github', ?, 'octo/reef', ?, ?, ?)`),
				i+1, f.eventType, now, "key-"+strconv.Itoa(i), f.payload)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.ExecContext(ctx, db.Rebind(`INSERT INTO event_facts (id, raw_event_id,
				repo_external_id, event_type, occurred_at, payload)
				VALUES (?, ?, 'octo/reef', ?, ?, ?)`), i+1, i+1, f.eventType, now, f.payload)
			if err != nil {
				t.Fatal(err)
			}
		}

		keys := keysOf(db.Dialect())
		for i, f := range facts {
			var sha, path sql.NullString
			var id sql.NullInt64
			err := db.QueryRowContext(ctx, db.Rebind(`SELECT `+keys.sha+`, `+keys.id+`, `+
				keys.path+` FROM event_facts ef WHERE ef.id = ?`), i+1).Scan(&sha, &id, &path)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s %s %s", nullText(sha.String, sha.Valid),
				nullText(strconv.FormatInt(id.Int64, 10), id.Valid), nullText(path.String, path.Valid))
			if got != f.want {
				t.Errorf("%s %s: keys %q, expected %q", f.eventType, f.payload, got, f.want)
			}
		}
	})
}

func nullText(s string, valid bool) string {
	if !valid {
		return "NULL"
	}
	return s
}

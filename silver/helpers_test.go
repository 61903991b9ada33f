package silver_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
)

// silverTables lists every table the transformer writes, with the order
// that makes a snapshot deterministic.
var silverTables = map[string]string{
	"repositories":          "lower(github_owner), lower(github_name)",
	"commits":               "repo_id, sha",
	"pull_requests":         "id",
	"issues":                "id",
	"documentation_changes": "repo_id, commit_sha, path",
	"event_facts":           "raw_event_id",
}

// base is the time of the first test event; later events add minutes.
var base = time.Date(2024, 7, 2, 9, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

func commitPayload(sha string) map[string]any {
	return map[string]any{
		"sha":          sha,
		"repo_owner":   "octo",
		"repo_name":    "reef",
		"message":      "docs: refresh roadmap",
		"author_email": "dev@example.com",
		"author_name":  "Dev",
		"committed_at": "2024-07-02T09:30:00Z",
		"metadata":     map[string]any{"ref": "refs/heads/main"},
	}
}

func prPayload(id int, state string) map[string]any {
	return map[string]any{
		"id":           id,
		"number":       id,
		"title":        fmt.Sprintf("Pull request %d", id),
		"state":        state,
		"base_branch":  "main",
		"head_branch":  fmt.Sprintf("feature-%d", id),
		"repo_owner":   "octo",
		"repo_name":    "reef",
		"created_at":   "2024-07-01T10:00:00Z",
		"author_login": "octocat",
		"labels":       []string{"feature"},
		"metadata":     map[string]any{"mergeable": "unknown"},
	}
}

func issuePayload(id int, state string) map[string]any {
	return map[string]any{
		"id":           id,
		"number":       id,
		"title":        fmt.Sprintf("Issue %d", id),
		"state":        state,
		"repo_owner":   "octo",
		"repo_name":    "reef",
		"created_at":   "2024-07-01T11:00:00Z",
		"author_login": "octocat",
		"labels":       []string{"bug", "infra"},
		"metadata":     map[string]any{"milestone": "MVP"},
	}
}

func docPayload(sha, path string) map[string]any {
	return map[string]any{
		"commit_sha":  sha,
		"path":        path,
		"change_type": "modified",
		"repo_owner":  "octo",
		"repo_name":   "reef",
		"occurred_at": "2024-07-02T13:55:00Z",
		"is_roadmap":  true,
		"metadata":    map[string]any{"summary": "refresh milestones"},
	}
}

// with returns a copy of payload with keys set from pairs of key and
// value. A value of deleted removes the key.
func with(payload map[string]any, pairs ...any) map[string]any {
	out := maps.Clone(payload)
	for i := 0; i < len(pairs); i += 2 {
		key := pairs[i].(string)
		if pairs[i+1] == deleted {
			delete(out, key)
			continue
		}
		out[key] = pairs[i+1]
	}
	return out
}

type deletedKey struct{}

var deleted = deletedKey{}

// envelope builds a GitHub raw event. The source event id comes from the
// payload's identity and occurred_at, so distinct snapshots of one pull
// request are distinct raw events.
func envelope(eventType string, occurred time.Time, payload map[string]any) bronze.Envelope {
	var identity string
	for _, key := range []string{"sha", "id", "commit_sha", "path", "after"} {
		if v, ok := payload[key]; ok {
			identity += fmt.Sprint(v) + ":"
		}
	}
	repo := ""
	if owner, ok := payload["repo_owner"].(string); ok {
		repo = owner + "/" + fmt.Sprint(payload["repo_name"])
	}
	return bronze.Envelope{
		SourceSystem:   "github",
		SourceEventID:  identity + occurred.Format(time.RFC3339Nano),
		EventType:      eventType,
		RepoExternalID: repo,
		OccurredAt:     occurred,
		Payload:        payload,
	}
}

// write stores envelopes in Bronze and returns their raw event ids.
func write(t testing.TB, db *store.DB, envelopes ...bronze.Envelope) []int64 {
	t.Helper()

	results, err := bronze.NewWriter(db).WriteBatch(context.Background(), envelopes)
	if err != nil {
		t.Fatalf("write raw events: %v", err)
	}
	ids := make([]int64, len(results))
	for i, r := range results {
		ids[i] = r.ID
	}
	return ids
}

func processPending(t *testing.T, db *store.DB) silver.Result {
	t.Helper()

	result, err := silver.NewTransformer(db, nil).ProcessPending(t.Context(), 0)
	if err != nil {
		t.Fatalf("process pending: %v", err)
	}
	return result
}

func processIDs(t *testing.T, db *store.DB, ids ...int64) silver.Result {
	t.Helper()

	result, err := silver.NewTransformer(db, nil).ProcessIDs(t.Context(), ids)
	if err != nil {
		t.Fatalf("process ids %v: %v", ids, err)
	}
	return result
}

// rawRow is the transform state of a raw event.
type rawRow struct {
	State    bronze.State `db:"transform_state"`
	Error    *string      `db:"transform_error"`
	Reason   *string      `db:"transform_reason"`
	Attempts int          `db:"transform_attempts"`
}

func rawState(t testing.TB, db *store.DB, id int64) rawRow {
	t.Helper()

	var r rawRow
	err := db.GetContext(context.Background(), &r, db.Rebind(`SELECT transform_state, transform_error,
		transform_reason, transform_attempts FROM raw_events WHERE id = ?`), id)
	if err != nil {
		t.Fatalf("read raw event %d: %v", id, err)
	}
	return r
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func count(t testing.TB, db *store.DB, table string) int {
	t.Helper()

	var n int
	if err := db.GetContext(context.Background(), &n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

type repositoryRow struct {
	ID                    string     `db:"id"`
	Owner                 string     `db:"github_owner"`
	Name                  string     `db:"github_name"`
	DefaultBranch         string     `db:"default_branch"`
	EstateID              *string    `db:"estate_id"`
	CatalogueRepositoryID *string    `db:"catalogue_repository_id"`
	IngestionEnabled      bool       `db:"ingestion_enabled"`
	IsActive              bool       `db:"is_active"`
	CreatedAt             store.Time `db:"created_at"`
	UpdatedAt             store.Time `db:"updated_at"`
}

func repositories(t testing.TB, db *store.DB) []repositoryRow {
	t.Helper()

	var rows []repositoryRow
	err := db.SelectContext(context.Background(), &rows, `SELECT id, github_owner, github_name,
		default_branch, estate_id, catalogue_repository_id, ingestion_enabled, is_active, created_at,
		updated_at FROM repositories ORDER BY lower(github_owner), lower(github_name)`)
	if err != nil {
		t.Fatalf("read repositories: %v", err)
	}
	return rows
}

type commitRow struct {
	RepoID      string                     `db:"repo_id"`
	SHA         string                     `db:"sha"`
	AuthorEmail *string                    `db:"author_email"`
	AuthorName  *string                    `db:"author_name"`
	AuthoredAt  *store.Time                `db:"authored_at"`
	CommittedAt *store.Time                `db:"committed_at"`
	Message     *string                    `db:"message"`
	Metadata    store.JSON[map[string]any] `db:"metadata"`
	FirstSeenAt store.Time                 `db:"first_seen_at"`
}

func commits(t testing.TB, db *store.DB) []commitRow {
	t.Helper()

	var rows []commitRow
	err := db.SelectContext(context.Background(), &rows, `SELECT repo_id, sha, author_email,
		author_name, authored_at, committed_at, message, metadata, first_seen_at
		FROM commits ORDER BY repo_id, sha`)
	if err != nil {
		t.Fatalf("read commits: %v", err)
	}
	return rows
}

type pullRequestRow struct {
	ID          int64                      `db:"id"`
	RepoID      string                     `db:"repo_id"`
	Number      int                        `db:"number"`
	Title       string                     `db:"title"`
	AuthorLogin *string                    `db:"author_login"`
	State       string                     `db:"state"`
	MergedAt    *store.Time                `db:"merged_at"`
	ClosedAt    *store.Time                `db:"closed_at"`
	CreatedAt   store.Time                 `db:"created_at"`
	Labels      store.JSON[[]string]       `db:"labels"`
	IsDraft     bool                       `db:"is_draft"`
	BaseBranch  string                     `db:"base_branch"`
	HeadBranch  string                     `db:"head_branch"`
	Metadata    store.JSON[map[string]any] `db:"metadata"`
	ObservedAt  store.Time                 `db:"observed_at"`
}

func pullRequest(t testing.TB, db *store.DB, id int64) pullRequestRow {
	t.Helper()

	var r pullRequestRow
	err := db.GetContext(context.Background(), &r, db.Rebind(`SELECT id, repo_id, number, title,
		author_login, state, merged_at, closed_at, created_at, labels, is_draft, base_branch,
		head_branch, metadata, observed_at FROM pull_requests WHERE id = ?`), id)
	if err != nil {
		t.Fatalf("read pull request %d: %v", id, err)
	}
	return r
}

type issueRow struct {
	ID          int64                      `db:"id"`
	RepoID      string                     `db:"repo_id"`
	Number      int                        `db:"number"`
	Title       string                     `db:"title"`
	AuthorLogin *string                    `db:"author_login"`
	State       string                     `db:"state"`
	CreatedAt   store.Time                 `db:"created_at"`
	ClosedAt    *store.Time                `db:"closed_at"`
	Labels      store.JSON[[]string]       `db:"labels"`
	Metadata    store.JSON[map[string]any] `db:"metadata"`
	ObservedAt  store.Time                 `db:"observed_at"`
}

func issue(t testing.TB, db *store.DB, id int64) issueRow {
	t.Helper()

	var r issueRow
	err := db.GetContext(context.Background(), &r, db.Rebind(`SELECT id, repo_id, number, title,
		author_login, state, created_at, closed_at, labels, metadata, observed_at
		FROM issues WHERE id = ?`), id)
	if err != nil {
		t.Fatalf("read issue %d: %v", id, err)
	}
	return r
}

type docChangeRow struct {
	RepoID     string                     `db:"repo_id"`
	CommitSHA  string                     `db:"commit_sha"`
	Path       string                     `db:"path"`
	ChangeType string                     `db:"change_type"`
	IsRoadmap  bool                       `db:"is_roadmap"`
	IsADR      bool                       `db:"is_adr"`
	Metadata   store.JSON[map[string]any] `db:"metadata"`
	OccurredAt store.Time                 `db:"occurred_at"`
	ObservedAt store.Time                 `db:"observed_at"`
}

func docChanges(t testing.TB, db *store.DB) []docChangeRow {
	t.Helper()

	var rows []docChangeRow
	err := db.SelectContext(context.Background(), &rows, `SELECT repo_id, commit_sha, path,
		change_type, is_roadmap, is_adr, metadata, occurred_at, observed_at
		FROM documentation_changes ORDER BY repo_id, commit_sha, path`)
	if err != nil {
		t.Fatalf("read documentation changes: %v", err)
	}
	return rows
}

// snapshot reads every Silver table in full, with values as text, so two
// snapshots of one database compare equal exactly when no row changed.
func snapshot(t testing.TB, db *store.DB) map[string][]map[string]string {
	t.Helper()

	out := map[string][]map[string]string{}
	for table, order := range silverTables {
		rows, err := db.QueryxContext(context.Background(), "SELECT * FROM "+table+" ORDER BY "+order)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		for rows.Next() {
			row := map[string]any{}
			if err := rows.MapScan(row); err != nil {
				t.Fatalf("snapshot %s: %v", table, err)
			}
			text := map[string]string{}
			for column, value := range row {
				if b, ok := value.([]byte); ok {
					value = string(b)
				}
				text[column] = fmt.Sprint(value)
			}
			out[table] = append(out[table], text)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		rows.Close()
	}
	return out
}

// logRecorder is a slog handler that keeps the records it receives and
// calls onRecord, when set, for each one.
type logRecorder struct {
	mu       sync.Mutex
	records  []slog.Record
	onRecord func(slog.Record)
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	if h.onRecord != nil {
		h.onRecord(r)
	}
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// named returns the attributes of each record with the message name.
func (h *logRecorder) named(name string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()

	var out []map[string]any
	for _, r := range h.records {
		if r.Message != name {
			continue
		}
		attrs := map[string]any{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.Any()
			return true
		})
		out = append(out, attrs)
	}
	return out
}

func contains(s, substr string) bool { return strings.Contains(s, substr) }

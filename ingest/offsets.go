package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Kind is one of the four streams a repository is ingested in.
type Kind int

// The streams, in the order a run reports them.
const (
	KindCommit Kind = iota
	KindPullRequest
	KindIssue
	KindDocChange
)

// Kinds lists every stream.
var Kinds = [...]Kind{KindCommit, KindPullRequest, KindIssue, KindDocChange}

// String returns the stream's name in logs and metrics.
func (k Kind) String() string {
	switch k {
	case KindCommit:
		return "commit"
	case KindPullRequest:
		return "pull_request"
	case KindIssue:
		return "issue"
	case KindDocChange:
		return "doc_change"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// EventType returns the Bronze event type the stream writes.
func (k Kind) EventType() string {
	return "github." + k.String()
}

// ErrConcurrentRun reports that another run ingested the same repository
// while this one was running. The other run's progress is kept; this run
// stops without writing its own.
var ErrConcurrentRun = errors.New("another ingestion run of the repository is in progress")

// streamOffsets is the stored position of one stream.
type streamOffsets struct {
	// Cursor is the resume position of an unfinished backlog, empty when
	// the last crawl completed. Documentation changes keep theirs in docOffsets.
	Cursor string

	// BacklogStart is when the crawl that began an unfinished backlog
	// started; zero without a backlog.
	BacklogStart time.Time

	// Watermark is when the last complete crawl started; zero before the
	// first one completes.
	Watermark time.Time

	// Since is the lower bound of an unfinished backlog, kept so that
	// resuming it does not depend on the current lookback; zero without
	// a backlog. Documentation paths keep theirs in docOffsets.
	Since time.Time
}

// docOffsets is the stored position of the documentation stream, which
// pages one history per path.
type docOffsets struct {
	// After maps a history path to its resume cursor.
	After map[string]string `json:"after,omitempty"`

	// Covered lists the history paths the watermark applies to: those
	// of the last complete crawl. A path added since is backfilled.
	Covered []string `json:"covered,omitempty"`

	// Done lists the history paths of an unfinished backlog that already
	// reached the lower bound, so that a resumed run skips them.
	Done []string `json:"done,omitempty"`

	// Since maps a history path with a resume cursor to its backlog's
	// lower bound.
	Since map[string]time.Time `json:"since,omitempty"`
}

// backlog reports whether the documentation stream has an unfinished
// backlog, as opposed to only remembering the paths it covers.
func (d docOffsets) backlog() bool {
	return len(d.After) > 0 || len(d.Done) > 0
}

// offsets is a row of github_ingestion_offsets.
type offsets struct {
	id      int64
	slug    string
	version int64

	streams [len(Kinds)]streamOffsets
	docs    docOffsets

	// head is the commit a complete commit crawl reached, and branch the
	// branch that head and the cursors belong to.
	head   string
	branch string

	lastAttemptAt time.Time
	lastSuccessAt time.Time
	errorCategory string
	errorMessage  string
}

const offsetColumns = `id, repo_external_id, version,
	last_commit_cursor, last_pr_cursor, last_issue_cursor, last_doc_cursor,
	last_commit_seen_at, last_pr_seen_at, last_issue_seen_at, last_doc_seen_at,
	last_commit_ingested_at, last_pr_ingested_at, last_issue_ingested_at,
	last_doc_ingested_at, last_attempt_at, last_success_at, last_error_category,
	last_error, last_commit_head, branch, last_commit_since, last_pr_since,
	last_issue_since`

// offsetRow scans offsetColumns.
type offsetRow struct {
	ID         int64
	Slug       string
	Version    int64
	Cursors    [3]sql.NullString
	DocCursor  store.JSON[*docOffsets]
	SeenAt     [4]*store.Time
	Watermarks [4]*store.Time
	Attempt    *store.Time
	Success    *store.Time
	Category   sql.NullString
	Error      sql.NullString
	Head       sql.NullString
	Branch     sql.NullString
	Since      [3]*store.Time
}

func (r *offsetRow) dest() []any {
	return []any{&r.ID, &r.Slug, &r.Version,
		&r.Cursors[0], &r.Cursors[1], &r.Cursors[2], &r.DocCursor,
		&r.SeenAt[0], &r.SeenAt[1], &r.SeenAt[2], &r.SeenAt[3],
		&r.Watermarks[0], &r.Watermarks[1], &r.Watermarks[2], &r.Watermarks[3],
		&r.Attempt, &r.Success, &r.Category, &r.Error, &r.Head, &r.Branch,
		&r.Since[0], &r.Since[1], &r.Since[2]}
}

func (r *offsetRow) offsets() *offsets {
	o := &offsets{
		id: r.ID, slug: r.Slug, version: r.Version,
		lastAttemptAt: timeOf(r.Attempt), lastSuccessAt: timeOf(r.Success),
		errorCategory: r.Category.String, errorMessage: r.Error.String,
		head: r.Head.String, branch: r.Branch.String,
	}
	for i := range o.streams {
		if i < len(r.Cursors) {
			o.streams[i].Cursor = r.Cursors[i].String
			o.streams[i].Since = timeOf(r.Since[i])
		}
		o.streams[i].BacklogStart = timeOf(r.SeenAt[i])
		o.streams[i].Watermark = timeOf(r.Watermarks[i])
	}
	if r.DocCursor.V != nil {
		o.docs = *r.DocCursor.V
	}
	return o
}

func timeOf(t *store.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.NewTime(t)
}

func stringArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// loadOffsets returns the repository's row, creating an empty one when
// there is none.
func loadOffsets(ctx context.Context, db *store.DB, slug string) (*offsets, error) {
	o, err := findOffsets(ctx, db, slug)
	if err != nil || o != nil {
		return o, err
	}

	_, err = db.ExecContext(ctx, db.Rebind(`INSERT INTO github_ingestion_offsets
		(repo_external_id) VALUES (?) ON CONFLICT DO NOTHING`), slug)
	if err != nil {
		return nil, fmt.Errorf("create ingestion offsets of %s: %w", slug, store.Classify(err))
	}

	o, err = findOffsets(ctx, db, slug)
	if err == nil && o == nil {
		err = fmt.Errorf("ingestion offsets of %s vanished after being created", slug)
	}
	return o, err
}

// findOffsets returns the repository's row, or nil when there is none.
func findOffsets(ctx context.Context, q sqlQueryer, slug string) (*offsets, error) {
	var row offsetRow
	err := q.QueryRowContext(ctx, q.Rebind(`SELECT `+offsetColumns+`
		FROM github_ingestion_offsets WHERE lower(repo_external_id) = lower(?)`), slug).
		Scan(row.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ingestion offsets of %s: %w", slug, store.Classify(err))
	}
	return row.offsets(), nil
}

type sqlQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Rebind(query string) string
}

// save writes o and bumps its version, unless another run wrote the row
// since o was read: then it returns ErrConcurrentRun.
func (o *offsets) save(ctx context.Context, db *store.DB) error {
	var docs any
	if o.docs.backlog() || len(o.docs.Covered) > 0 {
		docs = store.NewJSON(o.docs)
	}
	s := o.streams
	res, err := db.ExecContext(ctx, db.Rebind(`UPDATE github_ingestion_offsets SET
		last_commit_cursor = ?, last_pr_cursor = ?, last_issue_cursor = ?, last_doc_cursor = ?,
		last_commit_seen_at = ?, last_pr_seen_at = ?, last_issue_seen_at = ?,
		last_doc_seen_at = ?, last_commit_ingested_at = ?, last_pr_ingested_at = ?,
		last_issue_ingested_at = ?, last_doc_ingested_at = ?, last_attempt_at = ?,
		last_success_at = ?, last_error_category = ?, last_error = ?, last_commit_head = ?,
		branch = ?, last_commit_since = ?, last_pr_since = ?, last_issue_since = ?,
		version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`),
		stringArg(s[0].Cursor), stringArg(s[1].Cursor), stringArg(s[2].Cursor), docs,
		timeArg(s[0].BacklogStart), timeArg(s[1].BacklogStart), timeArg(s[2].BacklogStart),
		timeArg(s[3].BacklogStart), timeArg(s[0].Watermark), timeArg(s[1].Watermark),
		timeArg(s[2].Watermark), timeArg(s[3].Watermark), timeArg(o.lastAttemptAt),
		timeArg(o.lastSuccessAt), stringArg(o.errorCategory), stringArg(o.errorMessage),
		stringArg(o.head), stringArg(o.branch), timeArg(s[0].Since), timeArg(s[1].Since),
		timeArg(s[2].Since), store.Now(), o.id, o.version)
	if err != nil {
		return fmt.Errorf("save ingestion offsets of %s: %w", o.slug, store.Classify(err))
	}

	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("save ingestion offsets of %s: %w", o.slug, err)
	}
	if n == 0 {
		return fmt.Errorf("save ingestion offsets of %s: %w", o.slug, ErrConcurrentRun)
	}
	o.version++
	return nil
}

package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// DefaultStalledThreshold is the age of a repository's oldest watermark
// beyond which the repository counts as stalled.
const DefaultStalledThreshold = time.Hour

// Lag is the ingestion health of one repository. Ages are in seconds,
// and nil when no stream has completed a crawl yet. They can be negative
// when a watermark is ahead of this machine's clock.
type Lag struct {
	RepoSlug string `json:"repo_slug"`

	// TimeSinceLastIngestionSeconds is the age of the newest watermark:
	// the time since a crawl of some stream last completed.
	TimeSinceLastIngestionSeconds *float64 `json:"time_since_last_ingestion_seconds"`

	// OldestWatermarkAgeSeconds is the age of the oldest watermark.
	OldestWatermarkAgeSeconds *float64 `json:"oldest_watermark_age_seconds"`

	// HasPendingCursors reports a backlog: some stream stopped at the cap
	// or at an error and resumes on the next run.
	HasPendingCursors bool `json:"has_pending_cursors"`

	// IsStalled reports a repository with a stream that never completed
	// a crawl, or whose oldest watermark is older than the threshold: one
	// lagging stream is enough.
	IsStalled bool `json:"is_stalled"`

	// LastSuccessAt is the end of the last run without errors, and
	// LastErrorCategory the category of the last failed run's error,
	// empty once a run succeeds again.
	LastSuccessAt     *time.Time `json:"last_success_at"`
	LastErrorCategory string     `json:"last_error_category,omitempty"`
}

// HealthService reports ingestion lag from github_ingestion_offsets.
type HealthService struct {
	db        *store.DB
	threshold time.Duration
	now       func() time.Time
}

// NewHealthService returns a service that calls a repository stalled
// when a stream never completed a crawl or its oldest watermark is older
// than threshold. A zero threshold means DefaultStalledThreshold.
func NewHealthService(db *store.DB, threshold time.Duration) *HealthService {
	if threshold <= 0 {
		threshold = DefaultStalledThreshold
	}
	return &HealthService{db: db, threshold: threshold, now: time.Now}
}

// SetClock replaces time.Now, for tests.
func (s *HealthService) SetClock(now func() time.Time) { s.now = now }

type lagRow struct {
	Slug     string
	Cursors  [4]*string
	Marks    [4]*store.Time
	Success  *store.Time
	Category sql.NullString
}

const lagColumns = `last_commit_cursor, last_pr_cursor, last_issue_cursor,
	last_doc_cursor, last_commit_ingested_at, last_pr_ingested_at,
	last_issue_ingested_at, last_doc_ingested_at, last_success_at, last_error_category`

func (r *lagRow) dest() []any {
	return []any{&r.Slug, &r.Cursors[0], &r.Cursors[1], &r.Cursors[2], &r.Cursors[3],
		&r.Marks[0], &r.Marks[1], &r.Marks[2], &r.Marks[3], &r.Success, &r.Category}
}

func (s *HealthService) lag(r *lagRow, now time.Time) Lag {
	l := Lag{RepoSlug: r.Slug, LastErrorCategory: r.Category.String}
	if r.Success != nil {
		t := r.Success.UTC()
		l.LastSuccessAt = &t
	}
	for _, c := range r.Cursors[:3] {
		l.HasPendingCursors = l.HasPendingCursors || c != nil
	}
	if doc := r.Cursors[3]; doc != nil {
		// The documentation column also remembers the paths its
		// watermark covers; only resume positions are a backlog.
		var d docOffsets
		if json.Unmarshal([]byte(*doc), &d) != nil || d.backlog() {
			l.HasPendingCursors = true
		}
	}

	var newest, oldest time.Time
	missing := false
	for _, m := range r.Marks {
		if m == nil {
			missing = true
			continue
		}
		if newest.IsZero() || m.After(newest) {
			newest = m.Time
		}
		if oldest.IsZero() || m.Before(oldest) {
			oldest = m.Time
		}
	}
	if newest.IsZero() {
		l.IsStalled = true
		return l
	}

	since := now.Sub(newest).Seconds()
	age := now.Sub(oldest).Seconds()
	l.TimeSinceLastIngestionSeconds, l.OldestWatermarkAgeSeconds = &since, &age
	l.IsStalled = missing || now.Sub(oldest) > s.threshold
	return l
}

// Repository returns the lag of the repository with the slug owner/name,
// compared without regard to case, or nil when it was never ingested.
func (s *HealthService) Repository(ctx context.Context, slug string) (*Lag, error) {
	var r lagRow
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT repo_external_id, `+lagColumns+`
		FROM github_ingestion_offsets WHERE lower(repo_external_id) = lower(?)`), slug).
		Scan(r.dest()...)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ingestion lag of %s: %w", slug, store.Classify(err))
	}

	l := s.lag(&r, s.now())
	return &l, nil
}

// All returns the lag of every repository with ingestion enabled,
// ordered by slug. A repository never ingested is included, stalled.
func (s *HealthService) All(ctx context.Context) ([]Lag, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.github_owner || '/' || r.github_name, `+lagColumns+`
		FROM repositories r
		LEFT JOIN github_ingestion_offsets o
			ON lower(o.repo_external_id) = lower(r.github_owner || '/' || r.github_name)
		WHERE r.ingestion_enabled
		ORDER BY lower(r.github_owner), lower(r.github_name)`)
	if err != nil {
		return nil, fmt.Errorf("read ingestion lag: %w", store.Classify(err))
	}
	defer rows.Close()

	now := s.now()
	var out []Lag
	for rows.Next() {
		var r lagRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("read ingestion lag: %w", store.Classify(err))
		}
		out = append(out, s.lag(&r, now))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ingestion lag: %w", store.Classify(err))
	}
	return out, nil
}

// Stalled returns the repositories of All that are stalled.
func (s *HealthService) Stalled(ctx context.Context) ([]Lag, error) {
	all, err := s.All(ctx)
	if err != nil {
		return nil, err
	}

	var out []Lag
	for _, l := range all {
		if l.IsStalled {
			out = append(out, l)
		}
	}
	return out, nil
}

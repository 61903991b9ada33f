package metrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// ErrRepositoryNotFound reports a repository id with no Silver row.
var ErrRepositoryNotFound = errors.New("repository not found")

// ErrEstateNotFound reports an estate id with no catalogue row.
var ErrEstateNotFound = errors.New("estate not found")

// Required are the metrics every status report relies on, for the
// window [start, end). Durations are in seconds and nil when no pull
// request or issue has one.
type Required struct {
	// PullRequestsMerged counts pull requests with merged_at in the window.
	PullRequestsMerged int `json:"pull_requests_merged"`

	// PullRequestsClosedUnmerged counts pull requests with closed_at in
	// the window and no merged_at.
	PullRequestsClosedUnmerged int `json:"pull_requests_closed_unmerged"`

	// MeanTimeToMergeSeconds is the mean of merged_at - created_at over
	// the pull requests merged in the window. A pull request merged before
	// its created_at, which only wrong clocks or hand-made events give,
	// counts as merged but has no duration.
	MeanTimeToMergeSeconds *float64 `json:"mean_time_to_merge_seconds"`

	// IssuesResolved counts issues with closed_at in the window.
	IssuesResolved int `json:"issues_resolved"`

	// IssuesOutstanding counts issues created before the window's end
	// and still open at it: closed at or after the end, or not closed.
	IssuesOutstanding int `json:"issues_outstanding"`

	// ResolvedIssueOpenSeconds is the time the resolved issues were open.
	ResolvedIssueOpenSeconds ResolvedDurations `json:"resolved_issue_open_seconds"`

	// OutstandingIssueAgeSeconds is the age of the outstanding issues at
	// the window's end.
	OutstandingIssueAgeSeconds OutstandingAges `json:"outstanding_issue_age_seconds"`
}

// ResolvedDurations are the mean and median of closed_at - created_at
// over the issues resolved in a window, except those closed before their
// created_at. The median of an even count is the mean of the two middle
// values.
type ResolvedDurations struct {
	Mean   *float64 `json:"mean"`
	Median *float64 `json:"median"`
}

// OutstandingAges are the mean and maximum of end - created_at over the
// issues outstanding at a window's end.
type OutstandingAges struct {
	Mean *float64 `json:"mean"`
	Max  *float64 `json:"max"`
}

// RepositoryMetrics are one repository's metrics of a window.
type RepositoryMetrics struct {
	Repository  string    `json:"repository"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Metrics     Required  `json:"metrics"`
}

// EstateMetrics are the metrics of a window for each repository of an
// estate, ordered by owner and name without regard to case, and for all
// of them together. Totals are computed over the pull requests and
// issues themselves, so a mean is not a mean of means.
type EstateMetrics struct {
	Estate       string              `json:"estate"`
	WindowStart  time.Time           `json:"window_start"`
	WindowEnd    time.Time           `json:"window_end"`
	Repositories []RepositoryMetrics `json:"repositories"`
	Totals       Required            `json:"totals"`
}

// ForRepository computes the metrics of the repository's window
// [start, end). An event exactly at start counts, one exactly at end
// does not.
func ForRepository(ctx context.Context, db *store.DB, repositoryID string,
	start, end time.Time) (RepositoryMetrics, error) {
	if err := checkWindow(start, end); err != nil {
		return RepositoryMetrics{}, err
	}

	var slug string
	err := db.GetContext(ctx, &slug, db.Rebind(`SELECT github_owner || '/' || github_name
		FROM repositories WHERE id = ?`), repositoryID)
	if errors.Is(err, sql.ErrNoRows) {
		return RepositoryMetrics{}, fmt.Errorf("repository %s: %w", repositoryID, ErrRepositoryNotFound)
	}
	if err != nil {
		return RepositoryMetrics{}, fmt.Errorf("read repository %s: %w", repositoryID, store.Classify(err))
	}

	w := newWindow(start, end)
	values, err := compute(ctx, db, repositoryFilter(repositoryID), w, false)
	if err != nil {
		return RepositoryMetrics{}, fmt.Errorf("compute metrics of %s: %w", slug, err)
	}
	return RepositoryMetrics{Repository: slug, WindowStart: w.start.Time, WindowEnd: w.end.Time,
		Metrics: values[""]}, nil
}

// ForEstate computes the metrics of the window [start, end) for every
// repository that the estate's catalogue lists, whether or not its
// ingestion is enabled, and their totals.
func ForEstate(ctx context.Context, db *store.DB, estateID string,
	start, end time.Time) (EstateMetrics, error) {
	if err := checkWindow(start, end); err != nil {
		return EstateMetrics{}, err
	}

	var key string
	cat := db.Catalogue()
	err := cat.GetContext(ctx, &key, cat.Rebind(`SELECT key FROM estates WHERE id = ?`), estateID)
	if errors.Is(err, sql.ErrNoRows) {
		return EstateMetrics{}, fmt.Errorf("estate %s: %w", estateID, ErrEstateNotFound)
	}
	if err != nil {
		return EstateMetrics{}, fmt.Errorf("read estate %s: %w", estateID, store.Classify(err))
	}

	var repos []struct {
		ID   string `db:"id"`
		Slug string `db:"slug"`
	}
	err = db.SelectContext(ctx, &repos, db.Rebind(`SELECT r.id, r.github_owner || '/' || r.github_name AS slug
		FROM repositories r JOIN repository_estates re ON re.repository_id = r.id
		WHERE re.estate_id = ?
		ORDER BY lower(r.github_owner), lower(r.github_name), r.id`), estateID)
	if err != nil {
		return EstateMetrics{}, fmt.Errorf("list repositories of estate %s: %w", key, store.Classify(err))
	}

	w := newWindow(start, end)
	filter := estateFilter(estateID)
	perRepository, err := compute(ctx, db, filter, w, true)
	if err != nil {
		return EstateMetrics{}, fmt.Errorf("compute metrics of estate %s: %w", key, err)
	}
	totals, err := compute(ctx, db, filter, w, false)
	if err != nil {
		return EstateMetrics{}, fmt.Errorf("compute metrics of estate %s: %w", key, err)
	}

	out := EstateMetrics{Estate: key, WindowStart: w.start.Time, WindowEnd: w.end.Time,
		Repositories: make([]RepositoryMetrics, 0, len(repos)), Totals: totals[""]}
	for _, r := range repos {
		out.Repositories = append(out.Repositories, RepositoryMetrics{Repository: r.Slug,
			WindowStart: w.start.Time, WindowEnd: w.end.Time, Metrics: perRepository[r.ID]})
	}
	return out, nil
}

func checkWindow(start, end time.Time) error {
	if !end.After(start) {
		return fmt.Errorf("window %s to %s: use an end after the start",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return nil
}

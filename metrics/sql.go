package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// window is a window's bounds as column values, and its end in Unix
// microseconds for the age arithmetic.
type window struct {
	start, end store.Time
	endMicros  int64
}

func newWindow(start, end time.Time) window {
	w := window{start: store.NewTime(start), end: store.NewTime(end)}
	w.endMicros = w.end.UnixMicro()
	return w
}

// filter is a condition on repo_id that selects the subject's rows.
type filter struct {
	sql  string
	args []any
}

func repositoryFilter(repositoryID string) filter {
	return filter{sql: "repo_id = ?", args: []any{repositoryID}}
}

func estateFilter(estateID string) filter {
	return filter{sql: "repo_id IN (SELECT repository_id FROM repository_estates WHERE estate_id = ?)",
		args: []any{estateID}}
}

// micros returns the SQL for a timestamp column in Unix microseconds.
// PostgreSQL's EXTRACT(EPOCH ...) is an exact numeric from version 14.
// SQLite's date functions keep milliseconds only, so the seconds come
// from strftime and the microseconds from the text, which store.Time
// writes with a fixed width (2006-01-02T15:04:05.000000Z).
func micros(d store.Dialect, column string) string {
	if d == store.Postgres {
		return "CAST(EXTRACT(EPOCH FROM " + column + ") * 1000000 AS BIGINT)"
	}
	return "(CAST(strftime('%s', substr(" + column + ", 1, 19)) AS INTEGER) * 1000000 + " +
		"CAST(substr(" + column + ", 21, 6) AS INTEGER))"
}

// grouping returns the SQL that selects the group key and groups by it:
// the repository id, or one group with the key "" for totals.
func grouping(perRepository bool) (key, groupBy, partition string) {
	if perRepository {
		return "repo_id", " GROUP BY repo_id", "PARTITION BY repo_id "
	}
	return "''", "", ""
}

// compute returns the metrics of the rows f selects, keyed by repository
// id, or under "" when perRepository is false. A repository without
// pull requests or issues in the window has no key.
func compute(ctx context.Context, db *store.DB, f filter, w window,
	perRepository bool) (map[string]Required, error) {
	out := map[string]Required{}
	if err := pullRequests(ctx, db, f, w, perRepository, out); err != nil {
		return nil, err
	}
	if err := issues(ctx, db, f, w, perRepository, out); err != nil {
		return nil, err
	}
	if err := resolvedMedians(ctx, db, f, w, perRepository, out); err != nil {
		return nil, err
	}
	return out, nil
}

// seconds converts a number of microseconds to seconds.
func seconds(us *float64) *float64 {
	if us == nil {
		return nil
	}
	s := *us / 1e6
	return &s
}

func pullRequests(ctx context.Context, db *store.DB, f filter, w window, perRepository bool,
	out map[string]Required) error {
	d := db.Dialect()
	key, groupBy, _ := grouping(perRepository)
	merged := "merged_at >= ? AND merged_at < ?"

	query := `SELECT ` + key + ` AS repo_id,
		count(CASE WHEN ` + merged + ` THEN 1 END) AS merged,
		count(CASE WHEN merged_at IS NULL THEN 1 END) AS closed_unmerged,
		CAST(avg(CASE WHEN ` + merged + ` AND merged_at >= created_at THEN ` +
		micros(d, "merged_at") + ` - ` + micros(d, "created_at") + ` END)
			AS DOUBLE PRECISION) AS merge_micros
		FROM pull_requests
		WHERE ` + f.sql + ` AND ((` + merged + `)
			OR (merged_at IS NULL AND closed_at >= ? AND closed_at < ?))` + groupBy
	args := []any{w.start, w.end, w.start, w.end}
	args = append(args, f.args...)
	args = append(args, w.start, w.end, w.start, w.end)

	var rows []struct {
		RepoID         string   `db:"repo_id"`
		Merged         int      `db:"merged"`
		ClosedUnmerged int      `db:"closed_unmerged"`
		MergeMicros    *float64 `db:"merge_micros"`
	}
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return fmt.Errorf("count pull requests: %w", store.Classify(err))
	}
	for _, r := range rows {
		m := out[r.RepoID]
		m.PullRequestsMerged, m.PullRequestsClosedUnmerged = r.Merged, r.ClosedUnmerged
		m.MeanTimeToMergeSeconds = seconds(r.MergeMicros)
		out[r.RepoID] = m
	}
	return nil
}

// issues counts resolved and outstanding issues with their mean
// durations. An issue without closed_at is open unless its state is
// closed: one closed at an unrecorded time is in neither count.
func issues(ctx context.Context, db *store.DB, f filter, w window, perRepository bool,
	out map[string]Required) error {
	d := db.Dialect()
	key, groupBy, _ := grouping(perRepository)
	resolved := "closed_at >= ? AND closed_at < ?"
	outstanding := "created_at < ? AND (closed_at >= ? OR (closed_at IS NULL AND lower(state) <> 'closed'))"
	age := "CAST(? AS BIGINT) - " + micros(d, "created_at")

	query := `SELECT ` + key + ` AS repo_id,
		count(CASE WHEN ` + resolved + ` THEN 1 END) AS resolved,
		CAST(avg(CASE WHEN ` + resolved + ` AND closed_at >= created_at THEN ` +
		micros(d, "closed_at") + ` - ` + micros(d, "created_at") + ` END)
			AS DOUBLE PRECISION) AS resolved_mean,
		count(CASE WHEN ` + outstanding + ` THEN 1 END) AS outstanding,
		CAST(avg(CASE WHEN ` + outstanding + ` THEN ` + age + ` END) AS DOUBLE PRECISION) AS age_mean,
		CAST(max(CASE WHEN ` + outstanding + ` THEN ` + age + ` END) AS DOUBLE PRECISION) AS age_max
		FROM issues
		WHERE ` + f.sql + ` AND ((` + resolved + `) OR (` + outstanding + `))` + groupBy
	args := []any{w.start, w.end, w.start, w.end, w.end, w.end, w.end, w.end, w.endMicros,
		w.end, w.end, w.endMicros}
	args = append(args, f.args...)
	args = append(args, w.start, w.end, w.end, w.end)

	var rows []struct {
		RepoID       string   `db:"repo_id"`
		Resolved     int      `db:"resolved"`
		ResolvedMean *float64 `db:"resolved_mean"`
		Outstanding  int      `db:"outstanding"`
		AgeMean      *float64 `db:"age_mean"`
		AgeMax       *float64 `db:"age_max"`
	}
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return fmt.Errorf("count issues: %w", store.Classify(err))
	}
	for _, r := range rows {
		m := out[r.RepoID]
		m.IssuesResolved, m.IssuesOutstanding = r.Resolved, r.Outstanding
		m.ResolvedIssueOpenSeconds.Mean = seconds(r.ResolvedMean)
		m.OutstandingIssueAgeSeconds = OutstandingAges{Mean: seconds(r.AgeMean),
			Max: seconds(r.AgeMax)}
		out[r.RepoID] = m
	}
	return nil
}

// resolvedMedians sets the median time open of the resolved issues.
// SQLite has no percentile_cont, so the query ranks the durations and
// averages the rows ranked (n+1)/2 and (n+2)/2 in integer division. For
// an odd count n both are the middle row, and for an even n they are
// the two middle rows.
func resolvedMedians(ctx context.Context, db *store.DB, f filter, w window, perRepository bool,
	out map[string]Required) error {
	d := db.Dialect()
	key, groupBy, partition := grouping(perRepository)

	query := `SELECT ` + key + ` AS repo_id, CAST(avg(open_micros) AS DOUBLE PRECISION) AS median
		FROM (SELECT repo_id, open_micros,
				row_number() OVER (` + partition + `ORDER BY open_micros) AS row_rank,
				count(*) OVER (` + partition + `) AS n
			FROM (SELECT repo_id, ` + micros(d, "closed_at") + ` - ` + micros(d, "created_at") +
		` AS open_micros
				FROM issues WHERE ` + f.sql + ` AND closed_at >= ? AND closed_at < ?
					AND closed_at >= created_at) durations
		) ranked
		WHERE row_rank IN ((n + 1) / 2, (n + 2) / 2)` + groupBy
	args := append(append([]any{}, f.args...), w.start, w.end)

	var rows []struct {
		RepoID string   `db:"repo_id"`
		Median *float64 `db:"median"`
	}
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return fmt.Errorf("compute the median time open of issues: %w", store.Classify(err))
	}
	for _, r := range rows {
		if r.Median == nil {
			continue
		}
		m := out[r.RepoID]
		m.ResolvedIssueOpenSeconds.Median = seconds(r.Median)
		out[r.RepoID] = m
	}
	return nil
}

package export

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/store"
)

// Report is a stored report, and with coverage the event facts it
// covered and their raw events.
type Report struct {
	ID          string    `json:"id"`
	Scope       string    `json:"scope"`
	Subject     string    `json:"subject"` // owner/name, estate/project or estate
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	GeneratedAt time.Time `json:"generated_at"`
	Status      string    `json:"status"`
	Model       string    `json:"model"`
	Summary     string    `json:"summary"`
	*Coverage
}

// Coverage lists the event facts a report covered, in ascending order,
// and the raw event of each, in the same order.
type Coverage struct {
	EventFactIDs []int64 `json:"event_fact_ids"`
	RawEventIDs  []int64 `json:"raw_event_ids"`
}

// ReportSubject selects the reports to export: a repository's, or an
// estate's together with its projects' and its repositories'. Set one
// field.
type ReportSubject struct {
	RepositoryID string
	EstateID     string
}

// reportsQuery selects the subject's reports whose windows overlap
// [start, end), with a row per covered event fact when coverage is set.
func reportsQuery(sub ReportSubject, coverage bool) (string, []any) {
	where := `r.scope = 'repository' AND r.repository_id = ?`
	args := []any{sub.RepositoryID}
	if sub.EstateID != "" {
		where = `((r.scope = 'estate' AND r.estate_id = ?)
			OR (r.scope = 'project' AND r.project_id IN
				(SELECT id FROM report_projects WHERE estate_id = ?))
			OR (r.scope = 'repository' AND r.repository_id IN
				(SELECT repository_id FROM repository_estates WHERE estate_id = ?)))`
		args = []any{sub.EstateID, sub.EstateID, sub.EstateID}
	}

	columns, joins, order := "", "", ""
	if coverage {
		columns = ", rc.event_fact_id, ef.raw_event_id"
		joins = `
		LEFT JOIN report_coverage rc ON rc.report_id = r.id
		LEFT JOIN event_facts ef ON ef.id = rc.event_fact_id`
		order = ", rc.event_fact_id"
	}

	return `SELECT r.id, r.scope, r.window_start, r.window_end, r.generated_at, r.model,
			r.machine_summary,
			CASE r.scope WHEN 'repository' THEN repo.github_owner || '/' || repo.github_name
				WHEN 'project' THEN rp.key END AS subject,
			CASE r.scope WHEN 'project' THEN rp.estate_id
				WHEN 'estate' THEN r.estate_id END AS subject_estate_id` + columns + `
		FROM reports r
		LEFT JOIN repositories repo ON repo.id = r.repository_id
		LEFT JOIN report_projects rp ON rp.id = r.project_id` + joins + `
		WHERE ` + where + ` AND r.window_start < ? AND r.window_end > ?
		ORDER BY r.window_start, r.scope, r.id` + order, args
}

// Reports calls fn with each report of the subject whose window overlaps
// [start, end), ordered by window start, scope and id. With coverage,
// each report carries the event facts it covered; only one report's
// coverage is in memory at a time. Reports stops at fn's first error and
// returns it.
func Reports(ctx context.Context, db *store.DB, sub ReportSubject, start, end time.Time,
	coverage bool, fn func(Report) error) error {
	if err := checkWindow(start, end); err != nil {
		return err
	}
	if (sub.RepositoryID == "") == (sub.EstateID == "") {
		return fmt.Errorf("export.ReportSubject needs exactly one of RepositoryID and EstateID")
	}

	// Estate keys come from the catalogue tables, which may live in
	// another database, so they are read once here rather than joined.
	estateKeys, err := readEstateKeys(ctx, db.Catalogue())
	if err != nil {
		return err
	}

	query, args := reportsQuery(sub, coverage)
	args = append(args, store.NewTime(end), store.NewTime(start))
	rows, err := db.QueryContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return fmt.Errorf("read reports: %w", store.Classify(err))
	}
	defer rows.Close()

	// With coverage a report spans several rows, so each report is
	// passed on when the next one starts, or at the end.
	var pending *Report
	for rows.Next() {
		var r Report
		var windowStart, windowEnd, generatedAt store.Time
		var model, subject, subjectEstate sql.NullString
		var summary store.JSON[map[string]any]
		var factID, rawID sql.NullInt64
		dest := []any{&r.ID, &r.Scope, &windowStart, &windowEnd, &generatedAt, &model, &summary,
			&subject, &subjectEstate}
		if coverage {
			dest = append(dest, &factID, &rawID)
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read reports: %w", store.Classify(err))
		}

		if pending != nil && pending.ID != r.ID {
			if err := fn(*pending); err != nil {
				return err
			}
			pending = nil
		}
		if pending == nil {
			r.WindowStart, r.WindowEnd, r.GeneratedAt = windowStart.Time, windowEnd.Time,
				generatedAt.Time
			r.Model = model.String
			r.Subject = subjectName(r.Scope, subject.String, estateKeys[subjectEstate.String])
			r.Status = string(gold.ParseStatus(summary.V["status"]))
			r.Summary, _ = summary.V["summary"].(string)
			if coverage {
				r.Coverage = &Coverage{EventFactIDs: []int64{}, RawEventIDs: []int64{}}
			}
			pending = &r
		}
		if factID.Valid {
			pending.EventFactIDs = append(pending.EventFactIDs, factID.Int64)
			pending.RawEventIDs = append(pending.RawEventIDs, rawID.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read reports: %w", store.Classify(err))
	}
	if pending != nil {
		return fn(*pending)
	}
	return nil
}

// subjectName returns the subject of a report: owner/name, estate/project
// or the estate key. A project or estate whose estate is not in the
// catalogue gets an empty subject.
func subjectName(scope, subject, estateKey string) string {
	switch {
	case scope == string(gold.ScopeRepository):
		return subject
	case estateKey == "":
		return ""
	case scope == string(gold.ScopeProject):
		return estateKey + "/" + subject
	}
	return estateKey
}

// readEstateKeys maps the id of every estate of the catalogue to its key.
// Estates are few, unlike reports, so the map stays small.
func readEstateKeys(ctx context.Context, catalogue *store.DB) (map[string]string, error) {
	var rows []struct {
		ID  string `db:"id"`
		Key string `db:"key"`
	}
	if err := catalogue.SelectContext(ctx, &rows, `SELECT id, key FROM estates`); err != nil {
		return nil, fmt.Errorf("read estate keys: %w", store.Classify(err))
	}

	keys := make(map[string]string, len(rows))
	for _, r := range rows {
		keys[r.ID] = r.Key
	}
	return keys, nil
}

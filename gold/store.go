package gold

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ghillie/ghillie/store"
)

// ErrNotFound reports a report or review that does not exist.
var ErrNotFound = errors.New("not found")

// ErrOverlap reports a report whose window overlaps another report of
// the same subject, as when two runs with different end times race:
// the events of the overlap would be reported twice.
var ErrOverlap = errors.New("the window overlaps another report of the subject: " +
	"run again to report from where that one ended")

// Subject names what a report is about: a repository, project or estate
// id, by scope.
type Subject struct {
	Scope Scope
	ID    string
}

func (s Subject) validate() error {
	switch s.Scope {
	case ScopeRepository, ScopeProject, ScopeEstate:
	default:
		return fmt.Errorf("invalid report scope %q: use repository, project or estate", s.Scope)
	}
	if s.ID == "" {
		return fmt.Errorf("%s report: the subject id is missing", s.Scope)
	}
	return nil
}

// columns returns the repository_id and project_id values that store the
// subject, NULL where the scope has none.
func (s Subject) columns() (repositoryID, projectID any) {
	switch s.Scope {
	case ScopeRepository:
		return s.ID, nil
	case ScopeProject:
		return nil, s.ID
	}
	return nil, nil
}

// subjectOf returns the subject a row of reports or report_reviews
// names in its scope's column.
func subjectOf(scope Scope, repositoryID, projectID, estateID sql.NullString) Subject {
	switch scope {
	case ScopeRepository:
		return Subject{Scope: scope, ID: repositoryID.String}
	case ScopeProject:
		return Subject{Scope: scope, ID: projectID.String}
	}
	return Subject{Scope: scope, ID: estateID.String}
}

// column returns the reports column that holds the subject's id.
func (s Subject) column() string {
	switch s.Scope {
	case ScopeRepository:
		return "repository_id"
	case ScopeProject:
		return "project_id"
	}
	return "estate_id"
}

// Report is a stored status report.
type Report struct {
	ID      string
	Subject Subject

	// EstateID is the estate of the subject, when known; for an estate
	// report it is the subject.
	EstateID string

	WindowStart time.Time
	WindowEnd   time.Time
	GeneratedAt time.Time

	// Model and Provider name the status model that wrote the report.
	Model    string
	Provider string

	// HumanText is the report's summary as plain text.
	HumanText string
	Summary   MachineSummary

	// Metrics of the model call; nil when unknown.
	LatencyMS        *int
	PromptTokens     *int
	CompletionTokens *int
	TotalTokens      *int
}

// Store reads and writes the Gold tables.
type Store struct {
	db *store.DB
}

// NewStore returns a store on db, which must be migrated.
func NewStore(db *store.DB) *Store { return &Store{db: db} }

const reportColumns = `id, scope, repository_id, project_id, estate_id, window_start,
	window_end, generated_at, model, model_provider, human_text, machine_summary,
	model_latency_ms, prompt_tokens, completion_tokens, total_tokens`

type reportRow struct {
	ID               string                 `db:"id"`
	Scope            Scope                  `db:"scope"`
	RepositoryID     sql.NullString         `db:"repository_id"`
	ProjectID        sql.NullString         `db:"project_id"`
	EstateID         sql.NullString         `db:"estate_id"`
	WindowStart      store.Time             `db:"window_start"`
	WindowEnd        store.Time             `db:"window_end"`
	GeneratedAt      store.Time             `db:"generated_at"`
	Model            sql.NullString         `db:"model"`
	Provider         sql.NullString         `db:"model_provider"`
	HumanText        sql.NullString         `db:"human_text"`
	Summary          store.JSON[rawSummary] `db:"machine_summary"`
	LatencyMS        *int                   `db:"model_latency_ms"`
	PromptTokens     *int                   `db:"prompt_tokens"`
	CompletionTokens *int                   `db:"completion_tokens"`
	TotalTokens      *int                   `db:"total_tokens"`
}

// rawSummary decodes a stored machine summary leniently: a summary
// written by another program may hold null or a string where a list
// belongs, and must still read.
type rawSummary struct {
	Summary    any `json:"summary"`
	Status     any `json:"status"`
	Highlights any `json:"highlights"`
	Risks      any `json:"risks"`
	NextSteps  any `json:"next_steps"`
}

func stringList(v any) []string {
	out := []string{}
	items, _ := v.([]any)
	for _, item := range items {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (r rawSummary) summary() MachineSummary {
	text, _ := r.Summary.(string)
	return MachineSummary{Summary: text, Status: ParseStatus(r.Status),
		Highlights: stringList(r.Highlights), Risks: stringList(r.Risks),
		NextSteps: stringList(r.NextSteps)}
}

func (r *reportRow) report() Report {
	rep := Report{
		ID: r.ID, EstateID: r.EstateID.String,
		WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(),
		GeneratedAt: r.GeneratedAt.UTC(), Model: r.Model.String, Provider: r.Provider.String,
		HumanText: r.HumanText.String, Summary: r.Summary.V.summary(),
		LatencyMS: r.LatencyMS, PromptTokens: r.PromptTokens,
		CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens,
	}
	rep.Subject = subjectOf(r.Scope, r.RepositoryID, r.ProjectID, r.EstateID)
	return rep
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Insert stores a report and the event facts it covered in one
// transaction, and returns the stored report with created true. When the
// subject already has a report for the same window, as when two runs
// race, nothing is written and the existing report is returned with
// created false. A window that overlaps another report of the subject
// is rejected with ErrOverlap.
func (s *Store) Insert(ctx context.Context, r Report, coverage []int64) (Report, bool, error) {
	if err := r.Subject.validate(); err != nil {
		return Report{}, false, err
	}
	if !r.WindowEnd.After(r.WindowStart) {
		return Report{}, false, fmt.Errorf("report window %s to %s: the end must follow the start",
			r.WindowStart.UTC().Format(time.RFC3339), r.WindowEnd.UTC().Format(time.RFC3339))
	}
	if r.ID == "" {
		r.ID = store.NewID()
	}
	if r.GeneratedAt.IsZero() {
		r.GeneratedAt = time.Now()
	}
	if r.Subject.Scope == ScopeEstate {
		r.EstateID = r.Subject.ID
	}
	summary := r.Summary
	for _, list := range []*[]string{&summary.Highlights, &summary.Risks, &summary.NextSteps} {
		if *list == nil {
			*list = []string{}
		}
	}

	repoID, projectID := r.Subject.columns()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		// Runs for one subject take turns here, so that the overlap check
		// and the insert see the same reports.
		if err := tx.Lock(ctx, "report:"+string(r.Subject.Scope)+":"+r.Subject.ID); err != nil {
			return err
		}
		var overlapping int
		err := tx.GetContext(ctx, &overlapping, tx.Rebind(`SELECT count(*) FROM reports
			WHERE scope = ? AND `+r.Subject.column()+` = ? AND window_start < ? AND window_end > ?
			AND NOT (window_start = ? AND window_end = ?)`),
			r.Subject.Scope, r.Subject.ID, store.NewTime(r.WindowEnd), store.NewTime(r.WindowStart),
			store.NewTime(r.WindowStart), store.NewTime(r.WindowEnd))
		if err != nil {
			return store.Classify(err)
		}
		if overlapping > 0 {
			return ErrOverlap
		}

		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO reports (`+reportColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.Subject.Scope, repoID, projectID, nullString(r.EstateID),
			store.NewTime(r.WindowStart), store.NewTime(r.WindowEnd),
			store.NewTime(r.GeneratedAt), nullString(r.Model), nullString(r.Provider),
			nullString(r.HumanText), store.NewJSON(summary), r.LatencyMS, r.PromptTokens,
			r.CompletionTokens, r.TotalTokens)
		if err != nil {
			return store.Classify(err)
		}
		return insertCoverage(ctx, tx, r.ID, coverage)
	})
	if errors.Is(err, store.ErrUniqueViolation) {
		existing, findErr := s.find(ctx, r.Subject, r.WindowStart, r.WindowEnd)
		if findErr != nil {
			return Report{}, false, findErr
		}
		return existing, false, nil
	}
	if err != nil {
		return Report{}, false, fmt.Errorf("store %s report of %s: %w", r.Subject.Scope, r.Subject.ID, err)
	}

	stored, err := s.Get(ctx, r.ID)
	return stored, true, err
}

// insertCoverage links a report to event facts, 500 rows per statement.
func insertCoverage(ctx context.Context, tx *store.Tx, reportID string, facts []int64) error {
	const chunk = 500
	for start := 0; start < len(facts); start += chunk {
		part := facts[start:min(start+chunk, len(facts))]
		query := "INSERT INTO report_coverage (report_id, event_fact_id) VALUES "
		args := make([]any, 0, 2*len(part))
		for i, id := range part {
			if i > 0 {
				query += ", "
			}
			query += "(?, ?)"
			args = append(args, reportID, id)
		}
		query += " ON CONFLICT DO NOTHING"
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("store report coverage: %w", store.Classify(err))
		}
	}
	return nil
}

// Overlapping returns a report of the subject whose window overlaps
// [start, end) without being that window, or nil when there is none.
func (s *Store) Overlapping(ctx context.Context, sub Subject, start, end time.Time) (*Report, error) {
	var rows []reportRow
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+reportColumns+` FROM reports
		WHERE scope = ? AND `+sub.column()+` = ? AND window_start < ? AND window_end > ?
		AND NOT (window_start = ? AND window_end = ?)
		ORDER BY window_end DESC LIMIT 1`),
		sub.Scope, sub.ID, store.NewTime(end), store.NewTime(start),
		store.NewTime(start), store.NewTime(end))
	if err != nil {
		return nil, fmt.Errorf("read reports of %s %s: %w", sub.Scope, sub.ID, store.Classify(err))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	r := rows[0].report()
	return &r, nil
}

// ForWindow returns the subject's report of exactly the window [start,
// end), or nil when there is none.
func (s *Store) ForWindow(ctx context.Context, sub Subject, start, end time.Time) (*Report, error) {
	r, err := s.find(ctx, sub, start, end)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *Store) find(ctx context.Context, sub Subject, start, end time.Time) (Report, error) {
	var row reportRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+reportColumns+` FROM reports
		WHERE scope = ? AND `+sub.column()+` = ? AND window_start = ? AND window_end = ?`),
		sub.Scope, sub.ID, store.NewTime(start), store.NewTime(end))
	if errors.Is(err, sql.ErrNoRows) {
		return Report{}, fmt.Errorf("%s report of %s: %w", sub.Scope, sub.ID, ErrNotFound)
	}
	if err != nil {
		return Report{}, fmt.Errorf("read %s report of %s: %w", sub.Scope, sub.ID, store.Classify(err))
	}
	return row.report(), nil
}

// Get returns the report with the id.
func (s *Store) Get(ctx context.Context, id string) (Report, error) {
	var row reportRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+reportColumns+`
		FROM reports WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Report{}, fmt.Errorf("report %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Report{}, fmt.Errorf("read report %s: %w", id, store.Classify(err))
	}
	return row.report(), nil
}

// Latest returns the subject's report with the latest window end, or
// nil when it has none.
func (s *Store) Latest(ctx context.Context, sub Subject) (*Report, error) {
	reports, err := s.History(ctx, sub, time.Time{}, 1, 0)
	if err != nil || len(reports) == 0 {
		return nil, err
	}
	return &reports[0], nil
}

// History returns the subject's reports, latest window first, skipping
// offset and returning at most limit (all when limit is zero). A
// non-zero endBy keeps only windows that end by it.
func (s *Store) History(ctx context.Context, sub Subject, endBy time.Time, limit, offset int) ([]Report, error) {
	if err := sub.validate(); err != nil {
		return nil, err
	}

	query := `SELECT ` + reportColumns + ` FROM reports WHERE scope = ? AND ` + sub.column() + ` = ?`
	args := []any{sub.Scope, sub.ID}
	if !endBy.IsZero() {
		query += ` AND window_end <= ?`
		args = append(args, store.NewTime(endBy))
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	query += fmt.Sprintf(` ORDER BY window_end DESC, generated_at DESC, id DESC
		LIMIT %d OFFSET %d`, limit, max(offset, 0))

	var rows []reportRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("read %s reports of %s: %w", sub.Scope, sub.ID, store.Classify(err))
	}
	out := make([]Report, len(rows))
	for i := range rows {
		out[i] = rows[i].report()
	}
	return out, nil
}

// CoverageCount returns the number of event facts a report covered.
func (s *Store) CoverageCount(ctx context.Context, reportID string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(
		`SELECT count(*) FROM report_coverage WHERE report_id = ?`), reportID)
	if err != nil {
		return 0, fmt.Errorf("count coverage of report %s: %w", reportID, store.Classify(err))
	}
	return n, nil
}

// ProjectRef is a row of report_projects: the project a project report
// belongs to.
type ProjectRef struct {
	ID          string
	Key         string
	Name        string
	Description string
	EstateID    string
}

// EnsureProject returns the report project with the estate and key,
// creating it or bringing its name and description up to date.
func (s *Store) EnsureProject(ctx context.Context, p ProjectRef) (ProjectRef, error) {
	if p.Key == "" || p.Name == "" {
		return ProjectRef{}, fmt.Errorf("report project %q: a key and a name are required", p.Key)
	}

	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var id string
		err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM report_projects
			WHERE coalesce(estate_id, '') = ? AND key = ?`), p.EstateID, p.Key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			p.ID = store.NewID()
			_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO report_projects
				(id, key, name, description, estate_id) VALUES (?, ?, ?, ?, ?)`),
				p.ID, p.Key, p.Name, nullString(p.Description), nullString(p.EstateID))
		case err == nil:
			p.ID = id
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE report_projects
				SET name = ?, description = ?, updated_at = ?
				WHERE id = ? AND (name <> ? OR `+tx.Dialect().Distinct("description", "?")+`)`),
				p.Name, nullString(p.Description), store.Now(), id, p.Name,
				nullString(p.Description))
		}
		return store.Classify(err)
	})
	if err != nil {
		return ProjectRef{}, fmt.Errorf("record report project %s: %w", p.Key, err)
	}
	return p, nil
}

// ProjectID returns the id of the report project with the estate and
// key, or "" when the project was never reported.
func (s *Store) ProjectID(ctx context.Context, estateID, key string) (string, error) {
	var id string
	err := s.db.GetContext(ctx, &id, s.db.Rebind(`SELECT id FROM report_projects
		WHERE coalesce(estate_id, '') = ? AND key = ?`), estateID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read report project %q: %w", key, store.Classify(err))
	}
	return id, nil
}

package gold

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// ValidationIssue is one reason a report failed validation.
type ValidationIssue struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Review is a marker asking a person to look at a subject's window,
// left when every attempt to write its report failed validation.
type Review struct {
	ID          string
	Subject     Subject
	EstateID    string
	WindowStart time.Time
	WindowEnd   time.Time
	Model       string

	// AttemptCount is how many attempts failed; Issues are the last
	// attempt's validation issues.
	AttemptCount int
	Issues       []ValidationIssue

	State          ReviewState
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ResolvedAt     *time.Time
	ResolutionNote string
}

const reviewColumns = `id, scope, repository_id, project_id, estate_id, window_start,
	window_end, model, attempt_count, validation_issues, state, created_at, updated_at,
	resolved_at, resolution_note`

type reviewRow struct {
	ID           string                        `db:"id"`
	Scope        Scope                         `db:"scope"`
	RepositoryID sql.NullString                `db:"repository_id"`
	ProjectID    sql.NullString                `db:"project_id"`
	EstateID     sql.NullString                `db:"estate_id"`
	WindowStart  store.Time                    `db:"window_start"`
	WindowEnd    store.Time                    `db:"window_end"`
	Model        sql.NullString                `db:"model"`
	Attempts     int                           `db:"attempt_count"`
	Issues       store.JSON[[]ValidationIssue] `db:"validation_issues"`
	State        ReviewState                   `db:"state"`
	CreatedAt    store.Time                    `db:"created_at"`
	UpdatedAt    store.Time                    `db:"updated_at"`
	ResolvedAt   *store.Time                   `db:"resolved_at"`
	Note         sql.NullString                `db:"resolution_note"`
}

func (r *reviewRow) review() Review {
	rev := Review{
		ID: r.ID, EstateID: r.EstateID.String, WindowStart: r.WindowStart.UTC(),
		WindowEnd: r.WindowEnd.UTC(), Model: r.Model.String, AttemptCount: r.Attempts,
		Issues: r.Issues.V, State: r.State, CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(), ResolutionNote: r.Note.String,
	}
	if rev.Issues == nil {
		rev.Issues = []ValidationIssue{}
	}
	if r.ResolvedAt != nil {
		t := r.ResolvedAt.UTC()
		rev.ResolvedAt = &t
	}
	rev.Subject = subjectOf(r.Scope, r.RepositoryID, r.ProjectID, r.EstateID)
	return rev
}

// MarkForReview records that a subject's window failed validation and
// returns the marker. A marker already there for the window is updated
// with the new attempt. Its state stays as it is, so a marker an operator
// resolved is not reopened by a later failure.
func (s *Store) MarkForReview(ctx context.Context, r Review) (Review, error) {
	if err := r.Subject.validate(); err != nil {
		return Review{}, err
	}
	if r.Subject.Scope == ScopeEstate {
		r.EstateID = r.Subject.ID
	}
	if r.Issues == nil {
		r.Issues = []ValidationIssue{}
	}

	repoID, projectID := r.Subject.columns()

	var id string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM report_reviews
			WHERE scope = ? AND `+r.Subject.column()+` = ? AND window_start = ? AND window_end = ?`),
			r.Subject.Scope, r.Subject.ID, store.NewTime(r.WindowStart), store.NewTime(r.WindowEnd))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id = store.NewID()
			_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO report_reviews (id, scope,
				repository_id, project_id, estate_id, window_start, window_end, model,
				attempt_count, validation_issues) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				id, r.Subject.Scope, repoID, projectID, nullString(r.EstateID),
				store.NewTime(r.WindowStart), store.NewTime(r.WindowEnd), nullString(r.Model),
				r.AttemptCount, store.NewJSON(r.Issues))
		case err == nil:
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE report_reviews SET model = ?,
				attempt_count = ?, validation_issues = ?, updated_at = ? WHERE id = ?`),
				nullString(r.Model), r.AttemptCount, store.NewJSON(r.Issues), store.Now(), id)
		}
		return store.Classify(err)
	})
	if err != nil {
		return Review{}, fmt.Errorf("mark %s report of %s for review: %w", r.Subject.Scope,
			r.Subject.ID, err)
	}
	return s.GetReview(ctx, id)
}

// GetReview returns the review marker with the id.
func (s *Store) GetReview(ctx context.Context, id string) (Review, error) {
	var row reviewRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+reviewColumns+`
		FROM report_reviews WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Review{}, fmt.Errorf("review %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Review{}, fmt.Errorf("read review %s: %w", id, store.Classify(err))
	}
	return row.review(), nil
}

// ReviewFilter selects review markers; zero fields select everything.
type ReviewFilter struct {
	State    ReviewState
	Scope    Scope
	EstateID string
}

// Reviews returns the markers the filter selects, newest first.
func (s *Store) Reviews(ctx context.Context, f ReviewFilter) ([]Review, error) {
	query := `SELECT ` + reviewColumns + ` FROM report_reviews WHERE 1 = 1`
	var args []any
	if f.State != "" {
		query += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Scope != "" {
		query += ` AND scope = ?`
		args = append(args, f.Scope)
	}
	if f.EstateID != "" {
		query += ` AND estate_id = ?`
		args = append(args, f.EstateID)
	}
	query += ` ORDER BY updated_at DESC, id DESC`

	var rows []reviewRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("read reviews: %w", store.Classify(err))
	}
	out := make([]Review, len(rows))
	for i := range rows {
		out[i] = rows[i].review()
	}
	return out, nil
}

// ErrAlreadyResolved reports an attempt to resolve a resolved review.
var ErrAlreadyResolved = errors.New("already resolved")

// ResolveReview marks a pending review as resolved with a note. A
// resolved review is left as it is, with ErrAlreadyResolved, so its
// first note and time stand.
func (s *Store) ResolveReview(ctx context.Context, id, note string) (Review, error) {
	now := store.Now()
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE report_reviews
		SET state = ?, resolved_at = ?, resolution_note = ?, updated_at = ?
		WHERE id = ? AND state = ?`), ReviewResolved, now, nullString(note), now, id, ReviewPending)
	if err != nil {
		return Review{}, fmt.Errorf("resolve review %s: %w", id, store.Classify(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		r, err := s.GetReview(ctx, id)
		if err != nil {
			return Review{}, err
		}
		return r, fmt.Errorf("review %s: %w", id, ErrAlreadyResolved)
	}
	return s.GetReview(ctx, id)
}

// ResolveWindow resolves the subject's pending review of the window, if
// there is one, as when a later run of the window passes validation.
func (s *Store) ResolveWindow(ctx context.Context, sub Subject, start, end time.Time, note string) error {
	now := store.Now()
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE report_reviews
		SET state = ?, resolved_at = ?, resolution_note = ?, updated_at = ?
		WHERE scope = ? AND `+sub.column()+` = ? AND window_start = ? AND window_end = ?
		AND state = ?`), ReviewResolved, now, note, now, sub.Scope, sub.ID,
		store.NewTime(start), store.NewTime(end), ReviewPending)
	if err != nil {
		return fmt.Errorf("resolve reviews of %s %s: %w", sub.Scope, sub.ID, store.Classify(err))
	}
	return nil
}

package gold

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

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
	ID      string
	Subject Subject

	// SubjectName names the subject as operators do: owner/name for a
	// repository, estate/project for a project and the key for an estate.
	// It is empty when the subject is gone. GetReview, Reviews and
	// ResolveReview fill it in.
	SubjectName string

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
	reviews := []Review{row.review()}
	if err := s.nameSubjects(ctx, reviews); err != nil {
		return Review{}, err
	}
	return reviews[0], nil
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
	if err := s.nameSubjects(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// SubjectName names a subject as Review.SubjectName does, or returns ""
// when it is gone.
func (s *Store) SubjectName(ctx context.Context, sub Subject) (string, error) {
	reviews := []Review{{Subject: sub}}
	if err := s.nameSubjects(ctx, reviews); err != nil {
		return "", err
	}
	return reviews[0].SubjectName, nil
}

// nameSubjects sets the SubjectName of each review. Estate keys come from
// the catalogue, which may be a database of its own, so each kind of
// subject takes one query.
func (s *Store) nameSubjects(ctx context.Context, reviews []Review) error {
	ids := map[Scope][]string{}
	for _, r := range reviews {
		ids[r.Subject.Scope] = append(ids[r.Subject.Scope], r.Subject.ID)
	}

	type named struct {
		ID       string `db:"id"`
		Name     string `db:"name"`
		EstateID string `db:"estate_id"`
	}
	read := func(db *store.DB, query string, ids []string) ([]named, error) {
		if len(ids) == 0 {
			return nil, nil
		}
		q, args, err := sqlx.In(query, ids)
		if err != nil {
			return nil, err
		}
		var rows []named
		if err := db.SelectContext(ctx, &rows, db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("read the names of review subjects: %w", store.Classify(err))
		}
		return rows, nil
	}

	names := map[Subject]string{}
	repos, err := read(s.db, `SELECT id, github_owner || '/' || github_name AS name, '' AS estate_id
		FROM repositories WHERE id IN (?)`, ids[ScopeRepository])
	if err != nil {
		return err
	}
	for _, r := range repos {
		names[Subject{Scope: ScopeRepository, ID: r.ID}] = r.Name
	}
	projects, err := read(s.db, `SELECT id, key AS name, coalesce(estate_id, '') AS estate_id
		FROM report_projects WHERE id IN (?)`, ids[ScopeProject])
	if err != nil {
		return err
	}

	estateIDs := ids[ScopeEstate]
	for _, p := range projects {
		estateIDs = append(estateIDs, p.EstateID)
	}
	estates, err := read(s.db.Catalogue(), `SELECT id, key AS name, '' AS estate_id FROM estates
		WHERE id IN (?)`, estateIDs)
	if err != nil {
		return err
	}
	estateKeys := map[string]string{}
	for _, e := range estates {
		estateKeys[e.ID] = e.Name
		names[Subject{Scope: ScopeEstate, ID: e.ID}] = e.Name
	}
	for _, p := range projects {
		name := p.Name
		if key := estateKeys[p.EstateID]; key != "" {
			name = key + "/" + p.Name
		}
		names[Subject{Scope: ScopeProject, ID: p.ID}] = name
	}

	for i := range reviews {
		reviews[i].SubjectName = names[reviews[i].Subject]
	}
	return nil
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

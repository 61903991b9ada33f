// Package runs records ingestion and report runs that a caller starts and
// then follows, such as a run of an estate's reports on background workers.
//
// A run is planned as units: one per repository, and for an estate's
// reports one more for the project and estate roll-ups. Workers record
// each unit once it has finished, and the run's state follows from the
// units: queued until a worker starts it, running until every planned
// unit has finished, then succeeded, partial or failed. Recording a unit
// twice keeps the first record, so a job that runs again after its worker
// died does not count twice.
package runs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Kind is the operation of a run: ingestion or reporting.
type Kind string

// The kinds of run.
const (
	KindIngestion Kind = "ingestion"
	KindReport    Kind = "report"
)

// Scope is the type of subject a run covers.
type Scope string

// The scopes of a run.
const (
	ScopeRepository Scope = "repository"
	ScopeEstate     Scope = "estate"

	// ScopeProject is the scope of a report run of one project, which
	// only the command line runs, in its own process.
	ScopeProject Scope = "project"
)

// State is the lifecycle state of a run.
type State string

// The states of a run. Queued and running are the only states that
// change.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StatePartial   State = "partial"
	StateFailed    State = "failed"
)

// Terminal reports whether the state is final.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StatePartial || s == StateFailed
}

// UnitState is the outcome of a finished unit.
type UnitState string

// The states of a finished unit. A skipped unit had nothing to do, such
// as a repository without events in its window; it counts as a success.
const (
	UnitSucceeded UnitState = "succeeded"
	UnitSkipped   UnitState = "skipped"
	UnitFailed    UnitState = "failed"
)

// ErrNotFound marks a run id that no run has.
var ErrNotFound = errors.New("run not found")

// Run is a run and its progress.
type Run struct {
	ID      string
	Kind    Kind
	Scope   Scope
	Subject string // owner/name, an estate key, or estate-key/project-key
	State   State

	// Total is the number of planned units, nil until the run is planned.
	Total *int

	Succeeded int
	Skipped   int
	Failed    int

	// Units lists the finished units, in the order they finished.
	Units []Unit

	// Error is the reason the run could not be planned, empty otherwise.
	Error string

	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time

	// HeartbeatAt is the last sign of life of the process that carries
	// out the run in its own process (see KeepAlive), nil for runs of the
	// background workers.
	HeartbeatAt *time.Time
}

// HeartbeatInterval is how often KeepAlive records that a run's process
// is alive, and StaleAfter how long after its last heartbeat an
// unfinished run counts as failed. StaleAfter spans several intervals,
// so that a heartbeat waiting for SQLite's write lock behind a long
// transaction of the same run does not fail it.
const (
	HeartbeatInterval = 30 * time.Second
	StaleAfter        = 3 * time.Minute
)

// Unit is a finished unit of a run.
type Unit struct {
	Name       string // owner/name, or RollupUnit
	State      UnitState
	Detail     string // the error of a failed unit, or why it was skipped
	FinishedAt time.Time
}

// RollupUnit names the unit of an estate report run that writes its
// project and estate reports.
const RollupUnit = "roll-up"

// Store keeps runs in the database.
type Store struct {
	db  *store.DB
	now func() time.Time
}

// New returns a Store of db, which must be migrated.
func New(db *store.DB) *Store {
	return &Store{db: db, now: time.Now}
}

// Create records a new queued run in tx, so that the run and the job that
// carries it out are stored together or not at all.
func (s *Store) Create(ctx context.Context, tx *store.Tx, kind Kind, scope Scope, subject string) (Run, error) {
	r := Run{ID: store.NewID(), Kind: kind, Scope: scope, Subject: subject, State: StateQueued,
		CreatedAt: s.now().UTC()}

	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO runs (id, kind, scope, subject, created_at)
		VALUES (?, ?, ?, ?, ?)`), r.ID, string(kind), string(scope), subject, store.NewTime(r.CreatedAt))
	if err != nil {
		return Run{}, fmt.Errorf("record %s run of %s: %w", kind, subject, store.Classify(err))
	}
	return r, nil
}

// Start marks the run started, unless it already is.
func (s *Store) Start(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE runs SET started_at = ?
		WHERE id = ? AND started_at IS NULL`), store.NewTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("start run %s: %w", id, store.Classify(err))
	}
	return nil
}

// Plan sets the number of units of the run in tx, which should also
// queue the jobs of those units, and reports whether it did. A run
// planned with no units has finished. A run planned before keeps its
// first plan, and Plan returns false, so a planning job that runs again
// after its worker died queues no second set of jobs.
func (s *Store) Plan(ctx context.Context, tx *store.Tx, id string, units int) (bool, error) {
	if units < 0 {
		return false, fmt.Errorf("plan run %s with %d units: the count cannot be negative", id, units)
	}

	// started_at is left to Start, so that a run planned when it is
	// created stays queued until a worker takes it. A run of no units
	// has finished.
	query := `UPDATE runs SET units_total = ? WHERE id = ? AND units_total IS NULL`
	args := []any{units, id}
	if units == 0 {
		now := store.NewTime(s.now())
		query = `UPDATE runs SET units_total = ?, started_at = coalesce(started_at, ?), finished_at = ?
			WHERE id = ? AND units_total IS NULL`
		args = []any{units, now, now, id}
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(query), args...)
	if err != nil {
		return false, fmt.Errorf("plan run %s: %w", id, store.Classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("plan run %s: %w", id, store.Classify(err))
	}
	return n == 1, nil
}

// Fail records why the run could not be planned. The run has failed.
func (s *Store) Fail(ctx context.Context, id string, cause error) error {
	now := store.NewTime(s.now())
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE runs
		SET error = ?, started_at = coalesce(started_at, ?), finished_at = coalesce(finished_at, ?)
		WHERE id = ?`), cause.Error(), now, now, id)
	if err != nil {
		return fmt.Errorf("record the failure of run %s: %w", id, store.Classify(err))
	}
	return nil
}

// KeepAlive records at once, and then every HeartbeatInterval until stop
// is called, that the calling process carries out the run. A run whose
// process dies without finishing it reads as failed StaleAfter after the
// last heartbeat, instead of running for good. A heartbeat that fails is
// tried again at the next interval.
func (s *Store) KeepAlive(ctx context.Context, id string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	beat := func() {
		_, _ = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE runs SET heartbeat_at = ?
			WHERE id = ? AND finished_at IS NULL`), store.NewTime(s.now()), id)
	}

	beat()
	go func() {
		defer close(done)
		ticker := time.NewTicker(HeartbeatInterval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				beat()
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// Progress is how far a run has come after Finish.
type Progress struct {
	// Recorded is false when the unit had been recorded before, and the
	// other fields are then zero: only the first record counts.
	Recorded bool

	Finished int // units finished, this one included
	Failed   int // units failed, this one included
	Total    int // planned units, or -1 before the run is planned
}

// Done reports whether the unit just recorded was the run's last.
func (p Progress) Done() bool { return p.Recorded && p.Finished == p.Total }

// Finish records a finished unit of the run in tx and returns the run's
// progress. A unit recorded before keeps its first record. tx holds a
// lock on the run until it ends, so units that finish at once are counted
// one after the other and exactly one caller sees the last finish.
func (s *Store) Finish(ctx context.Context, tx *store.Tx, id string, u Unit) (Progress, error) {
	if err := tx.Lock(ctx, "run:"+id); err != nil {
		return Progress{}, err
	}

	var total sql.NullInt64
	err := tx.GetContext(ctx, &total, tx.Rebind(`SELECT units_total FROM runs WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Progress{}, fmt.Errorf("finish unit %s of run %s: %w", u.Name, id, ErrNotFound)
	}
	if err != nil {
		return Progress{}, fmt.Errorf("finish unit %s of run %s: %w", u.Name, id, store.Classify(err))
	}

	if u.FinishedAt.IsZero() {
		u.FinishedAt = s.now()
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO run_units (run_id, unit, state, detail, finished_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, unit) DO NOTHING`),
		id, u.Name, string(u.State), nullable(u.Detail), store.NewTime(u.FinishedAt))
	if err != nil {
		return Progress{}, fmt.Errorf("finish unit %s of run %s: %w", u.Name, id, store.Classify(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return Progress{}, err
	}

	p := Progress{Recorded: true, Total: -1}
	if total.Valid {
		p.Total = int(total.Int64)
	}
	var counts struct {
		Finished int `db:"finished"`
		Failed   int `db:"failed"`
	}
	err = tx.GetContext(ctx, &counts, tx.Rebind(`SELECT count(*) AS finished,
		coalesce(sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed
		FROM run_units WHERE run_id = ?`), id)
	if err != nil {
		return Progress{}, fmt.Errorf("count the units of run %s: %w", id, store.Classify(err))
	}
	p.Finished, p.Failed = counts.Finished, counts.Failed
	if !p.Done() {
		return p, nil
	}

	_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE runs SET finished_at = ? WHERE id = ?`),
		store.NewTime(u.FinishedAt), id)
	if err != nil {
		return Progress{}, fmt.Errorf("finish run %s: %w", id, store.Classify(err))
	}
	return p, nil
}

// Unit returns a finished unit of the run, or nil when it has not
// finished.
func (s *Store) Unit(ctx context.Context, id, name string) (*Unit, error) {
	var row unitRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT unit, state, detail, finished_at
		FROM run_units WHERE run_id = ? AND unit = ?`), id, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read unit %s of run %s: %w", name, id, store.Classify(err))
	}
	u := row.unit()
	return &u, nil
}

// Get returns the run with its finished units. One statement reads both,
// so that a unit finishing at the same time shows with the run's
// finished_at, or not at all.
func (s *Store) Get(ctx context.Context, id string) (Run, error) {
	var rows []struct {
		runRow
		Unit           sql.NullString `db:"unit"`
		State          sql.NullString `db:"state"`
		Detail         sql.NullString `db:"detail"`
		UnitFinishedAt *store.Time    `db:"unit_finished_at"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT r.id, r.kind, r.scope, r.subject,
		r.units_total, r.error, r.created_at, r.started_at, r.finished_at, r.heartbeat_at,
		u.unit, u.state, u.detail, u.finished_at AS unit_finished_at
		FROM runs r LEFT JOIN run_units u ON u.run_id = r.id
		WHERE r.id = ? ORDER BY u.finished_at, u.unit`), id)
	if err != nil {
		return Run{}, fmt.Errorf("read run %s: %w", id, store.Classify(err))
	}
	if len(rows) == 0 {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}

	var units []unitRow
	for _, row := range rows {
		if !row.Unit.Valid {
			continue // a run without units yet
		}
		units = append(units, unitRow{Name: row.Unit.String, State: row.State.String,
			Detail: row.Detail, FinishedAt: *row.UnitFinishedAt})
	}
	return rows[0].runRow.run(units, s.now()), nil
}

type runRow struct {
	ID         string         `db:"id"`
	Kind       string         `db:"kind"`
	Scope      string         `db:"scope"`
	Subject    string         `db:"subject"`
	Total      sql.NullInt64  `db:"units_total"`
	Error      sql.NullString `db:"error"`
	CreatedAt  store.Time     `db:"created_at"`
	StartedAt  *store.Time    `db:"started_at"`
	FinishedAt *store.Time    `db:"finished_at"`
	Heartbeat  *store.Time    `db:"heartbeat_at"`
}

type unitRow struct {
	Name       string         `db:"unit"`
	State      string         `db:"state"`
	Detail     sql.NullString `db:"detail"`
	FinishedAt store.Time     `db:"finished_at"`
}

func (r unitRow) unit() Unit {
	return Unit{Name: r.Name, State: UnitState(r.State), Detail: r.Detail.String,
		FinishedAt: r.FinishedAt.Time}
}

// run builds the run of the row and its units as read at now.
func (r runRow) run(units []unitRow, now time.Time) Run {
	run := Run{ID: r.ID, Kind: Kind(r.Kind), Scope: Scope(r.Scope), Subject: r.Subject,
		Error: r.Error.String, CreatedAt: r.CreatedAt.Time}
	if r.Total.Valid {
		total := int(r.Total.Int64)
		run.Total = &total
	}
	if r.StartedAt != nil {
		run.StartedAt = &r.StartedAt.Time
	}
	if r.FinishedAt != nil {
		run.FinishedAt = &r.FinishedAt.Time
	}
	if r.Heartbeat != nil {
		run.HeartbeatAt = &r.Heartbeat.Time
	}

	for _, row := range units {
		u := row.unit()
		run.Units = append(run.Units, u)
		switch u.State {
		case UnitSucceeded:
			run.Succeeded++
		case UnitSkipped:
			run.Skipped++
		default:
			run.Failed++
		}
	}
	run.State = run.state()
	if !run.State.Terminal() && run.HeartbeatAt != nil && now.Sub(*run.HeartbeatAt) > StaleAfter {
		run.State = StateFailed
		run.Error = fmt.Sprintf("the process carrying out the run stopped without finishing it: "+
			"its last heartbeat was at %s, and it was killed or lost the database; run it again",
			run.HeartbeatAt.UTC().Format(time.RFC3339))
	}
	return run
}

// state derives the run's state from its plan and finished units.
func (r Run) state() State {
	switch {
	case r.Error != "":
		return StateFailed
	case r.Total == nil || len(r.Units) < *r.Total:
		if r.StartedAt == nil && len(r.Units) == 0 {
			return StateQueued
		}
		return StateRunning
	case r.Failed == 0:
		return StateSucceeded
	case r.Succeeded+r.Skipped == 0:
		return StateFailed
	}
	return StatePartial
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

package cli

import (
	"context"

	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/store"
)

// localRun is a run that the command carries out in its own process. It
// is recorded in the runs table like a run of the background workers, so
// that it prints the same and 'ghillie ingest status' or 'ghillie report
// status' show it afterwards.
type localRun struct {
	db    *store.DB
	store *runs.Store
	id    string

	// stop ends the heartbeats that tell readers the run's process is
	// alive.
	stop func()
}

// startLocalRun records a started run. units is its number of units, or
// -1 when the run is planned later with plan.
func startLocalRun(ctx context.Context, db *store.DB, kind runs.Kind, scope runs.Scope,
	subject string, units int) (*localRun, error) {
	r := &localRun{db: db, store: runs.New(db)}
	err := db.InTx(ctx, func(tx *store.Tx) error {
		run, err := r.store.Create(ctx, tx, kind, scope, subject)
		if err != nil {
			return err
		}
		r.id = run.ID
		if units < 0 {
			return nil
		}
		_, err = r.store.Plan(ctx, tx, run.ID, units)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := r.store.Start(ctx, r.id); err != nil {
		return nil, err
	}
	r.stop = r.store.KeepAlive(ctx, r.id)
	return r, nil
}

// close stops the run's heartbeats. A run that close leaves unfinished
// reads as failed after runs.StaleAfter.
func (r *localRun) close() { r.stop() }

// plan sets the number of units of a run started without one.
func (r *localRun) plan(ctx context.Context, units int) error {
	ctx = context.WithoutCancel(ctx)
	return r.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := r.store.Plan(ctx, tx, r.id, units)
		return err
	})
}

// fail records why the run could not be planned.
func (r *localRun) fail(ctx context.Context, cause error) error {
	return r.store.Fail(context.WithoutCancel(ctx), r.id, cause)
}

// finish records a finished unit. It records it also after an
// interruption, which the unit then names, so that the run is complete.
func (r *localRun) finish(ctx context.Context, u runs.Unit) error {
	ctx = context.WithoutCancel(ctx)
	return r.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := r.store.Finish(ctx, tx, r.id, u)
		return err
	})
}

// get reads the run with its finished units.
func (r *localRun) get(ctx context.Context) (runs.Run, error) {
	return r.store.Get(context.WithoutCancel(ctx), r.id)
}

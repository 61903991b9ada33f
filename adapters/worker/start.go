package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/store"
)

// startRun records a run and queues its first job in one transaction, so
// there is never a run without a job or a job without its run.
func (q *Queue) startRun(ctx context.Context, kind runs.Kind, scope runs.Scope, subject string,
	args func(runID string) river.JobArgs) (runs.Run, error) {
	var run runs.Run
	err := q.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = q.runs.Create(ctx, tx, kind, scope, subject); err != nil {
			return err
		}
		if scope == runs.ScopeRepository {
			// A repository run is one unit, planned from the start.
			if _, err := q.runs.Plan(ctx, tx, run.ID, 1); err != nil {
				return err
			}
		}
		return q.insertTx(ctx, tx, args(run.ID))
	})
	if err != nil {
		return runs.Run{}, err
	}
	return q.runs.Get(ctx, run.ID)
}

// StartIngestion queues an ingestion run of one repository ("owner/name",
// with ScopeRepository) or of an estate's repositories with ingestion
// enabled (an estate key, with ScopeEstate), and returns the queued run.
// The non-zero fields of limits replace the worker's settings for this
// run only, and the lookback must be whole days. An unknown repository or
// estate is an error wrapping the registry's not-found errors, and a
// repository whose ingestion is disabled one wrapping
// registry.ErrIngestionDisabled; nothing is queued then.
func (q *Queue) StartIngestion(ctx context.Context, scope runs.Scope, subject string,
	limits ingest.Limits) (runs.Run, error) {
	l, err := ingestLimits(limits)
	if err != nil {
		return runs.Run{}, err
	}

	switch scope {
	case runs.ScopeRepository:
		repo, err := q.registry.GetBySlug(ctx, subject)
		if err != nil {
			return runs.Run{}, err
		}
		if !repo.IngestionEnabled {
			return runs.Run{}, registry.DisabledError(repo)
		}
		return q.startRun(ctx, runs.KindIngestion, scope, repo.Slug(), func(id string) river.JobArgs {
			return IngestRepositoryArgs{RunID: id, Owner: repo.Owner, Name: repo.Name,
				IngestLimits: l}
		})
	case runs.ScopeEstate:
		if _, err := q.estateID(ctx, subject); err != nil {
			return runs.Run{}, errors.Unwrap(err)
		}
		return q.startRun(ctx, runs.KindIngestion, scope, subject, func(id string) river.JobArgs {
			return IngestEstateArgs{RunID: id, EstateKey: subject, IngestLimits: l}
		})
	}
	return runs.Run{}, fmt.Errorf("invalid run scope %q: use %q or %q", scope,
		runs.ScopeRepository, runs.ScopeEstate)
}

// StartReports queues a report run of one repository or of an estate, the
// estate's projects and the estate itself, and returns the queued run.
// Its windows end at opts.AsOf (the current time when zero), and a first
// window is opts.WindowDays long when set. The run cannot take an
// explicit window, because an estate's reports each start where their
// last report ended. An AsOf in the future or a WindowDays out of range
// is an error wrapping reporting.ErrWindow.
func (q *Queue) StartReports(ctx context.Context, scope runs.Scope, subject string,
	opts reporting.RunOptions) (runs.Run, error) {
	if !opts.Start.IsZero() || !opts.End.IsZero() {
		return runs.Run{}, errors.New("a queued report run takes no explicit window: " +
			"set only AsOf and WindowDays")
	}
	days := opts.WindowDays
	if days < 0 || days > reporting.MaxWindowDays {
		return runs.Run{}, fmt.Errorf("%w: a first window of %d days: use 1 to %d",
			reporting.ErrWindow, days, reporting.MaxWindowDays)
	}
	asOf := opts.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	asOf = asOf.UTC()
	if asOf.After(time.Now().Add(reporting.MaxClockSkew)) {
		return runs.Run{}, fmt.Errorf("%w: as of %s is in the future: choose a time that has passed",
			reporting.ErrWindow, asOf.Format(time.RFC3339))
	}

	switch scope {
	case runs.ScopeRepository:
		repo, err := q.registry.GetBySlug(ctx, subject)
		if err != nil {
			return runs.Run{}, err
		}
		return q.startRun(ctx, runs.KindReport, scope, repo.Slug(), func(id string) river.JobArgs {
			return ReportRepositoryArgs{RunID: id, RepositoryID: repo.ID, Slug: repo.Slug(),
				AsOf: asOf, WindowDays: days}
		})
	case runs.ScopeEstate:
		if _, err := q.estateID(ctx, subject); err != nil {
			return runs.Run{}, errors.Unwrap(err)
		}
		return q.startRun(ctx, runs.KindReport, scope, subject, func(id string) river.JobArgs {
			return ReportEstateArgs{RunID: id, EstateKey: subject, AsOf: asOf, WindowDays: days}
		})
	}
	return runs.Run{}, fmt.Errorf("invalid run scope %q: use %q or %q", scope,
		runs.ScopeRepository, runs.ScopeEstate)
}

// ImportCatalogue queues a catalogue import and returns the job's id.
func (q *Queue) ImportCatalogue(ctx context.Context, args ImportCatalogueArgs) (int64, error) {
	if args.EstateKey == "" || (args.Path == "" && args.Checkout == "") {
		return 0, errors.New("queue a catalogue import: set the estate key and a path or a checkout")
	}
	res, err := q.client.Insert(ctx, args, nil)
	if err != nil {
		return 0, fmt.Errorf("queue the catalogue import of estate %s: %w", args.EstateKey, err)
	}
	return res.Job.ID, nil
}

// Transform queues a transform of the pending raw events, unless one is
// already waiting to start.
func (q *Queue) Transform(ctx context.Context) error {
	return q.db.InTx(ctx, func(tx *store.Tx) error { return q.queueTransform(ctx, tx) })
}

// ingestLimits returns the job form of a run's ingestion limits.
func ingestLimits(l ingest.Limits) (IngestLimits, error) {
	if err := l.Validate(); err != nil {
		return IngestLimits{}, err
	}
	const day = 24 * time.Hour
	if l.InitialLookback%day != 0 {
		return IngestLimits{}, fmt.Errorf("invalid initial lookback %s: use whole days",
			l.InitialLookback)
	}
	return IngestLimits{LookbackDays: int(l.InitialLookback / day),
		MaxEventsPerKind: l.MaxEventsPerKind}, nil
}

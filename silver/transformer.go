package silver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ghillie/ghillie/store"
)

// DefaultBatchSize is the number of raw events that a Transformer claims,
// transforms and commits in one transaction when BatchSize is not set.
// Each commit rewrites the index and entity pages that its events touch,
// so larger batches write less: in BenchmarkTransform, going from 500 to
// 2,000 raised the rate by about a fifth on both databases (see
// docs/benchmarks.md). A batch keeps its events' payloads in memory, so
// memory grows with the batch size, not with the backlog.
const DefaultBatchSize = 2000

// DefaultWorkers is the number of batches that ProcessPending transforms
// at once when Workers is not set. One batch at a time applies events in
// id order, so a run's result does not depend on timing (see Workers).
const DefaultWorkers = 1

// maxBatchAttempts bounds how often a batch that lost a race with another
// transaction (a deadlock, or SQLite's busy timeout running out) is run
// again before the error is returned.
const maxBatchAttempts = 3

// Transformer turns Bronze raw events into Silver rows. It is safe for
// concurrent use, and several transformers, in one process or many, may
// work on the same database: each raw event is claimed by one of them.
type Transformer struct {
	// BatchSize bounds the raw events claimed, transformed and committed
	// in one transaction, and so the memory and the work lost to an
	// error. Zero or less means DefaultBatchSize. Set it before use.
	BatchSize int

	// Workers is how many batches ProcessPending transforms at once on
	// PostgreSQL, each in a transaction and connection of its own. Zero
	// or less means DefaultWorkers. SQLite runs one transaction at a
	// time, so there ProcessPending always runs one batch at a time. Set
	// it before use.
	//
	// Two workers raised BenchmarkTransform's rate on two cores by about
	// a third, because the transformer's own work then overlaps the
	// server's (see docs/benchmarks.md). The price is order: batches
	// commit in any order, so where one batch would apply events in id
	// order, several settle some outcomes by timing. Of two commit events
	// of one commit with different fields, or two default branches
	// reported at the same time, the one committed last wins. Of two
	// events that clash (the same pull request in two repositories),
	// either may be the one that fails. Several transformer processes
	// behave the same.
	Workers int

	db     *store.DB
	logger *slog.Logger
	now    func() time.Time
}

// NewTransformer returns a transformer for db, which must be migrated. A
// nil logger means silent.
func NewTransformer(db *store.DB, logger *slog.Logger) *Transformer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Transformer{db: db, logger: logger, now: time.Now}
}

// Result counts the raw events of a run by outcome. Every handled event
// is in exactly one count.
type Result struct {
	// Processed counts events of the four entity types whose rows were
	// stored. Their raw events are marked processed.
	Processed int

	// Failed counts events marked failed.
	Failed int

	// Skipped counts events of other types, which have no entity rows.
	// They get an event fact and are marked processed too.
	Skipped int
}

// total returns the number of events handled.
func (r Result) total() int { return r.Processed + r.Failed + r.Skipped }

func (r *Result) add(other Result) {
	r.Processed += other.Processed
	r.Failed += other.Failed
	r.Skipped += other.Skipped
}

func (t *Transformer) workers() int {
	switch {
	case t.db.Dialect() != store.Postgres:
		return 1
	case t.Workers <= 0:
		return DefaultWorkers
	}
	return t.Workers
}

func (t *Transformer) batchSize() int {
	if t.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return t.BatchSize
}

// ProcessPending transforms pending raw events, at most limit of them,
// or, when limit is 0, until none is left. Batches are claimed in id
// order, and on PostgreSQL Workers of them run at once, each in its own
// transaction. Each batch commits on its own. On an error ProcessPending
// claims no further batch, waits for the batches under way and returns
// the counts of those that committed. The events of the batch that failed
// stay pending. Failed events are not pending and are not retried: see
// ProcessIDs.
func (t *Transformer) ProcessPending(ctx context.Context, limit int) (Result, error) {
	if limit < 0 {
		return Result{}, fmt.Errorf(
			"process pending raw events: limit %d is negative: use 0 for no limit", limit)
	}

	started := time.Now()
	run := &pendingRun{limit: limit, batchSize: t.batchSize()}
	var wg sync.WaitGroup
	for range t.workers() {
		wg.Go(func() { t.drain(ctx, run) })
	}
	wg.Wait()
	if run.err != nil {
		return run.total, fmt.Errorf("process pending raw events: %w", run.err)
	}

	if err := t.analyze(ctx, run.total); err != nil {
		return run.total, err
	}
	t.logCompleted(ctx, "pending", run.total, time.Since(started))
	return run.total, nil
}

// drain runs batches of pending events until the run is over.
func (t *Transformer) drain(ctx context.Context, run *pendingRun) {
	for {
		size := run.reserve()
		if size == 0 {
			return
		}
		result, claimed, err := t.runBatch(ctx, func(tx *store.Tx) ([]rawEvent, error) {
			return claimPending(ctx, tx, size)
		})
		run.finish(size, claimed, result, err)
	}
}

// pendingRun shares one ProcessPending run among its workers: how many
// events they may still claim, the counts of committed batches and the
// first error.
type pendingRun struct {
	limit, batchSize int

	mu       sync.Mutex
	reserved int // events claimed, or being claimed, by batches
	stopped  bool
	total    Result
	err      error
}

// reserve returns the size of the next batch to claim, or 0 when the run
// is over.
func (r *pendingRun) reserve() int {
	r.mu.Lock()
	defer r.mu.Unlock()

	if r.stopped {
		return 0
	}
	size := r.batchSize
	if r.limit > 0 {
		size = min(size, r.limit-r.reserved)
	}
	r.reserved += size
	return size
}

// finish records a batch that reserved size events and claimed claimed.
// A batch that claimed fewer events than it asked for found no other
// unclaimed pending event, so the run ends. On PostgreSQL, events that
// another transformer holds are that transformer's to finish.
func (r *pendingRun) finish(size, claimed int, result Result, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.total.add(result)
	r.reserved -= size - claimed
	if err != nil && r.err == nil {
		r.err = err
	}
	if err != nil || claimed < size {
		r.stopped = true
	}
}

// analyzeThreshold is the number of new event facts after which a run
// refreshes PostgreSQL's statistics of the tables it wrote.
const analyzeThreshold = 1000

// analyzeColumns are the columns of the Silver tables that reports
// filter, join or sort on. ANALYZE reads only these, because no query
// filters on payloads, messages or metadata, and those took two fifths of
// its time (150 ms for all columns, 90 ms for these, in BenchmarkTransform).
const analyzeColumns = `event_facts (raw_event_id, repo_external_id, event_type, occurred_at,
		entity_sha, entity_id, entity_path),
	commits (repo_id, sha, committed_at),
	pull_requests (id, repo_id, number, state),
	issues (id, repo_id, number, state),
	documentation_changes (repo_id, commit_sha, path, occurred_at)`

// analyze refreshes PostgreSQL's statistics of the Silver tables after a
// run that added at least as many facts as event_facts held when it was
// last analyzed, so at least doubled it. Until autovacuum gets to them,
// the planner would take the new rows for a few and choose plans that,
// measured on a repository window of 1,000 commits, built its bundle in
// 700 ms instead of 7 ms. A smaller run leaves the statistics to
// autovacuum: the planner scales its row estimates by the tables' sizes
// on disk, so what it has learnt stays good enough until then, and
// ANALYZE took a sixth of a round of BenchmarkTransform. SQLite's planner
// needs no statistics here.
func (t *Transformer) analyze(ctx context.Context, r Result) error {
	added := r.Processed + r.Skipped // failed events add no fact
	if t.db.Dialect() != store.Postgres || added < analyzeThreshold {
		return nil
	}

	// reltuples is the row count that VACUUM or ANALYZE last found
	// (from PostgreSQL 14, -1 when neither has run). A table that was
	// empty then is one the planner takes for nearly empty.
	var rows float64
	err := t.db.GetContext(ctx, &rows,
		"SELECT reltuples FROM pg_class WHERE oid = to_regclass('event_facts')")
	if err != nil {
		return fmt.Errorf("read the row estimate of event_facts: %w", store.Classify(err))
	}
	if float64(added) < rows {
		return nil
	}

	if _, err := t.db.ExecContext(ctx, "ANALYZE "+analyzeColumns); err != nil {
		return fmt.Errorf("refresh the statistics of the Silver tables: %w", store.Classify(err))
	}
	return nil
}

// ProcessIDs transforms the raw events with the given ids, in id order,
// whatever their state: pending, processed or failed. Unknown ids are
// ignored. Events are claimed and committed in batches of BatchSize, as
// in ProcessPending. An empty list returns a zero Result without touching
// the database.
func (t *Transformer) ProcessIDs(ctx context.Context, ids []int64) (Result, error) {
	if len(ids) == 0 {
		return Result{}, nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)

	started := time.Now()
	var total Result
	for _, chunk := range chunks(sorted, t.batchSize()) {
		result, _, err := t.runBatch(ctx, func(tx *store.Tx) ([]rawEvent, error) {
			return claimIDs(ctx, tx, chunk)
		})
		total.add(result)
		if err != nil {
			return total, fmt.Errorf("process raw events %d to %d: %w", chunk[0], chunk[len(chunk)-1], err)
		}
	}

	t.logCompleted(ctx, "ids", total, time.Since(started))
	return total, nil
}

// runBatch claims raw events with claim and transforms them in one
// transaction. A transaction that lost a race with another one is rolled
// back and run again, up to maxBatchAttempts times in all. It returns the
// counts and the number of events claimed.
func (t *Transformer) runBatch(ctx context.Context, claim func(tx *store.Tx) ([]rawEvent, error),
) (Result, int, error) {
	for attempt := 1; ; attempt++ {
		var outcome batchOutcome
		started := time.Now()
		err := t.db.InTx(ctx, func(tx *store.Tx) error {
			raws, err := claim(tx)
			if err != nil {
				return err
			}
			outcome, err = t.transformBatch(ctx, tx, raws)
			return err
		})
		if err == nil {
			t.logBatch(ctx, outcome, time.Since(started))
			return outcome.result, len(outcome.events), nil
		}

		if !errors.Is(err, store.ErrConflict) || attempt == maxBatchAttempts || ctx.Err() != nil {
			return Result{}, 0, err
		}
		t.logger.LogAttrs(ctx, slog.LevelWarn, "silver.transform.batch_retried",
			slog.Int("attempt", attempt), slog.Any("err", err))

		// Back off so the transaction that won has time to finish.
		select {
		case <-ctx.Done():
			return Result{}, 0, ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

// logBatch logs each failed event of a committed batch and the batch's
// counts.
func (t *Transformer) logBatch(ctx context.Context, outcome batchOutcome, elapsed time.Duration) {
	for _, ev := range outcome.events {
		if ev.failure == nil {
			continue
		}
		t.logger.LogAttrs(ctx, slog.LevelWarn, "silver.transform.event_failed",
			slog.Int64("raw_event_id", ev.raw.id),
			slog.String("event_type", ev.raw.eventType),
			slog.String("reason", string(ev.failure.reason)),
			slog.String("err", ev.failure.Error()))
	}
	if len(outcome.events) == 0 {
		return
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "silver.transform.batch_completed",
		slog.Int("claimed", len(outcome.events)),
		slog.Int("processed", outcome.result.Processed),
		slog.Int("failed", outcome.result.Failed),
		slog.Int("skipped", outcome.result.Skipped),
		slog.Bool("one_by_one", outcome.oneByOne),
		slog.Duration("duration", elapsed))
}

func (t *Transformer) logCompleted(ctx context.Context, mode string, total Result, elapsed time.Duration) {
	if total.total() == 0 {
		return
	}
	t.logger.LogAttrs(ctx, slog.LevelInfo, "silver.transform.completed",
		slog.String("mode", mode),
		slog.Int("processed", total.Processed),
		slog.Int("failed", total.Failed),
		slog.Int("skipped", total.Skipped),
		slog.Duration("duration", elapsed))
}

package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/store"
)

// permanent marks an error that another attempt would meet again, such as
// a missing setting or an unknown repository: the job is given up at once.
type permanent struct{ err error }

func (e permanent) Error() string { return e.err.Error() }
func (e permanent) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// workers registers the worker of every job kind.
func (q *Queue) workers() (*river.Workers, error) {
	ws := river.NewWorkers()
	for _, add := range []func(*river.Workers) error{
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &importWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &ingestWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &ingestEstateWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &transformWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &reportWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &reportEstateWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &rollupWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &scheduledIngestWorker{q: q}) },
		func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &scheduledReportsWorker{q: q}) },
	} {
		if err := add(ws); err != nil {
			return nil, fmt.Errorf("register job workers: %w", err)
		}
	}
	return ws, nil
}

// unit runs the work of one unit of a run and records its outcome once
// it is final: on success, on a permanent error, or on the job's last
// attempt. then, when set, runs in the transaction that records the
// outcome, with the run's progress.
func (q *Queue) unit(ctx context.Context, job *rivertype.JobRow, runID, name string,
	work func(ctx context.Context) (runs.UnitState, string, error),
	then func(ctx context.Context, tx *store.Tx, p runs.Progress) error) error {
	if err := q.runs.Start(ctx, runID); err != nil {
		return err
	}

	state, detail, err := work(ctx)
	if err != nil {
		final := isPermanent(err) || job.Attempt >= job.MaxAttempts
		if !final {
			return err
		}
		state, detail = runs.UnitFailed, err.Error()
	}

	ferr := q.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := q.runs.Finish(ctx, tx, runID, runs.Unit{Name: name, State: state, Detail: detail})
		if err != nil || then == nil || !p.Recorded {
			return err
		}
		return then(ctx, tx, p)
	})
	switch {
	case ferr != nil:
		return ferr
	case isPermanent(err):
		return q.giveUp(ctx, job, err)
	}
	return err
}

// giveUp logs a job's error that another attempt would meet again and
// returns the error that makes River cancel the job instead of retrying
// it. River's error handler is not called for such errors.
func (q *Queue) giveUp(ctx context.Context, job *rivertype.JobRow, err error) error {
	q.log.ErrorContext(ctx, "worker.job.given_up", "kind", job.Kind, "job_id", job.ID,
		"attempt", job.Attempt, "err", err)
	return river.JobCancel(err)
}

// plan runs the planning of a fan-out job and records the run as failed
// when planning fails for good.
func (q *Queue) plan(ctx context.Context, job *rivertype.JobRow, runID string,
	fn func(ctx context.Context) error) error {
	if err := q.runs.Start(ctx, runID); err != nil {
		return err
	}

	err := fn(ctx)
	if err == nil {
		return nil
	}
	if isPermanent(err) || job.Attempt >= job.MaxAttempts {
		if ferr := q.runs.Fail(ctx, runID, err); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	if isPermanent(err) {
		return q.giveUp(ctx, job, err)
	}
	return err
}

// insertTx queues a job in tx.
func (q *Queue) insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs) error {
	if _, err := q.client.InsertTx(ctx, tx.Tx.Tx, args, nil); err != nil {
		return fmt.Errorf("queue a %s job: %w", args.Kind(), err)
	}
	return nil
}

// estateID returns the id of the estate with the key.
func (q *Queue) estateID(ctx context.Context, key string) (string, error) {
	var id string
	cat := q.db.Catalogue()
	err := cat.GetContext(ctx, &id, cat.Rebind(`SELECT id FROM estates WHERE key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", permanent{fmt.Errorf("estate %q not found: import its catalogue with "+
			"'ghillie estate import' first: %w", key, registry.ErrEstateNotFound)}
	}
	if err != nil {
		return "", fmt.Errorf("find estate %q: %w", key, store.Classify(err))
	}
	return id, nil
}

// activeRepositories lists the estate's repositories with ingestion
// enabled, in owner and name order.
func (q *Queue) activeRepositories(ctx context.Context, key string) ([]registry.Repository, error) {
	on := true
	repos, err := q.registry.List(ctx, registry.ListOptions{EstateKey: key, Ingestion: &on})
	if errors.Is(err, registry.ErrEstateNotFound) {
		return nil, permanent{err}
	}
	return repos, err
}

type importWorker struct {
	river.WorkerDefaults[ImportCatalogueArgs]
	q *Queue
}

func (w *importWorker) Work(ctx context.Context, job *river.Job[ImportCatalogueArgs]) error {
	a := job.Args
	estate := catalogue.Estate{Key: a.EstateKey, Name: a.EstateName}

	var (
		res catalogue.ImportResult
		err error
	)
	if a.Checkout != "" {
		res, err = w.importCommit(ctx, estate, a)
	} else {
		res, err = w.q.importer.ImportFile(ctx, estate, a.Path, a.CommitSHA)
	}
	var invalid *catalogue.ValidationError
	if errors.As(err, &invalid) || isPermanent(err) {
		return w.q.giveUp(ctx, job.JobRow, err)
	}
	if err != nil {
		return err
	}
	w.q.log.InfoContext(ctx, "worker.catalogue.imported", "estate_key", a.EstateKey,
		"commit_sha", res.CommitSHA, "job_id", job.ID)

	if !a.Sync {
		return nil
	}
	if _, err := w.q.registry.Sync(ctx, a.EstateKey); err != nil {
		return fmt.Errorf("sync the repositories of estate %s: %w", a.EstateKey, err)
	}
	return nil
}

// importCommit imports the catalogue file at the commit that the branch
// of a checkout names.
func (w *importWorker) importCommit(ctx context.Context, estate catalogue.Estate,
	a ImportCatalogueArgs) (catalogue.ImportResult, error) {
	commit := a.CommitSHA
	if commit == "" {
		var err error
		if commit, err = headOf(ctx, a.Checkout, a.Branch); err != nil {
			return catalogue.ImportResult{}, err
		}
	}
	// The commit's content cannot change, so a file missing from it stays
	// missing: the watcher queues the next commit instead.
	data, err := git(ctx, a.Checkout, "show", commit+":"+a.File)
	if err != nil {
		return catalogue.ImportResult{}, permanent{fmt.Errorf("read %s at commit %s of %s: %w",
			a.File, commit, a.Checkout, err)}
	}
	c, err := catalogue.Parse(a.File+"@"+commit, []byte(data))
	if err != nil {
		return catalogue.ImportResult{}, err
	}
	if err := catalogue.Validate(c); err != nil {
		return catalogue.ImportResult{}, err
	}
	return w.q.importer.Import(ctx, estate, c, commit)
}

// git runs git in dir and returns its standard output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return "", fmt.Errorf("git %s: %s: %w", strings.Join(args, " "), msg, err)
	}
	return string(out), nil
}

// headOf returns the commit that a branch of the checkout names.
func headOf(ctx context.Context, checkout, branch string) (string, error) {
	out, err := git(ctx, checkout, "rev-parse", "--verify", "--quiet", branch+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("find branch %q in the catalogue checkout %s: %w", branch, checkout, err)
	}
	return strings.TrimSpace(out), nil
}

type ingestWorker struct {
	river.WorkerDefaults[IngestRepositoryArgs]
	q *Queue
}

func (w *ingestWorker) Work(ctx context.Context, job *river.Job[IngestRepositoryArgs]) error {
	a := job.Args
	slug := a.Owner + "/" + a.Name
	var res ingest.Result

	work := func(ctx context.Context) (runs.UnitState, string, error) {
		if w.q.ingester == nil {
			return "", "", permanent{errors.New("no GitHub access is configured: set " +
				"GHILLIE_GITHUB_TOKEN or the GHILLIE_GITHUB_APP_* settings for the worker")}
		}
		repo, err := w.q.registry.Get(ctx, a.Owner, a.Name)
		if errors.Is(err, registry.ErrRepositoryNotFound) {
			return "", "", permanent{err}
		}
		if err != nil {
			return "", "", err
		}
		if !repo.IngestionEnabled {
			return runs.UnitSkipped, "ingestion is disabled", nil
		}

		ingester := w.q.ingester
		if a.IngestLimits != (IngestLimits{}) {
			// This run's own limits, which its request checked.
			if ingester, err = ingester.WithLimits(a.limits()); err != nil {
				return "", "", permanent{err}
			}
		}
		res, err = ingester.IngestRepository(ctx, repo)
		if err != nil {
			if permanentIngestion(err) {
				return "", "", permanent{err}
			}
			return "", "", err
		}
		u := runs.Ingested(slug, res)
		return u.State, u.Detail, nil
	}

	// New events wait in Bronze until a transform refines them.
	then := func(ctx context.Context, tx *store.Tx, p runs.Progress) error {
		if res.Total() == 0 {
			return nil
		}
		return w.q.queueTransform(ctx, tx)
	}
	return w.q.unit(ctx, job.JobRow, a.RunID, slug, work, then)
}

// permanentIngestion reports whether another attempt to ingest would
// meet err again: settings that GitHub or the worker rejected, a
// repository GitHub does not have, a GraphQL error other than a rate
// limit, or a response of an unexpected shape. Rate limits, server
// errors and network failures stay retryable.
func permanentIngestion(err error) bool {
	switch ingest.Categorize(err) {
	case ingest.CategoryConfiguration, ingest.CategorySchemaDrift:
		return true
	}
	if errors.Is(err, ingest.ErrNotFound) {
		return true
	}

	var apiErr *ingest.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.Status {
	case 0:
		return apiErr.Type != "RATE_LIMITED"
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusGone,
		http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// queueTransform queues a transform in tx unless one is waiting to
// start, which will claim these events too. River's unique jobs cannot
// express this: they also count a running job, which may have claimed
// its last batch before these events were committed.
func (q *Queue) queueTransform(ctx context.Context, tx *store.Tx) error {
	var waiting []int
	err := tx.SelectContext(ctx, &waiting, tx.Rebind(`SELECT 1 FROM river_job
		WHERE kind = ? AND state IN ('available', 'pending', 'retryable', 'scheduled') LIMIT 1`),
		KindTransform)
	if err != nil {
		return fmt.Errorf("look for a waiting transform job: %w", store.Classify(err))
	}
	if len(waiting) > 0 {
		return nil
	}
	return q.insertTx(ctx, tx, TransformArgs{})
}

type ingestEstateWorker struct {
	river.WorkerDefaults[IngestEstateArgs]
	q *Queue
}

func (w *ingestEstateWorker) Work(ctx context.Context, job *river.Job[IngestEstateArgs]) error {
	a := job.Args
	return w.q.plan(ctx, job.JobRow, a.RunID, func(ctx context.Context) error {
		repos, err := w.q.activeRepositories(ctx, a.EstateKey)
		if err != nil {
			return err
		}
		return w.q.db.InTx(ctx, func(tx *store.Tx) error {
			planned, err := w.q.runs.Plan(ctx, tx, a.RunID, len(repos))
			if err != nil || !planned {
				return err
			}
			for _, r := range repos {
				args := IngestRepositoryArgs{RunID: a.RunID, Owner: r.Owner, Name: r.Name,
					IngestLimits: a.IngestLimits}
				if err := w.q.insertTx(ctx, tx, args); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

type transformWorker struct {
	river.WorkerDefaults[TransformArgs]
	q *Queue
}

func (w *transformWorker) Work(ctx context.Context, job *river.Job[TransformArgs]) error {
	res, err := w.q.transformer.ProcessPending(ctx, 0)
	if err != nil {
		return err
	}
	w.q.log.InfoContext(ctx, "worker.transform.completed", "processed", res.Processed,
		"failed", res.Failed, "skipped", res.Skipped, "job_id", job.ID)
	return nil
}

type reportWorker struct {
	river.WorkerDefaults[ReportRepositoryArgs]
	q *Queue
}

// reportPermanent marks the report errors that another attempt cannot
// change: a window marked for review, and a window that cannot be
// reported.
func reportPermanent(err error) error {
	var invalid *reporting.ValidationError
	if errors.As(err, &invalid) || errors.Is(err, reporting.ErrWindow) || errors.Is(err, gold.ErrOverlap) {
		return permanent{err}
	}
	return err
}

func (w *reportWorker) Work(ctx context.Context, job *river.Job[ReportRepositoryArgs]) error {
	a := job.Args
	work := func(ctx context.Context) (runs.UnitState, string, error) {
		if w.q.reports == nil {
			return "", "", permanent{errNoModel}
		}
		opts := reporting.RunOptions{AsOf: a.AsOf, WindowDays: a.WindowDays}
		out, err := w.q.reports.RunRepository(ctx, a.RepositoryID, opts)
		if err != nil {
			return "", "", reportPermanent(err)
		}
		u := runs.Reported(a.Slug, out)
		return u.State, u.Detail, nil
	}
	return w.q.unit(ctx, job.JobRow, a.RunID, a.Slug, work, w.rollup(a))
}

var errNoModel = errors.New("no status model is configured: set GHILLIE_STATUS_MODEL_BACKEND " +
	"for the worker")

// rollup queues the roll-up of an estate run after its last repository
// report, or records it as not run when a repository report failed: a
// roll-up of partial evidence would stand for its window for good.
func (w *reportWorker) rollup(a ReportRepositoryArgs) func(context.Context, *store.Tx, runs.Progress) error {
	if a.EstateID == "" {
		return nil
	}
	return func(ctx context.Context, tx *store.Tx, p runs.Progress) error {
		if p.Finished != p.Total-1 {
			return nil
		}
		rollup := ReportRollupArgs{RunID: a.RunID, EstateID: a.EstateID, AsOf: a.AsOf,
			WindowDays: a.WindowDays}
		return w.q.startRollup(ctx, tx, rollup, p.Failed)
	}
}

// startRollup queues the roll-up job of an estate report run, or, when
// failed repository reports make it pointless, records it as failed.
func (q *Queue) startRollup(ctx context.Context, tx *store.Tx, args ReportRollupArgs,
	failed int) error {
	if failed == 0 {
		return q.insertTx(ctx, tx, args)
	}
	_, err := q.runs.Finish(ctx, tx, args.RunID, runs.RollupNotRun(failed))
	return err
}

type reportEstateWorker struct {
	river.WorkerDefaults[ReportEstateArgs]
	q *Queue
}

func (w *reportEstateWorker) Work(ctx context.Context, job *river.Job[ReportEstateArgs]) error {
	a := job.Args
	return w.q.plan(ctx, job.JobRow, a.RunID, func(ctx context.Context) error {
		if w.q.reports == nil {
			return permanent{errNoModel}
		}
		estateID, err := w.q.estateID(ctx, a.EstateKey)
		if err != nil {
			return err
		}
		repos, err := w.q.activeRepositories(ctx, a.EstateKey)
		if err != nil {
			return err
		}

		// Repositories without events are recorded as skipped here rather
		// than queued, so the run does not wait on jobs that do nothing.
		type skip struct{ slug, why string }
		var queue []registry.Repository
		var skips []skip
		invalid := 0
		opts := reporting.RunOptions{AsOf: a.AsOf, WindowDays: a.WindowDays}
		for _, r := range repos {
			has, err := w.q.reports.HasEvents(ctx, r.ID, opts)
			switch {
			case errors.Is(err, reporting.ErrWindow):
				invalid++
				skips = append(skips, skip{r.Slug(), err.Error()})
			case err != nil:
				return err
			case has:
				queue = append(queue, r)
			default:
				skips = append(skips, skip{r.Slug(), runs.DetailNoEvents})
			}
		}

		return w.q.db.InTx(ctx, func(tx *store.Tx) error {
			planned, err := w.q.runs.Plan(ctx, tx, a.RunID, len(repos)+1)
			if err != nil || !planned {
				return err
			}
			// When no repository has a window to report, the run's as_of
			// is wrong, not the repositories, and the run fails as a local
			// one does.
			allInvalid := invalid > 0 && invalid == len(repos)
			state := runs.UnitSkipped
			if allInvalid {
				state = runs.UnitFailed
			}
			for _, s := range skips {
				u := runs.Unit{Name: s.slug, State: state, Detail: s.why}
				if _, err := w.q.runs.Finish(ctx, tx, a.RunID, u); err != nil {
					return err
				}
			}
			if allInvalid {
				_, err := w.q.runs.Finish(ctx, tx, a.RunID, runs.RollupNotRun(invalid))
				return err
			}
			for _, r := range queue {
				args := ReportRepositoryArgs{RunID: a.RunID, RepositoryID: r.ID, Slug: r.Slug(),
					AsOf: a.AsOf, WindowDays: a.WindowDays, EstateID: estateID}
				if err := w.q.insertTx(ctx, tx, args); err != nil {
					return err
				}
			}
			if len(queue) == 0 {
				rollup := ReportRollupArgs{RunID: a.RunID, EstateID: estateID, AsOf: a.AsOf,
					WindowDays: a.WindowDays}
				return w.q.startRollup(ctx, tx, rollup, 0)
			}
			return nil
		})
	})
}

type rollupWorker struct {
	river.WorkerDefaults[ReportRollupArgs]
	q *Queue
}

func (w *rollupWorker) Work(ctx context.Context, job *river.Job[ReportRollupArgs]) error {
	a := job.Args
	work := func(ctx context.Context) (runs.UnitState, string, error) {
		if w.q.reports == nil {
			return "", "", permanent{errNoModel}
		}
		opts := reporting.RunOptions{AsOf: a.AsOf, WindowDays: a.WindowDays}
		outcomes, err := w.q.reports.RunEstateRollups(ctx, a.EstateID, opts)
		switch {
		case errors.Is(err, reporting.ErrWindow) || errors.Is(err, gold.ErrOverlap):
			// A run that started at the same time wrote these reports.
			return runs.UnitSkipped, "another run reported this window: " + err.Error(), nil
		case err != nil:
			return "", "", reportPermanent(err)
		}
		u := runs.RolledUp(outcomes)
		return u.State, u.Detail, nil
	}
	return w.q.unit(ctx, job.JobRow, a.RunID, runs.RollupUnit, work, nil)
}

type scheduledIngestWorker struct {
	river.WorkerDefaults[scheduledIngestionArgs]
	q *Queue
}

func (w *scheduledIngestWorker) Work(ctx context.Context, job *river.Job[scheduledIngestionArgs]) error {
	return w.q.startEveryEstate(ctx, runs.KindIngestion, func(runID, key string) river.JobArgs {
		return IngestEstateArgs{RunID: runID, EstateKey: key}
	})
}

type scheduledReportsWorker struct {
	river.WorkerDefaults[scheduledReportsArgs]
	q *Queue
}

func (w *scheduledReportsWorker) Work(ctx context.Context, job *river.Job[scheduledReportsArgs]) error {
	// Windows end when the schedule fired, also when the job ran late
	// or is retried.
	asOf := job.ScheduledAt.UTC()
	return w.q.startEveryEstate(ctx, runs.KindReport, func(runID, key string) river.JobArgs {
		return ReportEstateArgs{RunID: runID, EstateKey: key, AsOf: asOf}
	})
}

// startEveryEstate starts a run of the kind for every estate.
func (q *Queue) startEveryEstate(ctx context.Context, kind runs.Kind,
	args func(runID, key string) river.JobArgs) error {
	estates, err := catalogue.ListEstates(ctx, q.db)
	if err != nil {
		return err
	}
	for _, e := range estates {
		run, err := q.startRun(ctx, kind, runs.ScopeEstate, e.Key, func(id string) river.JobArgs {
			return args(id, e.Key)
		})
		if err != nil {
			return err
		}
		q.log.InfoContext(ctx, "worker.run.scheduled", "kind", kind, "estate_key", e.Key, "run_id", run.ID)
	}
	return nil
}

// errorLogger logs every failed attempt of a job with its error, and
// every panic with its stack; River keeps both with the job too.
type errorLogger struct{ log *slog.Logger }

func (e *errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.log.WarnContext(ctx, "worker.job.failed", "kind", job.Kind, "job_id", job.ID,
		"attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
	return nil
}

func (e *errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, value any,
	trace string) *river.ErrorHandlerResult {
	e.log.ErrorContext(ctx, "worker.job.panicked", "kind", job.Kind, "job_id", job.ID,
		"attempt", job.Attempt, "panic", fmt.Sprint(value), "stack", trace)
	return nil
}

// fixedRetry retries a failed job after a fixed delay.
type fixedRetry time.Duration

func (d fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Duration(d)) }

// riverLogger tags River's own log lines.
func riverLogger(l *slog.Logger) *slog.Logger { return l.With("component", "river") }

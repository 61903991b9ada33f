// Package worker runs Ghillie's background work on a River job queue:
// catalogue imports, ingestion of one repository, transforms, one report
// and an estate's reports. Schedules for ingestion and reports and a
// watcher of a catalogue checkout queue jobs too, so a deployment needs
// no external cron.
//
// The queue lives in Ghillie's own database. On PostgreSQL any number of
// worker processes share it, and River's row locks give each job to one
// of them. On SQLite the jobs run in one process. Ingestion and report
// runs of an estate fan out one job per repository and record each
// repository's outcome in the runs package, so callers follow a run's
// state while the jobs run. A job that fails is retried with backoff, and
// River keeps the error of each attempt with the job.
package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// Defaults of a Config left at zero.
const (
	// DefaultReportSchedule is Monday at 06:00 UTC.
	DefaultReportSchedule = "0 6 * * 1"

	DefaultConcurrency  = 4
	DefaultMaxAttempts  = 5
	DefaultRescueAfter  = 15 * time.Minute
	DefaultPollInterval = time.Second
	DefaultJobTimeout   = 30 * time.Minute
)

// Config holds what the queue needs. DB is required; the rest enables the
// jobs that need it.
type Config struct {
	// DB is a migrated database; Migrate adds River's tables to it.
	DB *store.DB

	// Logger receives the lifecycle lines of jobs and River's own; nil is
	// silent.
	Logger *slog.Logger

	// Model writes the summaries of reports. Without it report jobs fail.
	Model status.Model

	// Reporting configures the reporting service. Its SinkPath, from
	// GHILLIE_REPORT_SINK_PATH, makes report jobs write Markdown there.
	Reporting reporting.Config

	// GitHub reads GitHub activity. Without it ingestion jobs fail.
	GitHub ingest.GitHubClient

	// Ingest configures ingestion; IngestMetrics, when set, counts it.
	Ingest        ingest.Config
	IngestMetrics *ingest.Metrics

	// IngestInterval is how often every estate is ingested; zero turns the
	// schedule off.
	IngestInterval time.Duration

	// ReportSchedule is a cron expression (minute hour day-of-month month
	// day-of-week, in UTC) for an estate report run of every estate;
	// DefaultReportSchedule when empty and no schedule when "off".
	ReportSchedule string

	// Watch, when set, imports a catalogue each time its branch moves.
	Watch *Watch

	// Concurrency is how many jobs this process runs at once,
	// DefaultConcurrency when zero.
	Concurrency int

	// InsertOnly makes a queue that only adds jobs, for an HTTP server
	// whose jobs run in separate worker processes.
	InsertOnly bool

	// MaxAttempts is how many times a failing job runs before it is
	// given up, DefaultMaxAttempts when zero.
	MaxAttempts int

	// RescueAfter is how long a job may run before another worker takes
	// it over, as when its worker died; DefaultRescueAfter when zero. It
	// must exceed JobTimeout.
	RescueAfter time.Duration

	// JobTimeout bounds each job, DefaultJobTimeout when zero.
	JobTimeout time.Duration

	// PollInterval is how often idle workers look for new jobs,
	// DefaultPollInterval when zero.
	PollInterval time.Duration

	// RetryDelay, when set, replaces River's exponential backoff with a
	// fixed delay between attempts. It is for tests.
	RetryDelay time.Duration

	// ID names this worker process in the attempted_by list of the jobs
	// it works; River makes one of the host name and the time when empty.
	ID string
}

// Queue adds jobs and, unless it is insert-only, works them.
type Queue struct {
	cfg  Config
	log  *slog.Logger
	db   *store.DB
	runs *runs.Store

	client      *river.Client[*sql.Tx]
	reports     *reporting.Service
	ingester    *ingest.Worker
	transformer *silver.Transformer
	registry    *registry.Service
	importer    *catalogue.Importer
	watcher     *watcher

	// cancel ends the context of running jobs; Start sets it.
	cancel context.CancelFunc
}

// driver returns River's driver of the database: the SQLite driver, or
// the database/sql one on PostgreSQL, which takes the same *sql.Tx as
// Ghillie's own transactions, so a job is queued in the transaction of the
// rows it works on.
func driver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect() == store.SQLite {
		return riversqlite.New(db.DB.DB)
	}
	return riverdatabasesql.New(db.DB.DB)
}

// Migrate creates or updates River's tables in the database. The server
// and the worker call it on start; it is safe to call again.
func Migrate(ctx context.Context, db *store.DB, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	// River's migrator logs free text; the applied versions are logged
	// below as events instead.
	migrator, err := rivermigrate.New(driver(db), &rivermigrate.Config{
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("prepare the job queue's migrations on %s: %w", db, err)
	}

	// Two processes starting at once would both try to migrate.
	// PostgreSQL serializes them with an advisory lock held by this
	// connection; SQLite's write lock does the same for each statement.
	if db.Dialect() == store.Postgres {
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate the job queue on %s: %w", db, store.Classify(err))
		}
		defer conn.Close()
		const key = "SELECT hashtextextended(coalesce(current_schema(), '') || ':ghillie-river-migrate', 0)"
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(("+key+"))"); err != nil {
			return fmt.Errorf("lock the job queue's migrations on %s: %w", db, store.Classify(err))
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(("+key+"))")
		}()
	}

	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate the job queue on %s: %w", db, err)
	}
	for _, v := range res.Versions {
		logger.InfoContext(ctx, "worker.migration.applied", "version", v.Version, "name", v.Name)
	}
	return nil
}

// New returns a queue of cfg.DB, which must be migrated with store.Migrate
// and Migrate. Start begins working jobs.
func New(cfg Config) (*Queue, error) {
	if cfg.DB == nil {
		return nil, errors.New("worker.Config.DB is nil: pass an open, migrated database")
	}
	cfg = withDefaults(cfg)
	if cfg.RescueAfter <= cfg.JobTimeout {
		return nil, fmt.Errorf("worker.Config.RescueAfter %s must exceed JobTimeout %s, "+
			"or running jobs would be taken over", cfg.RescueAfter, cfg.JobTimeout)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	q := &Queue{cfg: cfg, log: logger, db: cfg.DB, runs: runs.New(cfg.DB),
		transformer: silver.NewTransformer(cfg.DB, logger),
		registry:    registry.NewService(cfg.DB, logger),
		importer:    catalogue.NewImporter(cfg.DB, logger)}
	if err := q.services(); err != nil {
		return nil, err
	}

	riverCfg := &river.Config{
		ID:                   cfg.ID,
		Logger:               riverLogger(logger),
		MaxAttempts:          cfg.MaxAttempts,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, 100*time.Millisecond),
		ErrorHandler:         &errorLogger{log: logger},
	}
	if cfg.RetryDelay > 0 {
		riverCfg.RetryPolicy = fixedRetry(cfg.RetryDelay)
	}
	if !cfg.InsertOnly {
		workers, err := q.workers()
		if err != nil {
			return nil, err
		}
		periodic, err := q.periodicJobs()
		if err != nil {
			return nil, err
		}
		riverCfg.Workers = workers
		riverCfg.PeriodicJobs = periodic
		riverCfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Concurrency},
		}
	}

	client, err := river.NewClient(driver(cfg.DB), riverCfg)
	if err != nil {
		return nil, fmt.Errorf("create the job queue: %w", err)
	}
	q.client = client
	if cfg.Watch != nil && !cfg.InsertOnly {
		w, err := newWatcher(q, *cfg.Watch)
		if err != nil {
			return nil, err
		}
		q.watcher = w
	}
	return q, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = max(DefaultRescueAfter, cfg.JobTimeout+time.Minute)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.ReportSchedule == "" {
		cfg.ReportSchedule = DefaultReportSchedule
	}
	if cfg.Reporting.WindowDays == 0 {
		cfg.Reporting.WindowDays = reporting.DefaultConfig.WindowDays
	}
	if cfg.Reporting.MaxAttempts == 0 {
		cfg.Reporting.MaxAttempts = reporting.DefaultConfig.MaxAttempts
	}
	return cfg
}

// services builds the SDK services the jobs call.
func (q *Queue) services() error {
	if q.cfg.Model != nil {
		svc, err := reporting.NewService(q.db, q.cfg.Model, q.cfg.Reporting,
			reporting.WithLogger(q.log))
		if err != nil {
			return err
		}
		q.reports = svc
	}

	if q.cfg.GitHub != nil {
		opts := []ingest.Option{ingest.WithLogger(q.log)}
		if q.cfg.IngestMetrics != nil {
			opts = append(opts, ingest.WithMetrics(q.cfg.IngestMetrics))
		}
		w, err := ingest.NewWorker(q.db, q.cfg.GitHub, q.cfg.Ingest, opts...)
		if err != nil {
			return err
		}
		q.ingester = w
	}
	return nil
}

// Start begins working jobs, and watching the catalogue when configured.
// An insert-only queue needs no Start.
func (q *Queue) Start(ctx context.Context) error {
	if q.cfg.InsertOnly {
		return nil
	}
	// River cancels running jobs when the context of Start ends, so
	// jobs get a context of their own that only Stop cancels: the
	// caller's may be a start-up context with a deadline.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := q.client.Start(runCtx); err != nil {
		cancel()
		return fmt.Errorf("start the job queue: %w", err)
	}
	q.cancel = cancel
	if q.watcher != nil {
		q.watcher.start()
	}
	q.log.InfoContext(ctx, "worker.started", "dialect", q.db.Dialect(),
		"concurrency", q.cfg.Concurrency, "ingest_interval", q.cfg.IngestInterval.String(),
		"report_schedule", q.cfg.ReportSchedule)
	return nil
}

// Stop stops taking jobs and waits for running ones until ctx ends, then
// cancels them; River gives a cancelled job back to the queue to be run
// again.
func (q *Queue) Stop(ctx context.Context) error {
	if q.cfg.InsertOnly {
		return nil
	}
	if q.watcher != nil {
		q.watcher.stop()
	}

	if q.cancel != nil {
		defer q.cancel()
	}

	// A fifth of the caller's time is kept to cancel the jobs that outlast
	// the rest, so that River records them as failed attempts and retries
	// them at once, instead of leaving them running until the rescuer
	// takes them over.
	soft := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		soft, cancel = context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/5))
		defer cancel()
	}

	err := q.client.Stop(soft)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		q.log.WarnContext(ctx, "worker.stop.cancelling", "reason", "jobs still running at the deadline")
		err = q.client.StopAndCancel(ctx)
	}
	if err != nil {
		return fmt.Errorf("stop the job queue: %w", err)
	}
	q.log.InfoContext(ctx, "worker.stopped")
	return nil
}

// Client returns the River client, for callers that add jobs of their own
// kinds or inspect the queue.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// Runs returns the store of the runs the queue's jobs record.
func (q *Queue) Runs() *runs.Store { return q.runs }

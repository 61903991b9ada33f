package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// maxConcurrency bounds GHILLIE_WORKER_CONCURRENCY: each job may hold a
// database connection and a status model call.
const maxConcurrency = 64

func (a *app) workerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run background jobs: ingestion, transforms, reports and catalogue imports",
		Long: "Work the job queue in the database until SIGTERM or SIGINT, then let running\n" +
			"jobs finish for up to 25 seconds; a job stopped later runs again elsewhere.\n" +
			"The worker migrates the database on start. On PostgreSQL any number of workers\n" +
			"share the queue and each job runs in one of them; on SQLite run one worker.\n" +
			"Logs are JSON lines on standard error.\n\n" +
			"Schedules, in UTC, so that no external cron is needed:\n" +
			"  GHILLIE_INGEST_INTERVAL   ingest every estate this often, as a Go duration\n" +
			"                            such as 6h (default: no scheduled ingestion)\n" +
			"  GHILLIE_REPORT_SCHEDULE   report on every estate at these times, as a cron\n" +
			"                            expression (default \"0 6 * * 1\", Monday 06:00;\n" +
			"                            \"off\" for none)\n" +
			"  GHILLIE_WORKER_CONCURRENCY  jobs this process runs at once (default 4)\n\n" +
			"A catalogue in a git checkout that another process keeps up to date is\n" +
			"imported, and its repositories synced, at each new commit of its branch:\n" +
			"  GHILLIE_CATALOGUE_CHECKOUT  the checkout's folder\n" +
			"  GHILLIE_CATALOGUE_FILE      the catalogue's path in it (default catalogue.yaml)\n" +
			"  GHILLIE_CATALOGUE_BRANCH    the branch to follow (default main)\n" +
			"  GHILLIE_CATALOGUE_ESTATE    the estate key to import into\n\n" +
			"GitHub access, the status model and the reporting settings come from the same\n" +
			"variables as 'ghillie ingest run' and 'ghillie report run'; reports are written\n" +
			"as Markdown under GHILLIE_REPORT_SINK_PATH when it is set. Without GitHub\n" +
			"settings, ingestion jobs fail with a message saying so.",
		Example: "  GHILLIE_DATABASE_URL=postgres://ghillie@db/ghillie GHILLIE_STATUS_MODEL_BACKEND=mock \\\n" +
			"    GHILLIE_INGEST_INTERVAL=6h ghillie worker",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.work(cmd.Context())
		},
	}
}

// workerConfig reads the worker's settings from the environment.
func (a *app) workerConfig() (worker.Config, error) {
	var cfg worker.Config

	if raw := strings.TrimSpace(a.env("GHILLIE_INGEST_INTERVAL")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < time.Minute {
			return cfg, fmt.Errorf("invalid GHILLIE_INGEST_INTERVAL %q: use a Go duration of 1m or "+
				"more, such as 6h (15m or more suits GitHub's rate limits), or leave it unset for "+
				"no scheduled ingestion", raw)
		}
		if !a.hasGitHubSettings() {
			return cfg, fmt.Errorf("GHILLIE_INGEST_INTERVAL is %s but no GitHub access is set: set "+
				"GHILLIE_GITHUB_TOKEN or the GHILLIE_GITHUB_APP_* variables", raw)
		}
		cfg.IngestInterval = d
	}

	cfg.ReportSchedule = strings.TrimSpace(a.env("GHILLIE_REPORT_SCHEDULE"))
	if cfg.ReportSchedule != "" && !strings.EqualFold(cfg.ReportSchedule, "off") {
		if _, err := worker.ParseSchedule(cfg.ReportSchedule); err != nil {
			return cfg, fmt.Errorf("GHILLIE_REPORT_SCHEDULE: %w", err)
		}
	}

	if raw := strings.TrimSpace(a.env("GHILLIE_WORKER_CONCURRENCY")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxConcurrency {
			return cfg, fmt.Errorf("invalid GHILLIE_WORKER_CONCURRENCY %q: use 1 to %d", raw, maxConcurrency)
		}
		cfg.Concurrency = n
	}

	if checkout := strings.TrimSpace(a.env("GHILLIE_CATALOGUE_CHECKOUT")); checkout != "" {
		w := &worker.Watch{Checkout: checkout,
			File:      strings.TrimSpace(a.env("GHILLIE_CATALOGUE_FILE")),
			Branch:    strings.TrimSpace(a.env("GHILLIE_CATALOGUE_BRANCH")),
			EstateKey: strings.TrimSpace(a.env("GHILLIE_CATALOGUE_ESTATE"))}
		if w.File == "" {
			w.File = "catalogue.yaml"
		}
		if w.EstateKey == "" {
			return cfg, fmt.Errorf("GHILLIE_CATALOGUE_CHECKOUT is set to %s but GHILLIE_CATALOGUE_ESTATE "+
				"is not: set the estate key its catalogue is imported into", checkout)
		}
		checked, err := worker.CheckWatch(*w)
		if err != nil {
			return cfg, fmt.Errorf("GHILLIE_CATALOGUE_CHECKOUT, _FILE or _BRANCH: %w", err)
		}
		cfg.Watch = &checked
	}
	return cfg, nil
}

// hasGitHubSettings reports whether any GitHub credential is set.
func (a *app) hasGitHubSettings() bool {
	return gitHubSettingsIn(a.env)
}

// gitHubSettingsIn reports whether getenv gives a GitHub credential.
func gitHubSettingsIn(getenv func(string) string) bool {
	for _, name := range []string{githubapi.EnvToken, githubapi.EnvAppID} {
		if strings.TrimSpace(getenv(name)) != "" {
			return true
		}
	}
	return false
}

// optionalGitHub returns a GitHub client of the environment's settings,
// or nil when none is set.
func (a *app) optionalGitHub() (ingest.GitHubClient, error) {
	if !a.hasGitHubSettings() {
		return nil, nil
	}
	gh, err := githubapi.ConfigFromEnv(a.env)
	if err != nil {
		return nil, err
	}
	return githubapi.New(gh, githubapi.WithLogger(a.logger))
}

func (a *app) work(ctx context.Context) error {
	cfg, err := a.workerConfig()
	if err != nil {
		return err
	}
	if cfg.Reporting, err = reporting.ConfigFromEnv(a.env); err != nil {
		return err
	}
	if cfg.Model, err = status.FromEnv(a.env); err != nil {
		return err
	}
	// The worker logs JSON lines, like the server, the GitHub client's
	// included.
	a.logger = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: a.level}))
	cfg.Logger = a.logger
	if cfg.GitHub, err = a.optionalGitHub(); err != nil {
		return err
	}
	if cfg.GitHub == nil {
		a.logger.WarnContext(ctx, "worker.github.disabled",
			"reason", "neither GHILLIE_GITHUB_TOKEN nor GHILLIE_GITHUB_APP_ID is set")
	}

	db, err := a.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	cfg.DB = db

	fxLogger := &fxevent.SlogLogger{Logger: a.logger}
	fxLogger.UseLogLevel(slog.LevelDebug)
	fxApp := fx.New(
		fx.WithLogger(func() fxevent.Logger { return fxLogger }),
		fx.StartTimeout(startTimeout),
		fx.StopTimeout(shutdownTimeout),
		fx.Supply(cfg),
		worker.Module,
	)
	if err := fxApp.Err(); err != nil {
		return err
	}
	return a.runUntilSignal(ctx, fxApp, "worker")
}

// openMigrated opens the databases, creating a SQLite file when missing,
// and applies every migration, for the commands that migrate on start.
func (a *app) openMigrated(ctx context.Context) (*store.DB, error) {
	return a.openDatabases(ctx, a.openAndMigrate)
}

// migrateAll applies Ghillie's migrations and the job queue's.
func migrateAll(ctx context.Context, db *store.DB, logger *slog.Logger) error {
	if err := store.Migrate(ctx, db, store.MigrationOptions{Logger: logger}); err != nil {
		return err
	}
	return worker.Migrate(ctx, db, logger)
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// Defaults of the serve command's environment.
const (
	defaultHost = "0.0.0.0"
	defaultPort = 8080

	// shutdownTimeout bounds the wait for requests in flight after SIGTERM
	// or SIGINT. It is shorter than the 30 seconds Kubernetes gives a pod
	// by default between SIGTERM and SIGKILL.
	shutdownTimeout = 25 * time.Second
	startTimeout    = 15 * time.Second
)

// serveSettings are the serve command's settings read from the
// environment.
type serveSettings struct {
	addr                 string
	token                string
	allowUnauthenticated bool
}

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API: probes, reports, runs, metrics and estate management",
		Long: "Serve the HTTP API on GHILLIE_HOST (default 0.0.0.0) and GHILLIE_PORT (default\n" +
			"8080; 0 picks a free port) until SIGTERM or SIGINT, then finish the requests in\n" +
			"flight for up to 25 seconds. Logs are JSON lines on standard error.\n\n" +
			"POST and PATCH routes need 'Authorization: Bearer' with GHILLIE_API_TOKEN. Without a\n" +
			"token the server starts only on a loopback address, or when\n" +
			"GHILLIE_API_ALLOW_UNAUTHENTICATED=true.\n" +
			"GHILLIE_STATUS_MODEL_BACKEND selects the status model, and the\n" +
			"GHILLIE_REPORTING_* variables configure reports as for 'ghillie report run'.\n" +
			"GET /openapi.yaml returns the API's OpenAPI document.\n\n" +
			"POST /ingestion/runs and POST /reports/runs queue runs on the job queue. On\n" +
			"PostgreSQL 'ghillie worker' processes run them; on SQLite the server runs them\n" +
			"itself, with the schedules and settings of 'ghillie worker'. The server\n" +
			"migrates the database on start.",
		Example: "  GHILLIE_HOST=127.0.0.1 GHILLIE_STATUS_MODEL_BACKEND=mock ghillie serve",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context())
		},
	}
}

// serveSettings reads and checks the listening address and the token.
func (a *app) serveSettings() (serveSettings, error) {
	host := strings.TrimSpace(a.env("GHILLIE_HOST"))
	if host == "" {
		host = defaultHost
	}

	port := defaultPort
	if raw := strings.TrimSpace(a.env("GHILLIE_PORT")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > 65535 {
			return serveSettings{}, fmt.Errorf("invalid GHILLIE_PORT %q: use a port number "+
				"from 1 to 65535, or 0 for a free port", raw)
		}
		port = n
	}

	s := serveSettings{addr: net.JoinHostPort(host, strconv.Itoa(port)),
		token: strings.TrimSpace(a.env("GHILLIE_API_TOKEN"))}
	switch raw := strings.TrimSpace(a.env("GHILLIE_API_ALLOW_UNAUTHENTICATED")); raw {
	case "", "false":
	case "true":
		s.allowUnauthenticated = true
	default:
		return serveSettings{}, fmt.Errorf("invalid GHILLIE_API_ALLOW_UNAUTHENTICATED %q: "+
			"use true or false", raw)
	}

	if s.token == "" && !s.allowUnauthenticated && !isLoopback(host) {
		return serveSettings{}, fmt.Errorf("GHILLIE_API_TOKEN is not set, so anyone who reaches "+
			"%s could run paid status model calls: set GHILLIE_API_TOKEN, bind GHILLIE_HOST "+
			"to 127.0.0.1, or set GHILLIE_API_ALLOW_UNAUTHENTICATED=true", s.addr)
	}
	if s.token == "" {
		s.allowUnauthenticated = true
	}
	return s, nil
}

// isLoopback reports whether host names only loopback interfaces.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *app) serve(ctx context.Context) error {
	settings, err := a.serveSettings()
	if err != nil {
		return err
	}
	cfg, err := reporting.ConfigFromEnv(a.env)
	if err != nil {
		return err
	}
	model, err := status.FromEnv(a.env)
	if err != nil {
		return err
	}

	// The server logs JSON lines, unlike the other commands.
	a.logger = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: a.level}))
	db, err := a.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	queueCfg, err := a.serverQueue(db, model, cfg)
	if err != nil {
		return err
	}

	// On SQLite the server runs ingestion jobs itself, so GET /metrics
	// serves their counters too.
	jobMetrics := prometheus.NewRegistry()
	if !queueCfg.InsertOnly {
		if queueCfg.IngestMetrics, err = ingest.NewMetrics(jobMetrics); err != nil {
			return err
		}
	}
	if settings.token == "" {
		a.logger.WarnContext(ctx, "http.auth.disabled", "addr", settings.addr,
			"reason", "GHILLIE_API_TOKEN is not set")
	}

	fxLogger := &fxevent.SlogLogger{Logger: a.logger}
	fxLogger.UseLogLevel(slog.LevelDebug)
	fxApp := fx.New(
		fx.WithLogger(func() fxevent.Logger { return fxLogger }),
		fx.StartTimeout(startTimeout),
		fx.StopTimeout(shutdownTimeout),
		fx.Supply(queueCfg, httpapi.ServerConfig{Addr: settings.addr}),
		fx.Provide(func(q *worker.Queue) httpapi.Config {
			return httpapi.Config{DB: db, Model: model, Reporting: cfg, Logger: a.logger,
				APIToken: settings.token, AllowUnauthenticated: settings.allowUnauthenticated,
				Runner: q, Metrics: jobMetrics}
		}),
		// The queue starts before the server listens, so that no request
		// reaches a route whose jobs nothing would work yet.
		worker.Module,
		httpapi.Module,
	)
	if err := fxApp.Err(); err != nil {
		return err
	}
	return a.runUntilSignal(ctx, fxApp, "serve")
}

// serverQueue returns the settings of the job queue of the server's run
// routes. On SQLite the server works the jobs itself, with the worker's
// settings, because one process must hold them all. On PostgreSQL it
// only queues them for 'ghillie worker' processes.
func (a *app) serverQueue(db *store.DB, model status.Model, rc reporting.Config) (worker.Config, error) {
	cfg := worker.Config{InsertOnly: true}
	if db.Dialect() == store.SQLite {
		var err error
		if cfg, err = a.workerConfig(); err != nil {
			return cfg, err
		}
		if cfg.GitHub, err = a.optionalGitHub(); err != nil {
			return cfg, err
		}
	}
	cfg.DB, cfg.Model, cfg.Reporting, cfg.Logger = db, model, rc, a.logger
	return cfg, nil
}

// runUntilSignal starts the application and stops it on SIGTERM, SIGINT,
// the end of ctx, or a shutdown that a component requests.
func (a *app) runUntilSignal(ctx context.Context, fxApp *fx.App, role string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := fxApp.Start(startCtx); err != nil {
		// fx has stopped what had started; a signal during start-up is a
		// request to stop, not a failure.
		if ctx.Err() != nil {
			a.logger.Info("ghillie."+role+".stopped", "reason", "signal or cancelled context during start")
			return nil
		}
		return err
	}

	var exitCode int
	select {
	case <-ctx.Done():
		a.logger.Info("ghillie."+role+".stopping", "reason", "signal or cancelled context")
	case sig := <-fxApp.Wait():
		exitCode = sig.ExitCode
		a.logger.Info("ghillie."+role+".stopping", "reason", "shutdown requested",
			"exit_code", exitCode)
	}

	// ctx may be done by now, so stopping gets a context of its own.
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancelStop()
	if err := fxApp.Stop(stopCtx); err != nil {
		return err
	}
	if exitCode != 0 {
		return errors.New("the HTTP server failed; its log line 'http.server.failed' has the error")
	}
	a.logger.Info("ghillie." + role + ".stopped")
	return nil
}

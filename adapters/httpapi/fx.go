package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.uber.org/fx"
)

// ServerConfig holds the listening settings of the HTTP server.
type ServerConfig struct {
	// Addr is the host:port to listen on; port 0 picks a free port, which
	// the "http.server.started" log line reports.
	Addr string
}

// Server timeouts. WriteTimeout leaves a report generation its
// Config.ReportTimeout plus this margin.
const (
	readHeaderTimeout  = 10 * time.Second
	readTimeout        = 30 * time.Second
	idleTimeout        = 2 * time.Minute
	writeTimeoutMargin = 30 * time.Second
)

// Module is the fx module of the HTTP API. It needs a Config and a
// ServerConfig, provides the handler (http.Handler) and the *http.Server,
// and runs the server from the application's start to its stop. Stopping
// waits for requests in flight until the stop context ends, then closes
// the remaining connections.
var Module = fx.Module("httpapi",
	fx.Provide(New, NewServer),
	fx.Invoke(func(*http.Server) {}),
)

// NewServer returns a server of the handler on sc.Addr and registers its
// start and stop with lc. Start listens before it returns, so a port in
// use fails the application's start. When serving fails later, the server
// calls shutdowner to stop the application with exit code 1.
func NewServer(lc fx.Lifecycle, shutdowner fx.Shutdowner, sc ServerConfig, cfg Config,
	h http.Handler) *http.Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reportTimeout := cfg.ReportTimeout
	if reportTimeout <= 0 {
		reportTimeout = DefaultReportTimeout
	}

	srv := &http.Server{
		Addr:              sc.Addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      reportTimeout + writeTimeoutMargin,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", sc.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w: choose another GHILLIE_HOST or GHILLIE_PORT",
					sc.Addr, err)
			}
			logger.InfoContext(ctx, "http.server.started", "addr", ln.Addr().String())

			go func() {
				err := srv.Serve(ln)
				if err != nil && !errors.Is(err, http.ErrServerClosed) {
					logger.Error("http.server.failed", "addr", ln.Addr().String(), "err", err)
					_ = shutdowner.Shutdown(fx.ExitCode(1))
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			logger.InfoContext(ctx, "http.server.stopping", "addr", sc.Addr)
			if err := srv.Shutdown(ctx); err != nil {
				logger.WarnContext(ctx, "http.server.shutdown_timed_out", "addr", sc.Addr,
					"err", err)
				_ = srv.Close()
				return fmt.Errorf("stop HTTP server on %s: requests still in flight: %w",
					sc.Addr, err)
			}
			logger.InfoContext(ctx, "http.server.stopped", "addr", sc.Addr)
			return nil
		},
	})
	return srv
}

// Package httpapi is Ghillie's HTTP API: health and readiness probes, on-demand
// repository reports, read access to stored reports, estates and
// repositories, and delivery metrics. It turns requests into calls of the SDK packages (store,
// registry, gold, evidence, reporting) and their results into JSON or
// Markdown. It contains no business logic of its own.
//
// Every route is documented in specs/openapi.yaml, which the handler serves at
// GET /openapi.yaml and the tests check each response against. Errors are JSON
// objects with a title, a description and, for invalid input, the field.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/specs"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// Default limits of a Config left at zero.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultReportTimeout  = 5 * time.Minute
	DefaultMaxBodyBytes   = 64 << 10
	DefaultMaxReports     = 4
)

// Config holds what the handler needs. DB and Model are required.
type Config struct {
	// DB is a migrated database.
	DB *store.DB

	// Model writes the summaries of on-demand reports.
	Model status.Model

	// Reporting configures the reporting service (window length, sink,
	// validation attempts).
	Reporting reporting.Config

	// Logger receives one line per request and per error; nil is silent.
	Logger *slog.Logger

	// APIToken is the bearer token that POST routes require. It may be
	// empty only when AllowUnauthenticated is set.
	APIToken string

	// AllowUnauthenticated lets POST routes run without a token when
	// APIToken is empty. It is for loopback-only servers and tests.
	AllowUnauthenticated bool

	// RequestTimeout bounds each read request, DefaultRequestTimeout when
	// zero. ReportTimeout bounds each report generation, which calls the
	// status model, DefaultReportTimeout when zero.
	RequestTimeout time.Duration
	ReportTimeout  time.Duration

	// MaxBodyBytes bounds request bodies, DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64

	// MaxReports is how many reports may be generated at once, each with
	// its own status model call; further requests get 429.
	// DefaultMaxReports when zero.
	MaxReports int

	// Runner, when set, starts the ingestion and report runs of
	// POST /ingestion/runs and POST /reports/runs. Without it those routes
	// return 503.
	Runner Runner

	// Metrics, when set, adds its metrics to those GET /metrics serves
	// (the server's requests, the Go runtime and the process), such as
	// the collectors of ingest.NewMetrics.
	Metrics prometheus.Gatherer
}

// api is the state the route handlers share.
type api struct {
	cfg Config
	log *slog.Logger

	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	service   *reporting.Service

	// reportSlots has one element per report being generated.
	reportSlots chan struct{}
}

// New returns the handler of every route. It returns an error naming the
// field when the Config is incomplete.
func New(cfg Config) (http.Handler, error) {
	if cfg.DB == nil {
		return nil, errors.New("httpapi.Config.DB is nil: pass an open, migrated database")
	}
	if cfg.Model == nil {
		return nil, errors.New("httpapi.Config.Model is nil: pass a status model, " +
			"such as status.FromEnv's")
	}
	if cfg.APIToken == "" && !cfg.AllowUnauthenticated {
		return nil, errors.New("httpapi.Config.APIToken is empty: set a token, or set " +
			"AllowUnauthenticated for a server that only loopback clients reach")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ReportTimeout <= 0 {
		cfg.ReportTimeout = DefaultReportTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxReports <= 0 {
		cfg.MaxReports = DefaultMaxReports
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	service, err := reporting.NewService(cfg.DB, cfg.Model, cfg.Reporting,
		reporting.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	a := &api{cfg: cfg, log: logger, service: service,
		reportSlots: make(chan struct{}, cfg.MaxReports)}
	if err := a.registerMetrics(); err != nil {
		return nil, err
	}
	return a.routes(), nil
}

// routes registers every route of specs/openapi.yaml.
func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	read := func(h http.HandlerFunc) http.Handler { return a.withTimeout(a.cfg.RequestTimeout, h) }
	report := func(h http.HandlerFunc) http.Handler {
		return a.requireToken(a.limitReports(a.withTimeout(a.cfg.ReportTimeout, h)))
	}

	handle := func(pattern string, h http.Handler) { mux.Handle(pattern, a.route(pattern, h)) }

	handle("GET /health", http.HandlerFunc(a.health))
	handle("GET /ready", read(a.ready))
	handle("GET /openapi.yaml", http.HandlerFunc(serveOpenAPI))
	handle("GET /metrics", a.metricsHandler())

	handle("POST /reports/repositories/{owner}/{name}", report(a.runRepositoryReport))
	handle("POST /ingestion/runs", a.requireToken(read(a.startIngestionRun)))
	handle("GET /ingestion/runs/{id}", read(a.ingestionRun))
	handle("POST /reports/runs", a.requireToken(read(a.startReportRun)))
	handle("GET /reports/runs/{id}", read(a.reportRun))

	handle("GET /repositories/{owner}/{name}", read(a.repository))
	handle("PATCH /repositories/{owner}/{name}/ingestion", a.requireToken(read(a.setIngestion)))
	handle("POST /estates/{estate}/catalogue-import", a.requireToken(read(a.importCatalogue)))
	handle("POST /estates/{estate}/registry-sync", a.requireToken(read(a.syncRegistry)))
	handle("GET /repositories/{owner}/{name}/reports/latest", read(a.latestRepositoryReport))
	handle("GET /repositories/{owner}/{name}/reports", read(a.repositoryReports))
	handle("GET /estates", read(a.listEstates))
	handle("GET /estates/{estate}/repositories", read(a.estateRepositories))
	handle("GET /estates/{estate}/reports/latest", read(a.latestEstateReport))
	handle("GET /estates/{estate}/reports", read(a.estateReports))
	handle("GET /estates/{estate}/projects/{project}/reports/latest",
		read(a.latestProjectReport))
	handle("GET /estates/{estate}/projects/{project}/reports", read(a.projectReports))
	handle("GET /metrics/repositories/{owner}/{name}/required", read(a.repositoryRequiredMetrics))
	handle("GET /estates/{estate}/metrics/required", read(a.estateRequiredMetrics))

	handle("GET /repositories", read(a.listRepositories))
	handle("GET /ingestion/health", read(a.ingestionHealth))
	handle("GET /reports/reviews", read(a.listReviews))
	handle("POST /reports/reviews/{id}/resolve", a.requireToken(read(a.resolveReview)))
	handle("POST /exports/{kind}", a.requireToken(a.withTimeout(a.cfg.ReportTimeout,
		http.HandlerFunc(a.exportWindow))))

	return a.logRequests(a.recoverPanics(a.limitBody(unmatchedAsJSON(mux))))
}

func (a *api) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready reports whether the database responds to a ping and its schema
// is the one this build expects.
func (a *api) ready(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	notReady := func(reason string, err error) {
		a.log.WarnContext(ctx, "http.ready.failed", "reason", reason, "err", err,
			"request_id", requestID(ctx))
		writeJSON(w, http.StatusServiceUnavailable,
			map[string]string{"status": "not_ready", "reason": reason})
	}

	type database struct {
		role string
		db   *store.DB
	}
	databases := []database{{"database", a.cfg.DB}}
	if a.cfg.DB.SeparateCatalogue() {
		databases = append(databases, database{"catalogue database", a.cfg.DB.Catalogue()})
	}

	for _, d := range databases {
		if err := d.db.PingContext(ctx); err != nil {
			notReady("the "+d.role+" does not respond", err)
			return
		}
		current, latest, err := store.SchemaVersion(ctx, d.db)
		if err != nil {
			notReady("the "+d.role+" schema version cannot be read", err)
			return
		}
		if current != latest {
			notReady("the "+d.role+" schema is not current: run 'ghillie migrate'",
				schemaError{current: current, latest: latest})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// schemaError records a schema version mismatch in the log.
type schemaError struct{ current, latest int64 }

func (e schemaError) Error() string {
	return "database schema version " + itoa(e.current) + ", this build needs " + itoa(e.latest)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(specs.OpenAPI)
}

// withTimeout cancels the request's context after d.
func (a *api) withTimeout(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitReports rejects a request with 429 while Config.MaxReports reports
// are being generated, so that callers cannot start unbounded model calls.
func (a *api) limitReports(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case a.reportSlots <- struct{}{}:
		default:
			a.log.WarnContext(r.Context(), "http.report.rejected", "reason", "too many reports",
				"max_reports", a.cfg.MaxReports, "path", r.URL.Path,
				"request_id", requestID(r.Context()))
			w.Header().Set("Retry-After", "30")
			writeError(w, http.StatusTooManyRequests, apiError{Title: "Too many requests",
				Description: "The server is generating as many reports as it allows at once; " +
					"retry after 30 seconds."})
			return
		}
		defer func() { <-a.reportSlots }()

		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body to Config.MaxBodyBytes.
func (a *api) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, a.bodyLimit(r.URL.Path))
		next.ServeHTTP(w, r)
	})
}

// requestIDKey is the context key of a request's id.
type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter records the status code a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests gives each request an id, returned in X-Request-Id, and logs
// one line when it completes: at debug level for the probes, else info.
func (a *api) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var raw [8]byte
		_, _ = rand.Read(raw[:])
		id := hex.EncodeToString(raw[:])
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		sw := &statusWriter{ResponseWriter: w}

		route := &routeName{name: "unmatched"}
		ctx = context.WithValue(ctx, routeKey{}, route)
		next.ServeHTTP(sw, r.WithContext(ctx))

		a.requests.WithLabelValues(route.name, strconv.Itoa(sw.status)).Inc()
		a.durations.WithLabelValues(route.name).Observe(time.Since(start).Seconds())
		level := slog.LevelInfo
		if r.URL.Path == "/health" || r.URL.Path == "/ready" {
			level = slog.LevelDebug
		}
		a.log.Log(ctx, level, "http.request.completed", "method", r.Method,
			"path", r.URL.Path, "status", sw.status, "duration_ms",
			time.Since(start).Milliseconds(), "request_id", id)
	})
}

// recoverPanics turns a handler's panic into a 500 JSON error and a log
// line with the stack, instead of a dropped connection.
func (a *api) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http aborts the response without logging
			}
			a.log.ErrorContext(r.Context(), "http.request.panicked", "method", r.Method,
				"path", r.URL.Path, "panic", v, "stack", string(debug.Stack()),
				"request_id", requestID(r.Context()))
			writeError(w, http.StatusInternalServerError, apiError{Title: "Internal server error",
				Description: "The server failed to handle the request; its log has the details."})
		}()
		next.ServeHTTP(w, r)
	})
}

// headerRecorder captures the status and headers that a handler writes and
// discards its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

// RouteNotFound is the title of the 404 error of a path that matches no
// route, which clients tell apart from a subject that does not exist.
const RouteNotFound = "Route not found"

// unmatchedAsJSON returns a JSON 404 or 405 error for a request that
// matches no route, where ServeMux would write plain text.
func unmatchedAsJSON(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux would redirect a path that is not clean, with an HTML
		// body; clients of this API get the clean path in JSON instead.
		if clean := path.Clean(r.URL.Path); r.URL.Path != "" && clean != r.URL.Path {
			writeError(w, http.StatusNotFound, apiError{Title: RouteNotFound,
				Description: "No route matches the path as written; use " + clean + " instead."})
			return
		}

		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}

		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, apiError{Title: "Method not allowed",
				Description: "The path does not accept " + r.Method + "; use one of: " +
					rec.header.Get("Allow") + "."})
		case http.StatusNotFound, 0:
			writeError(w, http.StatusNotFound, apiError{Title: RouteNotFound,
				Description: "No route matches the path; GET /openapi.yaml lists the routes."})
		default:
			writeError(w, http.StatusNotFound, apiError{Title: RouteNotFound,
				Description: "No route matches the path; GET /openapi.yaml lists the routes."})
		}
	})
}

package ingest

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghillie/ghillie/store"
)

// Error categories of failed runs, for routing alerts.
const (
	CategoryTransient            = "transient"
	CategoryClientError          = "client_error"
	CategorySchemaDrift          = "schema_drift"
	CategoryConfiguration        = "configuration"
	CategoryDatabaseConnectivity = "database_connectivity"
	CategoryDataIntegrity        = "data_integrity"
	CategoryDatabaseError        = "database_error"
	CategoryUnknown              = "unknown"
)

// Categorize returns the category of an ingestion error. GitHub's 5xx
// responses, requests that timed out or could not reach GitHub, and a
// run that met another run of the same repository are transient, and
// GitHub's other errors are client errors. A
// response without an expected field is schema drift, a missing or
// invalid setting is configuration, and database errors fall in one of
// three database categories.
func Categorize(err error) string {
	var (
		apiErr    *APIError
		shapeErr  *ShapeError
		configErr *ConfigError
		storeErr  *store.Error
		partial   PartialError
	)
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Status >= 500 {
			return CategoryTransient
		}
		return CategoryClientError
	case errors.As(err, &shapeErr):
		return CategorySchemaDrift
	case errors.As(err, &configErr):
		return CategoryConfiguration
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrNetwork),
		errors.Is(err, ErrConcurrentRun):
		return CategoryTransient
	case errors.Is(err, ErrNotFound), errors.As(err, &partial):
		return CategoryClientError
	case errors.Is(err, store.ErrConnection):
		return CategoryDatabaseConnectivity
	case errors.Is(err, store.ErrUniqueViolation), errors.Is(err, store.ErrForeignKeyViolation),
		errors.Is(err, store.ErrNotNullViolation), errors.Is(err, store.ErrCheckViolation):
		return CategoryDataIntegrity
	case errors.As(err, &storeErr):
		return CategoryDatabaseError
	}
	return CategoryUnknown
}

// Metrics are the Prometheus collectors of ingestion runs. A nil
// *Metrics records nothing.
type Metrics struct {
	runs     *prometheus.CounterVec
	duration prometheus.Histogram
	events   *prometheus.CounterVec
	failures *prometheus.CounterVec
	requests prometheus.Counter
	points   prometheus.Counter
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghillie_ingestion_runs_total",
			Help: "Repository ingestion runs, by outcome (succeeded or failed).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ghillie_ingestion_run_duration_seconds",
			Help:    "Duration of repository ingestion runs.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghillie_ingestion_events_total",
			Help: "Events read from GitHub, by stream and outcome (new, duplicate, dropped as noise).",
		}, []string{"stream", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ghillie_ingestion_failures_total",
			Help: "Failed repository ingestion runs, by error category.",
		}, []string{"category"}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ghillie_github_requests_total",
			Help: "HTTP requests sent to GitHub by ingestion, retries included.",
		}),
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ghillie_github_points_total",
			Help: "GraphQL rate-limit points GitHub charged ingestion.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.runs, m.duration, m.events, m.failures, m.requests, m.points,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(res *Result, err error) {
	if m == nil {
		return
	}

	outcome := "succeeded"
	if err != nil {
		outcome = "failed"
		m.failures.WithLabelValues(Categorize(err)).Inc()
	}
	m.runs.WithLabelValues(outcome).Inc()
	m.duration.Observe(res.Duration.Seconds())
	m.requests.Add(float64(res.Requests))
	m.points.Add(float64(res.Points))
	for _, s := range res.Streams {
		name := s.Kind.String()
		m.events.WithLabelValues(name, "new").Add(float64(s.Ingested))
		m.events.WithLabelValues(name, "duplicate").Add(float64(s.Duplicates))
		m.events.WithLabelValues(name, "dropped").Add(float64(s.Dropped))
	}
}

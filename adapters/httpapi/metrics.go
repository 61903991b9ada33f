package httpapi

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routeKey is the context key of the routeName a request matched.
type routeKey struct{}

// routeName is the pattern of the route a request matched, filled in by
// the route and read by the request log and metrics, which run outside
// the mux.
type routeName struct {
	name string
}

// route records the pattern of the route before calling h, so that
// metrics are labelled by route, never by the raw path.
func (a *api) route(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rn, ok := r.Context().Value(routeKey{}).(*routeName); ok {
			rn.name = pattern
		}
		h.ServeHTTP(w, r)
	})
}

// registerMetrics creates the server's collectors in a registry of its
// own, with the Go runtime's and the process's.
func (a *api) registerMetrics() error {
	a.registry = prometheus.NewRegistry()
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ghillie_http_requests_total",
		Help: "HTTP requests answered, by route and status code.",
	}, []string{"route", "code"})
	a.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ghillie_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})

	for _, c := range []prometheus.Collector{
		a.requests, a.durations, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := a.registry.Register(c); err != nil {
			return fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	return nil
}

// metricsHandler serves the metrics in Prometheus's text format.
func (a *api) metricsHandler() http.Handler {
	gatherers := prometheus.Gatherers{a.registry}
	if a.cfg.Metrics != nil {
		gatherers = append(gatherers, a.cfg.Metrics)
	}
	return promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{})
}

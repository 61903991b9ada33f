package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/specs"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func config(db *store.DB, model status.Model) httpapi.Config {
	return httpapi.Config{DB: db, Model: model, Reporting: reporting.DefaultConfig,
		APIToken: testToken}
}

func TestProbes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		c := newClient(t, config(db, status.NewMock()))

		var body map[string]string
		r := c.do(http.MethodGet, "/health")
		is.Equal(r.status, http.StatusOK)
		r.decode(t, &body)
		is.Equal(body["status"], "ok")

		r = c.do(http.MethodGet, "/ready")
		is.Equal(r.status, http.StatusOK)
		r.decode(t, &body)
		is.Equal(body["status"], "ready")

		r = c.do(http.MethodGet, "/openapi.yaml")
		is.Equal(r.status, http.StatusOK)
		is.Equal(string(r.body), string(specs.OpenAPI))

		r = c.do(http.MethodGet, "/metrics")
		is.Equal(r.status, http.StatusOK)
		is.True(strings.Contains(string(r.body),
			`ghillie_http_requests_total{code="200",route="GET /health"} 1`))
		is.True(strings.Contains(string(r.body), "go_goroutines"))
	})
}

func TestMetricsIncludeGivenGatherer(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		reg := prometheus.NewRegistry()
		_, err := ingest.NewMetrics(reg)
		is.NoErr(err)
		cfg := config(db, status.NewMock())
		cfg.Metrics = reg
		c := newClient(t, cfg)

		r := c.do(http.MethodGet, "/metrics")
		is.Equal(r.status, http.StatusOK)
		is.True(strings.Contains(string(r.body), "ghillie_ingestion_run_duration_seconds_count 0"))
	})
}

func TestReadyWithoutMigrations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, _ *store.DB) {
		is := is.New(t)
		empty := storetest.OpenEmpty(t, store.Dialect(strings.TrimPrefix(t.Name(),
			"TestReadyWithoutMigrations/")))
		c := newClient(t, config(empty, status.NewMock()))

		r := c.do(http.MethodGet, "/ready")
		is.Equal(r.status, http.StatusServiceUnavailable)
		var body map[string]string
		r.decode(t, &body)
		is.Equal(body["status"], "not_ready")
		is.True(strings.Contains(body["reason"], "ghillie migrate"))
	})
}

func TestReadyWithClosedDatabase(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		c := newClient(t, config(db, status.NewMock()))
		is.NoErr(db.Close())

		r := c.do(http.MethodGet, "/ready")
		is.Equal(r.status, http.StatusServiceUnavailable)
		is.True(!strings.Contains(string(r.body), "sql")) // no driver text leaks

		r = c.do(http.MethodGet, "/estates")
		is.Equal(r.status, http.StatusInternalServerError)
		e := r.apiError(t)
		is.Equal(e.Title, "Internal server error")
		is.True(strings.Contains(e.Description, r.header.Get("X-Request-Id")))
		is.True(!strings.Contains(string(r.body), "sql")) // no driver text leaks
	})
}

func TestUnmatchedRoutes(t *testing.T) {
	is := is.New(t)
	c := newClient(t, config(storetest.Open(t, store.SQLite), status.NewMock()))

	r := c.do(http.MethodGet, "/nothing/here")
	is.Equal(r.status, http.StatusNotFound)
	is.Equal(r.apiError(t).Title, httpapi.RouteNotFound)

	r = c.do(http.MethodDelete, "/health")
	is.Equal(r.status, http.StatusMethodNotAllowed)
	is.Equal(r.apiError(t).Title, "Method not allowed")
	is.True(strings.Contains(r.header.Get("Allow"), "GET"))

	r = c.do(http.MethodGet, "//health")
	is.Equal(r.status, http.StatusNotFound) // JSON, not the mux's HTML redirect
	is.True(strings.Contains(r.apiError(t).Description, "use /health instead"))
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	tests := []struct {
		name string
		cfg  httpapi.Config
		want string
	}{
		{"no database", httpapi.Config{Model: status.NewMock(), APIToken: "x",
			Reporting: reporting.DefaultConfig}, "DB is nil"},
		{"no model", httpapi.Config{DB: db, APIToken: "x", Reporting: reporting.DefaultConfig},
			"Model is nil"},
		{"no token", httpapi.Config{DB: db, Model: status.NewMock(),
			Reporting: reporting.DefaultConfig}, "APIToken is empty"},
		{"no window", httpapi.Config{DB: db, Model: status.NewMock(), APIToken: "x"},
			"reporting window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := httpapi.New(tt.cfg)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want)) // the error names the field
		})
	}
}

func TestRunRepositoryReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))
		path := "/reports/repositories/leynos/wildside"
		at := "?as_of=2024-07-14T00:00:00Z"

		r := c.post(path + at)
		is.Equal(r.status, http.StatusOK)
		var created struct {
			ReportID    string    `json:"report_id"`
			Repository  string    `json:"repository"`
			WindowStart time.Time `json:"window_start"`
			WindowEnd   time.Time `json:"window_end"`
			Status      string    `json:"status"`
			Model       string    `json:"model"`
			Metrics     struct {
				LatencyMS *int `json:"model_latency_ms"`
			} `json:"metrics"`
		}
		r.decode(t, &created)
		is.True(created.ReportID != "")
		is.Equal(created.Repository, "leynos/wildside")
		is.Equal(created.WindowStart, asOf.AddDate(0, 0, -7))
		is.Equal(created.WindowEnd, asOf)
		is.Equal(created.Status, "on_track")
		is.Equal(created.Model, "mock")
		is.True(created.Metrics.LatencyMS != nil)

		// The same window returns the stored report.
		r = c.post(path + at)
		is.Equal(r.status, http.StatusOK)
		var again struct {
			ReportID string `json:"report_id"`
		}
		r.decode(t, &again)
		is.Equal(again.ReportID, created.ReportID)

		// The next week has no events.
		r = c.post(path + "?as_of=2024-07-21T00:00:00Z")
		is.Equal(r.status, http.StatusNoContent)
		is.Equal(len(r.body), 0)
	})
}

func TestRunRepositoryReportWindow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))

		r := c.post("/reports/repositories/leynos/wildside" +
			"?window_start=2024-07-12T00:00:00Z&window_end=2024-07-14T00:00:00Z")
		is.Equal(r.status, http.StatusOK)
		var created struct {
			WindowStart time.Time `json:"window_start"`
		}
		r.decode(t, &created)
		is.Equal(created.WindowStart, asOf.AddDate(0, 0, -2))
	})
}

func TestRunRepositoryReportErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))
		r := c.post("/reports/repositories/leynos/wildside?as_of=2024-07-14T00:00:00Z")
		if r.status != http.StatusOK {
			t.Fatalf("first report: %d %s", r.status, r.body)
		}

		tests := []struct {
			name   string
			path   string
			auth   string
			status int
			field  string
		}{
			{"no token", "/leynos/wildside", "", http.StatusUnauthorized, ""},
			{"wrong token", "/leynos/wildside", "Bearer nope", http.StatusUnauthorized, ""},
			{"basic auth", "/leynos/wildside", "Basic " + testToken, http.StatusUnauthorized, ""},
			{"bad owner", "/-leynos/wildside", "", http.StatusBadRequest, "owner"},
			{"long owner", "/" + strings.Repeat("a", 40) + "/wildside", "", http.StatusBadRequest,
				"owner"},
			{"bad name", "/leynos/wild%20side", "", http.StatusBadRequest, "name"},
			{"long name", "/leynos/" + strings.Repeat("a", 101), "", http.StatusBadRequest, "name"},
			{"bad as_of", "/leynos/wildside?as_of=2024-07-14", "", http.StatusBadRequest, "as_of"},
			{"half window", "/leynos/wildside?window_start=2024-07-01T00:00:00Z", "",
				http.StatusBadRequest, "window_end"},
			{"window and as_of", "/leynos/wildside?window_start=2024-07-01T00:00:00Z" +
				"&window_end=2024-07-02T00:00:00Z&as_of=2024-07-02T00:00:00Z", "",
				http.StatusBadRequest, "as_of"},
			{"empty window", "/leynos/wildside?window_start=2024-07-02T00:00:00Z" +
				"&window_end=2024-07-02T00:00:00Z", "", http.StatusBadRequest, "window_end"},
			{"before last report", "/leynos/wildside?as_of=2024-07-10T00:00:00Z", "",
				http.StatusBadRequest, "as_of"},
			{"unknown repository", "/leynos/nope", "", http.StatusNotFound, ""},
			{"future", "/leynos/wildside?as_of=2150-12-31T23:59:59Z", "", http.StatusBadRequest,
				"as_of"},
			{"future window", "/leynos/wildside?window_start=2024-07-14T00:00:00Z" +
				"&window_end=2150-12-31T23:59:59Z", "", http.StatusBadRequest, "as_of"},
			{"year 9999", "/leynos/wildside?as_of=9999-12-31T23:59:59Z", "", http.StatusBadRequest,
				"as_of"},
			{"overlap", "/leynos/wildside?window_start=2024-07-10T00:00:00Z" +
				"&window_end=2024-07-14T00:00:00Z", "", http.StatusConflict, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				auth := tt.auth
				if auth == "" && tt.status != http.StatusUnauthorized {
					auth = "Bearer " + testToken
				}
				headers := []string{}
				if auth != "" {
					headers = []string{"Authorization", auth}
				}

				r := c.do(http.MethodPost, "/reports/repositories"+tt.path, headers...)
				is.Equal(r.status, tt.status)
				e := r.apiError(t)
				is.True(e.Title != "")
				is.True(e.Description != "")
				is.Equal(e.Field, tt.field)
				if tt.status == http.StatusUnauthorized {
					is.True(strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer"))
				}
				is.True(!strings.Contains(string(r.body), testToken)) // no secret in the body
			})
		}
	})
}

func TestRunRepositoryReportFailsValidation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, emptySummaries{}))

		r := c.post("/reports/repositories/leynos/wildside?as_of=2024-07-14T00:00:00Z")
		is.Equal(r.status, http.StatusUnprocessableEntity)
		var body struct {
			Title    string `json:"title"`
			ReviewID string `json:"review_id"`
			Issues   []struct {
				Code string `json:"code"`
			} `json:"issues"`
		}
		r.decode(t, &body)
		is.Equal(body.Title, "Report validation failed")
		is.True(body.ReviewID != "")
		is.True(len(body.Issues) > 0)
	})
}

func TestRunRepositoryReportTimesOut(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)
	newEstate(t, db)
	cfg := config(db, blockingModel{})
	cfg.ReportTimeout = 50 * time.Millisecond
	c := newClient(t, cfg)

	r := c.post("/reports/repositories/leynos/wildside?as_of=2024-07-14T00:00:00Z")
	is.Equal(r.status, http.StatusServiceUnavailable)
	is.Equal(r.apiError(t).Title, "Timed out")
}

func TestRunRepositoryReportLimit(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)
	newEstate(t, db)
	called := make(chan struct{}, 1)
	cfg := config(db, blockingModel{called: called})
	cfg.ReportTimeout = time.Second
	cfg.MaxReports = 1
	c := newClient(t, cfg)
	path := "/reports/repositories/leynos/wildside?as_of=2024-07-14T00:00:00Z"

	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, c.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		_ = res.Body.Close()
		first <- res.StatusCode
	}()
	<-called

	r := c.post(path)
	is.Equal(r.status, http.StatusTooManyRequests)
	is.Equal(r.header.Get("Retry-After"), "30")
	is.Equal(<-first, http.StatusServiceUnavailable) // the first timed out in the model
}

func TestRunRepositoryReportRecoversPanic(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)
	newEstate(t, db)
	c := newClient(t, config(db, panickingModel{}))

	r := c.post("/reports/repositories/leynos/wildside?as_of=2024-07-14T00:00:00Z")
	is.Equal(r.status, http.StatusInternalServerError)
	is.Equal(r.apiError(t).Title, "Internal server error")
	is.True(!strings.Contains(string(r.body), "model bug")) // the panic stays in the log

	r = c.do(http.MethodGet, "/health")
	is.Equal(r.status, http.StatusOK) // the server still serves
}

func TestUnauthenticatedWhenAllowed(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)
	newEstate(t, db)
	cfg := config(db, status.NewMock())
	cfg.APIToken, cfg.AllowUnauthenticated = "", true
	c := newClient(t, cfg)

	r := c.do(http.MethodPost, "/reports/repositories/leynos/wildside?as_of=2024-07-14T00:00:00Z",
		"Authorization", "Bearer anything")
	is.Equal(r.status, http.StatusOK)
}

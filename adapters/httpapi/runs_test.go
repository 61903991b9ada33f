package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/riverqueue/river"

	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// runJSON is the JSON body of a run.
type runJSON struct {
	RunID      string `json:"run_id"`
	Kind       string `json:"kind"`
	State      string `json:"state"`
	UnitsTotal *int   `json:"units_total"`
	Succeeded  int    `json:"succeeded"`
	Skipped    int    `json:"skipped"`
	Failed     int    `json:"failed"`
	Units      []struct {
		Name   string `json:"name"`
		Detail string `json:"detail"`
	} `json:"units"`
}

// startQueue returns a started job queue of db with fast polling.
func startQueue(t *testing.T, db *store.DB) *worker.Queue {
	t.Helper()
	ctx := context.Background()

	if err := worker.Migrate(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	q, err := worker.New(worker.Config{DB: db, Model: status.NewMock(), ReportSchedule: "off",
		PollInterval: 50 * time.Millisecond, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return q
}

// follow reads the run at path until it has finished.
func follow(t *testing.T, c *apiClient, path string) runJSON {
	t.Helper()

	deadline := time.Now().Add(time.Minute)
	for {
		r := c.do(http.MethodGet, path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		var run runJSON
		r.decode(t, &run)
		switch run.State {
		case "succeeded", "partial", "failed":
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after a minute", run.RunID, run.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		cfg := config(db, status.NewMock())
		cfg.Runner = startQueue(t, db)
		c := newClient(t, cfg)

		r := c.post("/reports/runs?scope=estate&estate_key=wildside&as_of=2024-07-14T00:00:00Z")
		is.Equal(r.status, http.StatusAccepted)
		var queued runJSON
		r.decode(t, &queued)
		is.Equal(queued.State, "queued")
		is.Equal(queued.Kind, "report")
		location := r.header.Get("Location")
		is.Equal(location, "/reports/runs/"+queued.RunID)

		run := follow(t, c, location)
		is.Equal(run.State, "succeeded")
		is.Equal(*run.UnitsTotal, 7)
		is.Equal(run.Succeeded, 2)
		is.Equal(run.Skipped, 5)

		// A report run is not an ingestion run.
		r = c.do(http.MethodGet, "/ingestion/runs/"+queued.RunID)
		is.Equal(r.status, http.StatusNotFound)

		// Without GitHub access the worker fails the ingestion, saying why.
		r = c.post("/ingestion/runs?scope=repository&owner=leynos&name=wildside")
		is.Equal(r.status, http.StatusAccepted)
		run = follow(t, c, r.header.Get("Location"))
		is.Equal(run.State, "failed")
		is.True(strings.Contains(run.Units[0].Detail, "GHILLIE_GITHUB_TOKEN"))
	})
}

func TestRunErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		newEstate(t, db)
		cfg := config(db, status.NewMock())
		cfg.Runner = startQueue(t, db)
		c := newClient(t, cfg)
		noQueue := newClient(t, config(db, status.NewMock()))
		_, err := registry.NewService(db, nil).Disable(context.Background(), "leynos", "ortho-config")
		if err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name   string
			client *apiClient
			method string
			path   string
			token  bool
			want   int
		}{
			{"no token", c, http.MethodPost, "/ingestion/runs?scope=estate&estate_key=wildside", false, 401},
			{"bad scope", c, http.MethodPost, "/ingestion/runs?scope=org&estate_key=wildside", true, 400},
			{"bad owner", c, http.MethodPost, "/reports/runs?scope=repository&owner=-x&name=y", true, 400},
			{"bad as_of", c, http.MethodPost, "/reports/runs?scope=estate&estate_key=wildside&as_of=monday",
				true, 400},
			{"unknown estate", c, http.MethodPost, "/reports/runs?scope=estate&estate_key=nowhere", true, 404},
			{"future as_of", c, http.MethodPost,
				"/reports/runs?scope=estate&estate_key=wildside&as_of=2099-01-01T00:00:00Z", true, 400},
			{"unknown repository", c, http.MethodPost,
				"/ingestion/runs?scope=repository&owner=nobody&name=nothing", true, 404},
			{"ingestion disabled", c, http.MethodPost,
				"/ingestion/runs?scope=repository&owner=leynos&name=ortho-config", true, 409},
			{"unknown run", c, http.MethodGet, "/reports/runs/0190", false, 404},
			{"no queue", noQueue, http.MethodPost, "/reports/runs?scope=estate&estate_key=wildside", true, 503},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				var r response
				if tt.token {
					r = tt.client.do(tt.method, tt.path, "Authorization", "Bearer "+testToken)
				} else {
					r = tt.client.do(tt.method, tt.path)
				}
				is.Equal(r.status, tt.want)
				is.True(r.apiError(t).Description != "")
			})
		}
	})
}

func TestTimeBounds(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))

		for _, at := range []string{"0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z"} {
			t.Run(at, func(t *testing.T) {
				is := is.New(t)
				r := c.post("/reports/repositories/leynos/wildside?as_of=" + at)
				is.Equal(r.status, http.StatusBadRequest)
				is.Equal(r.apiError(t).Field, "as_of")
			})
		}
	})
}

// ingestJobs returns the arguments of the queued ingestion jobs of
// repositories.
func ingestJobs(t *testing.T, q *worker.Queue) []worker.IngestRepositoryArgs {
	t.Helper()

	params := river.NewJobListParams().Kinds(worker.KindIngestRepository)
	jobs, err := q.Client().JobList(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	var args []worker.IngestRepositoryArgs
	for _, j := range jobs.Jobs {
		var a worker.IngestRepositoryArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		args = append(args, a)
	}
	return args
}

func TestRunOptions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		cfg := config(db, status.NewMock())
		q := startQueue(t, db)
		cfg.Runner = q
		c := newClient(t, cfg)

		// The run's limits travel with its job; without them the job
		// carries none and the worker uses its own.
		r := c.post("/ingestion/runs?scope=repository&owner=leynos&name=wildside" +
			"&lookback_days=2&max_events_per_kind=40")
		is.Equal(r.status, http.StatusAccepted)
		r = c.post("/ingestion/runs?scope=repository&owner=leynos&name=wildside")
		is.Equal(r.status, http.StatusAccepted)
		jobs := ingestJobs(t, q)
		is.Equal(len(jobs), 2)
		limits := map[worker.IngestLimits]int{}
		for _, j := range jobs {
			limits[j.IngestLimits]++
		}
		is.Equal(limits[worker.IngestLimits{LookbackDays: 2, MaxEventsPerKind: 40}], 1)
		is.Equal(limits[worker.IngestLimits{}], 1)

		// A first window of 3 days, where the server's is 7.
		r = c.post("/reports/runs?scope=repository&owner=leynos&name=wildside" +
			"&as_of=2024-07-14T00:00:00Z&window_days=3")
		is.Equal(r.status, http.StatusAccepted)
		run := follow(t, c, r.header.Get("Location"))
		is.Equal(run.State, "succeeded")
		r = c.do(http.MethodGet, "/repositories/leynos/wildside/reports/latest")
		is.Equal(r.status, http.StatusOK)
		var latest struct {
			WindowStart time.Time `json:"window_start"`
		}
		r.decode(t, &latest)
		is.Equal(latest.WindowStart, asOf.AddDate(0, 0, -3))
	})
}

func TestRunOptionErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		newEstate(t, db)
		cfg := config(db, status.NewMock())
		cfg.Runner = startQueue(t, db)
		c := newClient(t, cfg)

		ingestion := "/ingestion/runs?scope=estate&estate_key=wildside&"
		reports := "/reports/runs?scope=estate&estate_key=wildside&"
		tests := []struct {
			name, path, field string
		}{
			{"zero lookback", ingestion + "lookback_days=0", "lookback_days"},
			{"long lookback", ingestion + "lookback_days=3651", "lookback_days"},
			{"text lookback", ingestion + "lookback_days=week", "lookback_days"},
			{"signed lookback", ingestion + "lookback_days=%2B3", "lookback_days"},
			{"zero cap", ingestion + "max_events_per_kind=0", "max_events_per_kind"},
			{"large cap", ingestion + "max_events_per_kind=10001", "max_events_per_kind"},
			{"decimal cap", ingestion + "max_events_per_kind=1.5", "max_events_per_kind"},
			{"zero window", reports + "window_days=0", "window_days"},
			{"long window", reports + "window_days=3651", "window_days"},
			{"negative window", reports + "window_days=-1", "window_days"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				r := c.post(tt.path)
				is.Equal(r.status, http.StatusBadRequest)
				e := r.apiError(t)
				is.Equal(e.Field, tt.field)
				is.True(strings.Contains(e.Description, "use a whole number from 1 to"))
			})
		}
	})
}

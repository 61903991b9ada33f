package reporting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func addRepo(t *testing.T, db *store.DB, name string) string {
	t.Helper()

	id := store.NewID()
	_, err := db.Exec(db.Rebind(`INSERT INTO repositories (id, github_owner, github_name,
		default_branch, ingestion_enabled) VALUES (?, 'acme', ?, 'main', ?)`), id, name, true)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// addReports stores one report per latency, a week apart, generated at
// start plus a minute each.
func addReports(t *testing.T, db *store.DB, repoID string, latencies ...*int) {
	t.Helper()

	s := gold.NewStore(db)
	for i, l := range latencies {
		w := start.Add(time.Duration(i) * 7 * 24 * time.Hour)
		tokens := 10
		_, _, err := s.Insert(context.Background(), gold.Report{
			Subject:     gold.Subject{Scope: gold.ScopeRepository, ID: repoID},
			WindowStart: w, WindowEnd: w.Add(7 * 24 * time.Hour),
			GeneratedAt: start.Add(time.Duration(i) * time.Minute),
			LatencyMS:   l, PromptTokens: &tokens,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func ms(n int) *int { return &n }

func TestMetricsPercentile(t *testing.T) {
	for n, want := range map[int]float64{1: 1, 2: 2, 3: 3, 10: 10, 19: 19, 20: 19, 21: 20, 40: 38} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				repo := addRepo(t, db, "widget")
				var latencies []*int
				for i := n; i >= 1; i-- { // stored out of order
					latencies = append(latencies, ms(i))
				}
				addReports(t, db, repo, latencies...)

				snap, err := reporting.NewMetrics(db).Snapshot(context.Background(),
					reporting.MetricsQuery{Start: start, End: start.Add(24 * time.Hour)})
				is.NoErr(err)
				is.Equal(snap.TotalReports, n)
				is.Equal(*snap.P95LatencyMS, want)
				is.Equal(*snap.AvgLatencyMS, float64(n+1)/2)
			})
		})
	}
}

func TestMetricsTotals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		widget := addRepo(t, db, "widget")
		gadget := addRepo(t, db, "gadget")
		_, err := db.Exec(db.Rebind(`INSERT INTO repository_estates (repository_id, estate_id)
			VALUES (?, 'e1')`), widget)
		is.NoErr(err)
		addReports(t, db, widget, ms(100), nil)
		addReports(t, db, gadget, ms(300))

		m := reporting.NewMetrics(db)
		all, err := m.Snapshot(ctx, reporting.MetricsQuery{Start: start, End: start.Add(time.Hour)})
		is.NoErr(err)
		is.Equal(all.TotalReports, 3)
		is.Equal(all.ReportsWithMetrics, 3) // tokens count as metrics
		is.Equal(*all.AvgLatencyMS, 200.0)
		is.Equal(all.TotalPromptTokens, int64(30))
		is.Equal(all.TotalTokens, int64(30))

		estate, err := m.Snapshot(ctx, reporting.MetricsQuery{Start: start, End: start.Add(time.Hour),
			EstateID: "e1"})
		is.NoErr(err)
		is.Equal(estate.TotalReports, 2)
		is.Equal(*estate.P95LatencyMS, 100.0)

		empty, err := m.Snapshot(ctx, reporting.MetricsQuery{Start: end, End: end.Add(time.Hour)})
		is.NoErr(err)
		is.Equal(empty.TotalReports, 0)
		is.Equal(empty.AvgLatencyMS, nil)
		is.Equal(empty.P95LatencyMS, nil)

		_, err = m.Snapshot(ctx, reporting.MetricsQuery{Start: end, End: start})
		is.True(err != nil)
	})
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want reporting.Config
		err  string
	}{
		{"defaults", nil, reporting.Config{WindowDays: 7, MaxAttempts: 2}, ""},
		{"set", map[string]string{"GHILLIE_REPORTING_WINDOW_DAYS": " 14 ",
			"GHILLIE_VALIDATION_MAX_ATTEMPTS": "3", "GHILLIE_REPORT_SINK_PATH": " /tmp/r "},
			reporting.Config{WindowDays: 14, MaxAttempts: 3, SinkPath: "/tmp/r"}, ""},
		{"blank", map[string]string{"GHILLIE_REPORTING_WINDOW_DAYS": " "},
			reporting.Config{WindowDays: 7, MaxAttempts: 2}, ""},
		{"text", map[string]string{"GHILLIE_REPORTING_WINDOW_DAYS": "week"}, reporting.Config{},
			`GHILLIE_REPORTING_WINDOW_DAYS="week" is not an integer`},
		{"zero", map[string]string{"GHILLIE_VALIDATION_MAX_ATTEMPTS": "0"}, reporting.Config{},
			"GHILLIE_VALIDATION_MAX_ATTEMPTS=0 is out of range: use 1 to 10"},
		{"huge", map[string]string{"GHILLIE_REPORTING_WINDOW_DAYS": "100000000"}, reporting.Config{},
			"GHILLIE_REPORTING_WINDOW_DAYS=100000000 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			cfg, err := reporting.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				is.True(err != nil)
				is.True(len(err.Error()) >= len(tt.err) && err.Error()[:len(tt.err)] == tt.err)
				return
			}
			is.NoErr(err)
			is.Equal(cfg, tt.want)
		})
	}
}

package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// addActivity stores, in leynos/wildside, a pull request opened two days
// before asOf and merged a day later, an issue opened four days before
// asOf and closed two days later, and an issue opened ten days before
// asOf and still open.
func addActivity(t *testing.T, db *store.DB) {
	t.Helper()

	ts := func(days int) string { return asOf.AddDate(0, 0, days).Format(time.RFC3339) }
	base := map[string]any{"repo_owner": "leynos", "repo_name": "wildside"}
	payload := func(fields map[string]any) map[string]any {
		for k, v := range base {
			fields[k] = v
		}
		return fields
	}
	envs := []bronze.Envelope{
		{SourceSystem: "github", SourceEventID: "pr1", EventType: "github.pull_request",
			RepoExternalID: "leynos/wildside", OccurredAt: asOf.AddDate(0, 0, -1),
			Payload: payload(map[string]any{"id": 101, "number": 7, "title": "Add walks",
				"state": "merged", "base_branch": "main", "head_branch": "walks",
				"created_at": ts(-2), "merged_at": ts(-1), "closed_at": ts(-1)})},
		{SourceSystem: "github", SourceEventID: "i1", EventType: "github.issue",
			RepoExternalID: "leynos/wildside", OccurredAt: asOf.AddDate(0, 0, -2),
			Payload: payload(map[string]any{"id": 201, "number": 8, "title": "Slow tiles",
				"state": "closed", "created_at": ts(-4), "closed_at": ts(-2)})},
		{SourceSystem: "github", SourceEventID: "i2", EventType: "github.issue",
			RepoExternalID: "leynos/wildside", OccurredAt: asOf.AddDate(0, 0, -10),
			Payload: payload(map[string]any{"id": 202, "number": 9, "title": "Offline mode",
				"state": "open", "created_at": ts(-10)})},
	}
	ctx := context.Background()
	if _, err := bronze.NewWriter(db).WriteBatch(ctx, envs); err != nil {
		t.Fatal(err)
	}
	if _, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

// requiredJSON is the metrics object of a response.
type requiredJSON struct {
	PullRequestsMerged       int      `json:"pull_requests_merged"`
	MeanTimeToMergeSeconds   *float64 `json:"mean_time_to_merge_seconds"`
	IssuesResolved           int      `json:"issues_resolved"`
	IssuesOutstanding        int      `json:"issues_outstanding"`
	ResolvedIssueOpenSeconds struct {
		Median *float64 `json:"median"`
	} `json:"resolved_issue_open_seconds"`
	OutstandingIssueAgeSeconds struct {
		Max *float64 `json:"max"`
	} `json:"outstanding_issue_age_seconds"`
}

type repositoryRequiredJSON struct {
	Repository  string       `json:"repository"`
	WindowStart time.Time    `json:"window_start"`
	WindowEnd   time.Time    `json:"window_end"`
	Metrics     requiredJSON `json:"metrics"`
}

func TestRequiredMetricsRoutes(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		newEstate(t, db)
		addActivity(t, db)
		c := newClient(t, config(db, status.NewMock()))
		const dayS = 86400.0

		t.Run("repository", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/metrics/repositories/leynos/wildside/required"+
				"?as_of=2024-07-14T00:00:00Z")
			is.Equal(r.status, http.StatusOK)
			var body repositoryRequiredJSON
			r.decode(t, &body)
			is.Equal(body.Repository, "leynos/wildside")
			is.True(body.WindowStart.Equal(asOf.AddDate(0, 0, -7)))
			is.True(body.WindowEnd.Equal(asOf))
			is.Equal(body.Metrics.PullRequestsMerged, 1)
			is.Equal(*body.Metrics.MeanTimeToMergeSeconds, dayS)
			is.Equal(body.Metrics.IssuesResolved, 1)
			is.Equal(*body.Metrics.ResolvedIssueOpenSeconds.Median, 2*dayS)
			is.Equal(body.Metrics.IssuesOutstanding, 1)
			is.Equal(*body.Metrics.OutstandingIssueAgeSeconds.Max, 10*dayS)
		})

		t.Run("explicit window", func(t *testing.T) {
			is := is.New(t)
			// The pull request merged exactly at the end is left out, and
			// the issue closed exactly at the start counts.
			r := c.do(http.MethodGet, "/metrics/repositories/leynos/wildside/required"+
				"?window_start=2024-07-12T00:00:00Z&window_end=2024-07-13T00:00:00Z")
			is.Equal(r.status, http.StatusOK)
			var body repositoryRequiredJSON
			r.decode(t, &body)
			is.Equal(body.Metrics.PullRequestsMerged, 0)
			is.Equal(body.Metrics.MeanTimeToMergeSeconds, nil)
			is.Equal(body.Metrics.IssuesResolved, 1)
			is.Equal(body.Metrics.IssuesOutstanding, 1)
		})

		t.Run("window days", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/metrics/repositories/leynos/wildside/required"+
				"?as_of=2024-07-14T00:00:00Z&window_days=1")
			is.Equal(r.status, http.StatusOK)
			var body repositoryRequiredJSON
			r.decode(t, &body)
			is.True(body.WindowStart.Equal(asOf.AddDate(0, 0, -1)))
			is.Equal(body.Metrics.PullRequestsMerged, 1)
			is.Equal(body.Metrics.IssuesResolved, 0)
		})

		t.Run("estate", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/estates/wildside/metrics/required?as_of=2024-07-14T00:00:00Z")
			is.Equal(r.status, http.StatusOK)
			var body struct {
				Estate       string                   `json:"estate"`
				Repositories []repositoryRequiredJSON `json:"repositories"`
				Totals       requiredJSON             `json:"totals"`
			}
			r.decode(t, &body)
			is.Equal(body.Estate, "wildside")
			is.Equal(len(body.Repositories), 6)
			is.Equal(body.Repositories[0].Repository, "leynos/ortho-config")
			is.Equal(body.Repositories[0].Metrics.IssuesOutstanding, 0)
			is.Equal(body.Totals.PullRequestsMerged, 1)
			is.Equal(body.Totals.IssuesResolved, 1)
			is.Equal(body.Totals.IssuesOutstanding, 1)
		})

		t.Run("empty window", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/estates/wildside/metrics/required"+
				"?window_start=2020-01-01T00:00:00Z&window_end=2020-01-02T00:00:00Z")
			is.Equal(r.status, http.StatusOK)
			var body struct {
				Totals requiredJSON `json:"totals"`
			}
			r.decode(t, &body)
			is.Equal(body.Totals.PullRequestsMerged, 0)
			is.Equal(body.Totals.IssuesOutstanding, 0)
			is.Equal(body.Totals.OutstandingIssueAgeSeconds.Max, nil)
		})

		errorTests := []struct {
			name   string
			path   string
			status int
			field  string
		}{
			{"unknown repository", "/metrics/repositories/leynos/nope/required",
				http.StatusNotFound, ""},
			{"unknown estate", "/estates/nope/metrics/required", http.StatusNotFound, ""},
			{"bad owner", "/metrics/repositories/-x/wildside/required", http.StatusBadRequest,
				"owner"},
			{"bad estate", "/estates/Wild_Side/metrics/required", http.StatusBadRequest, "estate"},
			{"bad time", "/estates/wildside/metrics/required?as_of=yesterday",
				http.StatusBadRequest, "as_of"},
			{"start alone", "/estates/wildside/metrics/required?window_start=2024-07-01T00:00:00Z",
				http.StatusBadRequest, "window_end"},
			{"end alone", "/metrics/repositories/leynos/wildside/required" +
				"?window_end=2024-07-01T00:00:00Z", http.StatusBadRequest, "window_start"},
			{"backwards window", "/estates/wildside/metrics/required" +
				"?window_start=2024-07-02T00:00:00Z&window_end=2024-07-01T00:00:00Z",
				http.StatusBadRequest, "window_end"},
			{"window and as_of", "/estates/wildside/metrics/required?as_of=2024-07-14T00:00:00Z" +
				"&window_start=2024-07-01T00:00:00Z&window_end=2024-07-02T00:00:00Z",
				http.StatusBadRequest, "as_of"},
			{"window and days", "/estates/wildside/metrics/required?window_days=3" +
				"&window_start=2024-07-01T00:00:00Z&window_end=2024-07-02T00:00:00Z",
				http.StatusBadRequest, "window_days"},
			{"zero days", "/estates/wildside/metrics/required?window_days=0",
				http.StatusBadRequest, "window_days"},
			{"text days", "/metrics/repositories/leynos/wildside/required?window_days=week",
				http.StatusBadRequest, "window_days"},
		}
		for _, tt := range errorTests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				r := c.do(http.MethodGet, tt.path)
				is.Equal(r.status, tt.status)
				e := r.apiError(t)
				is.True(e.Title != "")
				is.True(e.Description != "")
				is.Equal(e.Field, tt.field)
			})
		}
	})
}

package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestListRepositories(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))

		var list struct {
			Repositories []struct {
				ID    string `json:"id"`
				Owner string `json:"owner"`
				Name  string `json:"name"`
			} `json:"repositories"`
			Limit int `json:"limit"`
		}
		c.do(http.MethodGet, "/repositories?estate_key=wildside&limit=2").decode(t, &list)
		is.Equal(len(list.Repositories), 2)
		is.Equal(list.Limit, 2)
		is.True(list.Repositories[0].ID != "")

		c.do(http.MethodGet, "/repositories?ingestion=disabled").decode(t, &list)
		is.Equal(len(list.Repositories), 0) // a sync enables every listed repository

		for _, query := range []string{"ingestion=maybe", "estate_key=Bad_Key", "limit=0",
			"limit=101", "offset=-1"} {
			r := c.do(http.MethodGet, "/repositories?"+query)
			is.Equal(r.status, http.StatusBadRequest)
			is.True(r.apiError(t).Field != "") // names the parameter
		}
		is.Equal(c.do(http.MethodGet, "/repositories?estate_key=nowhere").status, http.StatusNotFound)
	})
}

func TestIngestionHealth(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))

		var health struct {
			Repositories []struct {
				Slug      string `json:"repo_slug"`
				IsStalled bool   `json:"is_stalled"`
			} `json:"repositories"`
			Threshold float64 `json:"stalled_threshold_seconds"`
		}
		c.do(http.MethodGet, "/ingestion/health").decode(t, &health)
		is.True(len(health.Repositories) > 0)
		is.True(health.Repositories[0].IsStalled) // never ingested
		is.Equal(health.Threshold, ingest.DefaultStalledThreshold.Seconds())

		ingestOnce(t, db)
		c.do(http.MethodGet, "/ingestion/health?stalled_threshold=2h").decode(t, &health)
		is.Equal(health.Threshold, 7200.0)
		for _, lag := range health.Repositories {
			is.Equal(lag.IsStalled, lag.Slug != "leynos/wildside")
		}

		for _, bad := range []string{"soon", "-1h", "0s", "100000h"} {
			r := c.do(http.MethodGet, "/ingestion/health?stalled_threshold="+bad)
			is.Equal(r.status, http.StatusBadRequest)
			is.Equal(r.apiError(t).Field, "stalled_threshold")
		}
	})
}

func TestReviews(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))
		auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}

		var repoID string
		is.NoErr(db.Get(&repoID, `SELECT id FROM repositories WHERE github_name = 'wildside'`))
		review, err := gold.NewStore(db).MarkForReview(context.Background(), gold.Review{
			Subject:     gold.Subject{Scope: gold.ScopeRepository, ID: repoID},
			WindowStart: asOf.Add(-7 * 24 * time.Hour), WindowEnd: asOf, Model: "mock",
			AttemptCount: 2, Issues: []gold.ValidationIssue{{Code: "empty", Message: "no summary"}}})
		is.NoErr(err)

		type reviewJSON struct {
			ID     string `json:"id"`
			State  string `json:"state"`
			Note   string `json:"resolution_note"`
			Issues []struct {
				Code string `json:"code"`
			} `json:"validation_issues"`
		}
		var list struct {
			Reviews []reviewJSON `json:"reviews"`
		}
		c.do(http.MethodGet, "/reports/reviews?state=pending&scope=repository").decode(t, &list)
		is.Equal(len(list.Reviews), 1)
		is.Equal(list.Reviews[0].ID, review.ID)
		is.Equal(list.Reviews[0].Issues[0].Code, "empty")

		path := "/reports/reviews/" + review.ID + "/resolve"
		is.Equal(c.send(http.MethodPost, path, []byte(`{"note": "x"}`)).status, http.StatusUnauthorized)
		for _, body := range []string{`{"note": 1}`, `{"why": "x"}`, `{"note": "a"} {}`, `[]`,
			`{"note": "` + strings.Repeat("n", 2001) + `"}`, `{"note": "bell\u0007"}`} {
			r := c.send(http.MethodPost, path, []byte(body), auth...)
			is.Equal(r.status, http.StatusBadRequest)
			is.Equal(r.apiError(t).Field, "note")
		}

		var resolved reviewJSON
		r := c.send(http.MethodPost, path, []byte(`{"note": "checked by hand"}`), auth...)
		is.Equal(r.status, http.StatusOK)
		r.decode(t, &resolved)
		is.Equal(resolved.State, "resolved")
		is.Equal(resolved.Note, "checked by hand")

		r = c.send(http.MethodPost, path, []byte(`{}`), auth...)
		is.Equal(r.status, http.StatusConflict)
		is.True(strings.Contains(r.apiError(t).Description, "checked by hand"))
		r = c.send(http.MethodPost, "/reports/reviews/no-such-id/resolve", nil, auth...)
		is.Equal(r.status, http.StatusNotFound)

		c.do(http.MethodGet, "/reports/reviews?state=pending").decode(t, &list)
		is.Equal(len(list.Reviews), 0)
		is.Equal(c.do(http.MethodGet, "/reports/reviews?state=open").status, http.StatusBadRequest)
		is.Equal(c.do(http.MethodGet, "/reports/reviews?scope=team").status, http.StatusBadRequest)
	})
}

func TestExports(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))
		auth := []string{"Authorization", "Bearer " + testToken}
		window := "&window_start=2024-07-01T00:00:00Z&window_end=2024-07-14T00:00:00Z"
		repo := "scope=repository&owner=leynos&name=wildside" + window

		r := c.do(http.MethodPost, "/exports/events?"+repo+"&format=jsonl", auth...)
		is.Equal(r.status, http.StatusOK)
		is.Equal(r.header.Get("Content-Type"), "application/x-ndjson")
		is.Equal(strings.Count(string(r.body), "\n"), 1) // the one commit
		is.True(strings.Contains(string(r.body), `"source_event_id":"c1"`))

		r = c.do(http.MethodPost, "/exports/evidence?scope=estate&estate_key=wildside"+window+
			"&format=csv", auth...)
		is.Equal(r.status, http.StatusOK)
		is.True(strings.HasPrefix(r.header.Get("Content-Type"), "text/csv"))
		is.Equal(strings.Count(string(r.body), "\n"), 2) // header and the commit

		r = c.do(http.MethodPost, "/exports/bundle?"+repo, auth...)
		is.Equal(r.status, http.StatusOK)
		is.True(strings.HasPrefix(string(r.body), "{")) // one bundle, not an array

		tests := []struct {
			name, path string
			want       int
			field      string
		}{
			{"no token", "/exports/events?" + repo, http.StatusUnauthorized, ""},
			{"kind", "/exports/commits?" + repo, http.StatusBadRequest, "kind"},
			{"csv bundle", "/exports/bundle?" + repo + "&format=csv", http.StatusBadRequest, "format"},
			{"coverage", "/exports/events?" + repo + "&include_coverage=true", http.StatusBadRequest,
				"include_coverage"},
			{"unknown", "/exports/events?" + repo + "&windw_days=3", http.StatusBadRequest, "windw_days"},
			{"scope", "/exports/events?scope=project" + window, http.StatusBadRequest, "scope"},
			{"half window", "/exports/events?scope=estate&estate_key=wildside&window_start=" +
				"2024-07-01T00:00:00Z", http.StatusBadRequest, "window_end"},
			{"no estate", "/exports/events?scope=estate&estate_key=nowhere", http.StatusNotFound, ""},
			{"no repository", "/exports/events?scope=repository&owner=a&name=b", http.StatusNotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				headers := auth
				if tt.want == http.StatusUnauthorized {
					headers = nil
				}
				r := c.do(http.MethodPost, tt.path, headers...)
				is.Equal(r.status, tt.want)
				is.Equal(r.apiError(t).Field, tt.field)
			})
		}
	})
}

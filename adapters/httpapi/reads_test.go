package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// reportJSON is the part of a report body the tests check.
type reportJSON struct {
	ReportID   string   `json:"report_id"`
	Scope      string   `json:"scope"`
	Subject    string   `json:"subject"`
	Status     string   `json:"status"`
	Summary    string   `json:"summary"`
	Highlights []string `json:"highlights"`
}

type historyJSON struct {
	Reports []reportJSON `json:"reports"`
	Limit   int          `json:"limit"`
	Offset  int          `json:"offset"`
}

const markdown = "text/markdown"

func TestReadRoutesBeforeReports(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))

		tests := []struct {
			name   string
			path   string
			status int
			field  string
		}{
			{"repository latest", "/repositories/leynos/wildside/reports/latest",
				http.StatusNotFound, ""},
			{"unknown repository", "/repositories/leynos/nope/reports", http.StatusNotFound, ""},
			{"bad owner", "/repositories/le%20ynos/wildside/reports", http.StatusBadRequest,
				"owner"},
			{"project latest", "/estates/wildside/projects/wildside/reports/latest",
				http.StatusNotFound, ""},
			{"unknown project", "/estates/wildside/projects/nope/reports", http.StatusNotFound, ""},
			{"bad project", "/estates/wildside/projects/No_Pe/reports", http.StatusBadRequest,
				"project"},
			{"estate latest", "/estates/wildside/reports/latest", http.StatusNotFound, ""},
			{"unknown estate", "/estates/nope/reports", http.StatusNotFound, ""},
			{"bad estate", "/estates/Wild_Side/reports", http.StatusBadRequest, "estate"},
			{"estate repositories", "/estates/nope/repositories", http.StatusNotFound, ""},
			{"zero limit", "/repositories/leynos/wildside/reports?limit=0", http.StatusBadRequest,
				"limit"},
			{"large limit", "/estates/wildside/repositories?limit=101", http.StatusBadRequest,
				"limit"},
			{"bad offset", "/estates/wildside/reports?offset=-1", http.StatusBadRequest, "offset"},
			{"text limit", "/estates/wildside/reports?limit=ten", http.StatusBadRequest, "limit"},
		}
		for _, tt := range tests {
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

		// Markdown is asked for, but errors stay JSON.
		is := is.New(t)
		r := c.do(http.MethodGet, "/estates/wildside/reports/latest", "Accept", markdown)
		is.Equal(r.status, http.StatusNotFound)
		is.Equal(r.apiError(t).Title, "Report not found")

		// A project the catalogue lacks is not one without reports yet.
		r = c.do(http.MethodGet, "/estates/wildside/projects/nope/reports/latest")
		is.Equal(r.status, http.StatusNotFound)
		is.Equal(r.apiError(t).Title, "Project not found")
		r = c.do(http.MethodGet, "/estates/wildside/projects/wildside/reports/latest")
		is.Equal(r.status, http.StatusNotFound)
		e := r.apiError(t)
		is.Equal(e.Title, "Report not found")
		is.True(strings.Contains(e.Description, "scope estate"))
	})
}

func TestReadRoutes(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		estateID := newEstate(t, db)
		runEstate(t, db, estateID)
		c := newClient(t, config(db, status.NewMock()))

		t.Run("repository latest", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/repositories/leynos/wildside/reports/latest")
			is.Equal(r.status, http.StatusOK)
			var rep reportJSON
			r.decode(t, &rep)
			is.Equal(rep.Scope, "repository")
			is.Equal(rep.Subject, "leynos/wildside")
			is.Equal(rep.Status, "on_track")
			is.True(rep.Summary != "")

			r = c.do(http.MethodGet, "/repositories/leynos/wildside/reports/latest",
				"Accept", "text/markdown, application/json;q=0.5")
			is.Equal(r.status, http.StatusOK)
			is.True(strings.HasPrefix(r.header.Get("Content-Type"), markdown))
			is.True(strings.HasPrefix(string(r.body),
				"# leynos/wildside — Status report (2024-07-07 to 2024-07-14)"))
		})

		t.Run("repository history", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/repositories/leynos/wildside/reports?limit=5")
			is.Equal(r.status, http.StatusOK)
			var h historyJSON
			r.decode(t, &h)
			is.Equal(len(h.Reports), 1)
			is.Equal(h.Limit, 5)
			is.Equal(h.Offset, 0)

			r = c.do(http.MethodGet, "/repositories/leynos/wildside/reports", "Accept", markdown)
			is.Equal(r.status, http.StatusOK)
			is.True(strings.HasPrefix(string(r.body), "<!-- ghillie:report ")) // names each report
			is.Equal(strings.Count(string(r.body), "<!-- ghillie:report "), 1)

			r = c.do(http.MethodGet, "/repositories/leynos/wildside/reports?offset=1")
			is.Equal(r.status, http.StatusOK)
			h = historyJSON{}
			r.decode(t, &h)
			is.Equal(len(h.Reports), 0)
			is.Equal(h.Offset, 1)
		})

		t.Run("project", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/estates/wildside/projects/wildside/reports/latest")
			is.Equal(r.status, http.StatusOK)
			var rep reportJSON
			r.decode(t, &rep)
			is.Equal(rep.Scope, "project")
			is.Equal(rep.Subject, "wildside/wildside")

			r = c.do(http.MethodGet, "/estates/wildside/projects/wildside/reports",
				"Accept", markdown)
			is.Equal(r.status, http.StatusOK)
			is.True(strings.Contains(string(r.body), "## Components"))
		})

		t.Run("estate", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/estates/wildside/reports")
			is.Equal(r.status, http.StatusOK)
			var h historyJSON
			r.decode(t, &h)
			is.Equal(len(h.Reports), 1)
			is.Equal(h.Reports[0].Scope, "estate")
			is.Equal(h.Reports[0].Subject, "wildside")
			is.Equal(h.Limit, 20)

			r = c.do(http.MethodGet, "/estates/wildside/reports/latest", "Accept", markdown)
			is.Equal(r.status, http.StatusOK)
			is.True(strings.Contains(string(r.body), "Estate status report"))
		})

		t.Run("estates", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/estates")
			is.Equal(r.status, http.StatusOK)
			var body struct {
				Estates []struct {
					Key          string `json:"key"`
					Repositories int    `json:"repositories"`
				} `json:"estates"`
			}
			r.decode(t, &body)
			is.Equal(len(body.Estates), 1)
			is.Equal(body.Estates[0].Key, "wildside")
			is.True(body.Estates[0].Repositories > 0)
		})

		t.Run("estate repositories", func(t *testing.T) {
			is := is.New(t)
			r := c.do(http.MethodGet, "/estates/wildside/repositories")
			is.Equal(r.status, http.StatusOK)
			var body struct {
				Repositories []struct {
					Owner            string `json:"owner"`
					Name             string `json:"name"`
					IngestionEnabled bool   `json:"ingestion_enabled"`
				} `json:"repositories"`
			}
			r.decode(t, &body)
			is.True(len(body.Repositories) > 1)
			var found bool
			for _, repo := range body.Repositories {
				if repo.Owner == "leynos" && repo.Name == "wildside" {
					found = true
					is.True(repo.IngestionEnabled)
				}
			}
			is.True(found) // leynos/wildside is listed

			r = c.do(http.MethodGet, "/estates/wildside/repositories?limit=1&offset=1")
			is.Equal(r.status, http.StatusOK)
			body.Repositories = nil
			r.decode(t, &body)
			is.Equal(len(body.Repositories), 1)
		})
	})
}

func TestPrefersMarkdown(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", false},
		{"text/markdown", true},
		{"text/*", true},
		{"*/*", false},
		{"text/markdown;q=0.5, application/json", false},
		{"text/markdown, application/json", false},
		{"application/json;q=0.1, text/markdown;q=0.9", true},
		{"text/plain, text/markdown;q=0", false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			is := is.New(t)
			is.Equal(httpapi.PrefersMarkdown(tt.accept), tt.want)
		})
	}
}

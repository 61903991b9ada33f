package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

type repositoryJSON struct {
	IngestionEnabled  bool  `json:"ingestion_enabled"`
	IngestionOverride *bool `json:"ingestion_override"`
	Ingestion         *struct {
		SinceLast *float64 `json:"time_since_last_ingestion_seconds"`
		IsStalled bool     `json:"is_stalled"`
	} `json:"ingestion"`
}

// ingestOnce ingests leynos/wildside from a fake GitHub.
func ingestOnce(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()

	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	server := githubtest.NewServer(t, githubtest.Options{}, &githubtest.Repository{
		Owner: "leynos", Name: "wildside", DefaultBranch: "main",
		Commits: []githubtest.Commit{{OID: strings.Repeat("c", 40), MessageHeadline: "Add walks",
			AuthoredDate: at, CommittedDate: at,
			Author: githubtest.GitActor{Name: "Dev", Email: "dev@example.invalid"}}}})
	client, err := githubapi.New(githubapi.Config{Token: githubtest.DefaultToken, APIURL: server.URL})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWorker(db, client, ingest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := registry.NewService(db, nil).Get(ctx, "leynos", "wildside")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.IngestRepository(ctx, repo); err != nil {
		t.Fatal(err)
	}
}

func TestRepositoryIngestion(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newEstate(t, db)
		c := newClient(t, config(db, status.NewMock()))
		path := "/repositories/leynos/wildside"
		auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/json"}

		var repo repositoryJSON
		c.do(http.MethodGet, path).decode(t, &repo)
		is.True(repo.Ingestion == nil) // never ingested

		ingestOnce(t, db)
		c.do(http.MethodGet, path).decode(t, &repo)
		is.True(repo.Ingestion != nil)
		is.True(!repo.Ingestion.IsStalled)
		is.True(*repo.Ingestion.SinceLast >= 0)

		r := c.send(http.MethodPatch, path+"/ingestion", []byte(`{"enabled": false}`), auth...)
		is.Equal(r.status, http.StatusOK)
		r.decode(t, &repo)
		is.True(!repo.IngestionEnabled)
		is.Equal(*repo.IngestionOverride, false) // kept across syncs

		tests := []struct {
			name, path, body string
			headers          []string
			want             int
		}{
			{"no token", path + "/ingestion", `{"enabled": true}`, nil, 401},
			{"no enabled", path + "/ingestion", `{}`, auth, 400},
			{"unknown field", path + "/ingestion", `{"enabled": true, "why": "x"}`, auth, 400},
			{"not json", path + "/ingestion", `enabled`, auth, 400},
			{"trailing value", path + "/ingestion", `{"enabled": true}{"enabled": false}`, auth, 400},
			{"other spelling", path + "/ingestion", `{"Enabled": true}`, auth, 400},
			{"repeated key", path + "/ingestion", `{"enabled": true, "enabled": false}`, auth, 400},
			{"not a boolean", path + "/ingestion", `{"enabled": "yes"}`, auth, 400},
			{"unknown", "/repositories/nobody/nothing/ingestion", `{"enabled": true}`, auth, 404},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				r := c.send(http.MethodPatch, tt.path, []byte(tt.body), tt.headers...)
				is.Equal(r.status, tt.want)
				is.True(r.apiError(t).Description != "")
			})
		}
		is.Equal(c.do(http.MethodGet, "/repositories/nobody/nothing").status, http.StatusNotFound)
	})
}

func TestCatalogueImportAndSync(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		c := newClient(t, config(db, status.NewMock()))
		yaml, err := os.ReadFile("../../examples/wildside-catalogue.yaml")
		is.NoErr(err)
		auth := []string{"Authorization", "Bearer " + testToken, "Content-Type", "application/yaml"}

		r := c.send(http.MethodPost, "/estates/wildside/catalogue-import?commit_sha=abc1234", yaml, auth...)
		is.Equal(r.status, http.StatusOK)
		var imported struct {
			Repositories struct {
				Created int `json:"created"`
			} `json:"repositories"`
		}
		r.decode(t, &imported)
		is.Equal(imported.Repositories.Created, 6)

		r = c.send(http.MethodPost, "/estates/wildside/catalogue-import?commit_sha=abc1234", yaml, auth...)
		var again struct {
			Skipped bool `json:"skipped"`
		}
		r.decode(t, &again)
		is.True(again.Skipped) // the same commit is not imported twice

		r = c.send(http.MethodPost, "/estates/wildside/registry-sync", nil, auth[:2]...)
		is.Equal(r.status, http.StatusOK)
		var synced struct {
			Created int `json:"created"`
		}
		r.decode(t, &synced)
		is.Equal(synced.Created, 6)

		r = c.send(http.MethodPost, "/estates/wildside/catalogue-import",
			[]byte("version: 1\nprojects:\n  - key: Bad Key\n"), auth...)
		is.Equal(r.status, http.StatusUnprocessableEntity)
		var invalid struct {
			Issues []struct {
				Message string `json:"message"`
			} `json:"issues"`
		}
		r.decode(t, &invalid)
		is.True(len(invalid.Issues) > 0)

		big := bytes.Repeat([]byte("# padding\n"), 110_000)
		r = c.send(http.MethodPost, "/estates/wildside/catalogue-import", big, auth...)
		is.Equal(r.status, http.StatusRequestEntityTooLarge)

		for _, query := range []string{"commit_sha=%3Cscript%3E", "commit_sha=abc;def",
			"estate_name=" + strings.Repeat("x", 300), "estate_name=a%0Ab"} {
			r = c.send(http.MethodPost, "/estates/wildside/catalogue-import?"+query, yaml, auth...)
			is.Equal(r.status, http.StatusBadRequest) // the query is checked before the import
		}

		r = c.send(http.MethodPost, "/estates/wildside/catalogue-import", yaml)
		is.Equal(r.status, http.StatusUnauthorized)
		r = c.send(http.MethodPost, "/estates/nowhere/registry-sync", nil, auth[:2]...)
		is.Equal(r.status, http.StatusNotFound)
	})
}

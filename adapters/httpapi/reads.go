package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/store"
)

// errEstateNotFound marks an estate key with no estate.
var errEstateNotFound = errors.New("estate not found")

// estateID returns the id of the estate with the key.
func (a *api) estateID(ctx context.Context, key string) (string, error) {
	var id string
	cat := a.cfg.DB.Catalogue()
	err := cat.GetContext(ctx, &id, cat.Rebind(`SELECT id FROM estates WHERE key = ?`),
		key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errEstateNotFound
	}
	if err != nil {
		return "", fmt.Errorf("look up estate %q: %w", key, store.Classify(err))
	}
	return id, nil
}

func estateNotFound(key string) apiError {
	return apiError{Title: "Estate not found", Description: fmt.Sprintf(
		"No estate has the key '%s'; import its catalogue with 'ghillie estate import'.", key)}
}

// repositorySubject resolves the owner and name path parameters, writing
// the error response and returning false when it cannot.
func (a *api) repositorySubject(w http.ResponseWriter, r *http.Request) (reportSubject, bool) {
	owner, name, bad := repositoryPath(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return reportSubject{}, false
	}

	repo, ok := a.repositoryOr404(w, r, owner, name, "http.reports.read_failed")
	if !ok {
		return reportSubject{}, false
	}

	return reportSubject{
		sub:  gold.Subject{Scope: gold.ScopeRepository, ID: repo.ID},
		name: repo.Slug(),
		render: func(_ *http.Request, rep gold.Report) (string, error) {
			return reporting.RenderRepository(rep, repo.Owner, repo.Name), nil
		},
	}, true
}

// estateSubject resolves the estate path parameter.
func (a *api) estateSubject(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	key, bad := keyPath(r, "estate")
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return "", "", false
	}

	id, err := a.estateID(r.Context(), key)
	if errors.Is(err, errEstateNotFound) {
		writeError(w, http.StatusNotFound, estateNotFound(key))
		return "", "", false
	}
	if err != nil {
		a.fail(w, r, "http.reports.read_failed", err, "estate", key)
		return "", "", false
	}
	return key, id, true
}

// projectSubject resolves the estate and project path parameters. A
// project that was never reported on has no reports and is a 404.
func (a *api) projectSubject(w http.ResponseWriter, r *http.Request) (reportSubject, bool) {
	estateKey, estateID, ok := a.estateSubject(w, r)
	if !ok {
		return reportSubject{}, false
	}
	projectKey, bad := keyPath(r, "project")
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return reportSubject{}, false
	}

	ref, err := a.gold().ProjectID(r.Context(), estateID, projectKey)
	if err != nil {
		a.fail(w, r, "http.reports.read_failed", err, "estate", estateKey, "project", projectKey)
		return reportSubject{}, false
	}
	if ref == "" {
		a.projectWithoutReports(w, r, estateKey, estateID, projectKey)
		return reportSubject{}, false
	}

	return reportSubject{
		sub:  gold.Subject{Scope: gold.ScopeProject, ID: ref},
		name: estateKey + "/" + projectKey,
		render: func(req *http.Request, rep gold.Report) (string, error) {
			b, err := evidence.NewBuilder(a.cfg.DB).Project(req.Context(), estateID, projectKey,
				rep.WindowStart, rep.WindowEnd)
			if err != nil {
				return "", err
			}
			return reporting.RenderProject(rep, b), nil
		},
	}, true
}

// projectWithoutReports writes the 404 of a project that has no reports:
// one the catalogue does not list, or one not reported on yet.
func (a *api) projectWithoutReports(w http.ResponseWriter, r *http.Request,
	estateKey, estateID, projectKey string) {
	known, err := catalogue.HasProject(r.Context(), a.cfg.DB, estateID, projectKey)
	if err != nil {
		a.fail(w, r, "http.reports.read_failed", err, "estate", estateKey, "project", projectKey)
		return
	}
	if !known {
		writeError(w, http.StatusNotFound, apiError{Title: "Project not found",
			Description: fmt.Sprintf("The estate '%s' has no project '%s'; check the key.",
				estateKey, projectKey)})
		return
	}
	writeError(w, http.StatusNotFound, apiError{Title: "Report not found",
		Description: fmt.Sprintf("The project '%s' of estate '%s' has no reports yet: an estate "+
			"report run writes them (POST /reports/runs with scope estate, or "+
			"'ghillie report run --scope estate').", projectKey, estateKey)})
}

// estateReportSubject resolves the estate path parameter as a report
// subject.
func (a *api) estateReportSubject(w http.ResponseWriter, r *http.Request) (reportSubject, bool) {
	key, id, ok := a.estateSubject(w, r)
	if !ok {
		return reportSubject{}, false
	}
	return reportSubject{
		sub:  gold.Subject{Scope: gold.ScopeEstate, ID: id},
		name: key,
		render: func(req *http.Request, rep gold.Report) (string, error) {
			b, err := evidence.NewBuilder(a.cfg.DB).Estate(req.Context(), id, rep.WindowStart,
				rep.WindowEnd)
			if err != nil {
				return "", err
			}
			return reporting.RenderEstate(rep, b), nil
		},
	}, true
}

func (a *api) latestRepositoryReport(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.repositorySubject(w, r); ok {
		a.serveLatest(w, r, s)
	}
}

func (a *api) repositoryReports(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.repositorySubject(w, r); ok {
		a.serveHistory(w, r, s)
	}
}

func (a *api) latestProjectReport(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.projectSubject(w, r); ok {
		a.serveLatest(w, r, s)
	}
}

func (a *api) projectReports(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.projectSubject(w, r); ok {
		a.serveHistory(w, r, s)
	}
}

func (a *api) latestEstateReport(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.estateReportSubject(w, r); ok {
		a.serveLatest(w, r, s)
	}
}

func (a *api) estateReports(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.estateReportSubject(w, r); ok {
		a.serveHistory(w, r, s)
	}
}

// listEstates serves GET /estates.
func (a *api) listEstates(w http.ResponseWriter, r *http.Request) {
	estates, err := catalogue.ListEstates(r.Context(), a.cfg.DB)
	if err != nil {
		a.fail(w, r, "http.estates.read_failed", err)
		return
	}
	if estates == nil {
		estates = []catalogue.EstateSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"estates": estates})
}

// repositoryBody is the JSON form of a repository and its ingestion state.
type repositoryBody struct {
	Owner              string     `json:"owner"`
	Name               string     `json:"name"`
	DefaultBranch      string     `json:"default_branch"`
	IngestionEnabled   bool       `json:"ingestion_enabled"`
	IngestionOverride  *bool      `json:"ingestion_override"`
	DocumentationPaths []string   `json:"documentation_paths"`
	LastSyncedAt       *time.Time `json:"last_synced_at"`

	// Ingestion is the repository's ingestion lag, nil before its first
	// ingestion.
	Ingestion *ingestionBody `json:"ingestion"`
}

// estateRepositories serves GET /estates/{estate}/repositories.
func (a *api) estateRepositories(w http.ResponseWriter, r *http.Request) {
	key, _, ok := a.estateSubject(w, r)
	if !ok {
		return
	}
	limit, offset, bad := page(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}

	repos, err := registry.NewService(a.cfg.DB, a.log).List(r.Context(),
		registry.ListOptions{EstateKey: key, Limit: limit, Offset: offset})
	if errors.Is(err, registry.ErrEstateNotFound) {
		writeError(w, http.StatusNotFound, estateNotFound(key))
		return
	}
	if err != nil {
		a.fail(w, r, "http.repositories.read_failed", err, "estate", key)
		return
	}

	// A page holds at most maxLimit repositories, so one lag query each
	// stays cheap.
	health := ingest.NewHealthService(a.cfg.DB, 0)
	body := make([]repositoryBody, 0, len(repos))
	for _, repo := range repos {
		lag, err := health.Repository(r.Context(), repo.Slug())
		if err != nil {
			a.fail(w, r, "http.repositories.read_failed", err, "estate", key)
			return
		}
		body = append(body, newRepositoryBody(repo, lag))
	}
	writeJSON(w, http.StatusOK, map[string]any{"repositories": body, "limit": limit,
		"offset": offset})
}

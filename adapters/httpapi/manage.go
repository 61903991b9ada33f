package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
)

// ingestionBody is the JSON form of a repository's ingestion lag.
type ingestionBody struct {
	TimeSinceLastIngestionSeconds *float64   `json:"time_since_last_ingestion_seconds"`
	OldestWatermarkAgeSeconds     *float64   `json:"oldest_watermark_age_seconds"`
	HasPendingCursors             bool       `json:"has_pending_cursors"`
	IsStalled                     bool       `json:"is_stalled"`
	LastSuccessAt                 *time.Time `json:"last_success_at"`
	LastErrorCategory             string     `json:"last_error_category,omitempty"`
}

func newRepositoryBody(repo registry.Repository, lag *ingest.Lag) repositoryBody {
	var synced *time.Time
	if repo.LastSyncedAt != nil {
		t := repo.LastSyncedAt.UTC()
		synced = &t
	}
	b := repositoryBody{Owner: repo.Owner, Name: repo.Name,
		DefaultBranch: repo.DefaultBranch, IngestionEnabled: repo.IngestionEnabled,
		IngestionOverride: repo.IngestionOverride, DocumentationPaths: repo.DocumentationPaths,
		LastSyncedAt: synced}
	if lag != nil {
		b.Ingestion = &ingestionBody{
			TimeSinceLastIngestionSeconds: lag.TimeSinceLastIngestionSeconds,
			OldestWatermarkAgeSeconds:     lag.OldestWatermarkAgeSeconds,
			HasPendingCursors:             lag.HasPendingCursors, IsStalled: lag.IsStalled,
			LastSuccessAt: lag.LastSuccessAt, LastErrorCategory: lag.LastErrorCategory}
	}
	return b
}

// repository serves GET /repositories/{owner}/{name}.
func (a *api) repository(w http.ResponseWriter, r *http.Request) {
	owner, name, bad := repositoryPath(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	a.writeRepository(w, r, owner, name)
}

// writeRepository writes the repository with its ingestion lag.
func (a *api) writeRepository(w http.ResponseWriter, r *http.Request, owner, name string) {
	repo, err := registry.NewService(a.cfg.DB, a.log).Get(r.Context(), owner, name)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		writeError(w, http.StatusNotFound, repositoryNotFound(owner, name))
		return
	}
	if err != nil {
		a.fail(w, r, "http.repository.read_failed", err, "repository", owner+"/"+name)
		return
	}
	lag, err := ingest.NewHealthService(a.cfg.DB, 0).Repository(r.Context(), repo.Slug())
	if err != nil {
		a.fail(w, r, "http.repository.read_failed", err, "repository", repo.Slug())
		return
	}
	writeJSON(w, http.StatusOK, newRepositoryBody(repo, lag))
}

// setIngestion serves PATCH /repositories/{owner}/{name}/ingestion, whose
// body is {"enabled": true} or {"enabled": false}. The choice is kept
// across registry syncs, as with 'ghillie estate repo set'.
func (a *api) setIngestion(w http.ResponseWriter, r *http.Request) {
	owner, name, bad := repositoryPath(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Enabled == nil {
		writeError(w, http.StatusBadRequest, invalidInput("enabled",
			`The body must be a JSON object {"enabled": true} or {"enabled": false}.`))
		return
	}

	changed, err := registry.NewService(a.cfg.DB, a.log).SetIngestion(r.Context(), owner, name, *body.Enabled)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		writeError(w, http.StatusNotFound, repositoryNotFound(owner, name))
		return
	}
	if err != nil {
		a.fail(w, r, "http.ingestion.update_failed", err, "repository", owner+"/"+name)
		return
	}
	a.log.InfoContext(r.Context(), "http.ingestion.updated", "repository", owner+"/"+name,
		"enabled", *body.Enabled, "changed", changed, "request_id", requestID(r.Context()))
	a.writeRepository(w, r, owner, name)
}

// importCatalogue serves POST /estates/{estate}/catalogue-import, whose
// body is the catalogue YAML. It imports in one transaction, as
// 'ghillie estate import' does, into a new or existing estate.
func (a *api) importCatalogue(w http.ResponseWriter, r *http.Request) {
	key, bad := keyPath(r, "estate")
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	data, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, apiError{Title: "Catalogue too large",
			Description: fmt.Sprintf("A catalogue may have at most %d bytes.", catalogue.MaxFileSize)})
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, invalidInput("body", "The request body could not be read."))
		return
	}

	q := r.URL.Query()
	var res catalogue.ImportResult
	c, err := catalogue.Parse("request body", data)
	if err == nil {
		estate := catalogue.Estate{Key: key, Name: q.Get("estate_name")}
		res, err = catalogue.NewImporter(a.cfg.DB, a.log).Import(r.Context(), estate, c, q.Get("commit_sha"))
	}
	var invalid *catalogue.ValidationError
	if errors.As(err, &invalid) {
		writeJSON(w, http.StatusUnprocessableEntity, invalidCatalogue(invalid))
		return
	}
	if err != nil {
		a.fail(w, r, "http.catalogue.import_failed", err, "estate", key)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// catalogueIssue is an issue of an invalid catalogue.
type catalogueIssue struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func invalidCatalogue(e *catalogue.ValidationError) map[string]any {
	issues := make([]catalogueIssue, 0, len(e.Issues))
	for _, i := range e.Issues {
		issues = append(issues, catalogueIssue{Line: i.Line, Column: i.Column, Path: i.Path,
			Message: i.Message})
	}
	return map[string]any{"title": "Invalid catalogue",
		"description": fmt.Sprintf("The catalogue has %d problems; nothing was imported.", len(issues)),
		"issues":      issues}
}

// syncRegistry serves POST /estates/{estate}/registry-sync.
func (a *api) syncRegistry(w http.ResponseWriter, r *http.Request) {
	key, bad := keyPath(r, "estate")
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	res, err := registry.NewService(a.cfg.DB, a.log).Sync(r.Context(), key)
	if errors.Is(err, registry.ErrEstateNotFound) {
		writeError(w, http.StatusNotFound, estateNotFound(key))
		return
	}
	if err != nil {
		a.fail(w, r, "http.registry.sync_failed", err, "estate", key)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// bodyLimit returns the largest request body a path accepts.
func (a *api) bodyLimit(path string) int64 {
	if strings.HasSuffix(path, "/catalogue-import") {
		return max(a.cfg.MaxBodyBytes, catalogue.MaxFileSize)
	}
	return a.cfg.MaxBodyBytes
}

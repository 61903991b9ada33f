package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	repo, ok := a.repositoryOr404(w, r, owner, name, "http.repository.read_failed")
	if !ok {
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
	enabled, ok := decodeEnabled(r.Body)
	if !ok {
		writeError(w, http.StatusBadRequest, invalidInput("enabled",
			`The body must be the JSON object {"enabled": true} or {"enabled": false}, and nothing else.`))
		return
	}

	changed, err := registry.NewService(a.cfg.DB, a.log).SetIngestion(r.Context(), owner, name, enabled)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		writeError(w, http.StatusNotFound, repositoryNotFound(owner, name))
		return
	}
	if err != nil {
		a.fail(w, r, "http.ingestion.update_failed", err, "repository", owner+"/"+name)
		return
	}
	a.log.InfoContext(r.Context(), "http.ingestion.updated", "repository", owner+"/"+name,
		"enabled", enabled, "changed", changed, "request_id", requestID(r.Context()))
	a.writeRepository(w, r, owner, name)
}

// decodeEnabled reads a body that is exactly one JSON object with the
// one key "enabled" and a boolean value. encoding/json alone would accept
// other spellings of the key, a repeated key and trailing values.
func decodeEnabled(body io.Reader) (enabled, ok bool) {
	dec := json.NewDecoder(body)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false, false
	}

	seen := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil || key != "enabled" || seen {
			return false, false
		}
		value, err := dec.Token()
		b, isBool := value.(bool)
		if err != nil || !isBool {
			return false, false
		}
		enabled, seen = b, true
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') || !seen {
		return false, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, false
	}
	return enabled, true
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

	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, invalidInput("query",
			"The query string is invalid: separate parameters with '&' and percent-encode ';'."))
		return
	}
	if bad := importParams(q); bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
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

// maxEstateName bounds an estate's display name, as the catalogue tables
// do.
const maxEstateName = 255

// importParams checks the query parameters of a catalogue import.
func importParams(q url.Values) *apiError {
	if sha := q.Get("commit_sha"); catalogue.CheckCommitSHA(sha) != nil {
		e := invalidInput("commit_sha", fmt.Sprintf("Invalid commit_sha %q: use the commit's "+
			"id in hex, 7 to 64 digits.", truncate(sha, 80)))
		return &e
	}
	name := q.Get("estate_name")
	if utf8.RuneCountInString(name) > maxEstateName || strings.IndexFunc(name, unicode.IsControl) >= 0 ||
		!utf8.ValidString(name) {
		e := invalidInput("estate_name", fmt.Sprintf("Invalid estate_name: use at most %d "+
			"characters of text, without control characters.", maxEstateName))
		return &e
	}
	return nil
}

// truncate cuts s to at most n characters, for quoting input in errors.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
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
		"description": fmt.Sprintf("The catalogue has %s; nothing was imported.", problems(len(issues))),
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

func problems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ghillie/ghillie/export"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
)

// listRepositories serves GET /repositories: the registry's repositories
// ordered by owner and name, optionally of one estate (estate_key) and
// only those with ingestion enabled or disabled (ingestion), a page at a
// time.
func (a *api) listRepositories(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := registry.ListOptions{EstateKey: q.Get("estate_key")}
	if opts.EstateKey != "" && !keyPattern.MatchString(opts.EstateKey) {
		writeError(w, http.StatusBadRequest, invalidInput("estate_key", fmt.Sprintf(
			"Invalid estate_key %q: use 1 to 63 lowercase letters, digits and hyphens.",
			opts.EstateKey)))
		return
	}
	switch q.Get("ingestion") {
	case "":
	case "enabled", "disabled":
		enabled := q.Get("ingestion") == "enabled"
		opts.Ingestion = &enabled
	default:
		writeError(w, http.StatusBadRequest, invalidInput("ingestion", fmt.Sprintf(
			"Invalid ingestion %q: use enabled or disabled, or leave it out for both.",
			q.Get("ingestion"))))
		return
	}
	limit, offset, bad := page(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	opts.Limit, opts.Offset = limit, offset

	repos, err := registry.NewService(a.cfg.DB, a.log).List(r.Context(), opts)
	if errors.Is(err, registry.ErrEstateNotFound) {
		writeError(w, http.StatusNotFound, estateNotFound(opts.EstateKey))
		return
	}
	if err != nil {
		a.fail(w, r, "http.repositories.read_failed", err)
		return
	}
	if repos == nil {
		repos = []registry.Repository{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"repositories": repos, "limit": limit,
		"offset": offset})
}

// ingestionHealth serves GET /ingestion/health: the lag of every
// repository with ingestion enabled, stalled after stalled_threshold (a
// Go duration, ingest.DefaultStalledThreshold when absent).
func (a *api) ingestionHealth(w http.ResponseWriter, r *http.Request) {
	threshold := ingest.DefaultStalledThreshold
	if raw := r.URL.Query().Get("stalled_threshold"); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 || d > 10*365*24*time.Hour {
			writeError(w, http.StatusBadRequest, invalidInput("stalled_threshold", fmt.Sprintf(
				"Invalid stalled_threshold %q: use a positive Go duration of at most ten "+
					"years, such as 30m or 48h.", truncate(raw, 80))))
			return
		}
		threshold = d
	}

	lags, err := ingest.NewHealthService(a.cfg.DB, threshold).All(r.Context())
	if err != nil {
		a.fail(w, r, "http.ingestion.health_failed", err)
		return
	}
	if lags == nil {
		lags = []ingest.Lag{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"repositories": lags,
		"stalled_threshold_seconds": threshold.Seconds()})
}

// reviewBody is the JSON form of a review marker, as 'ghillie report
// reviews' prints it.
type reviewBody struct {
	ID          string                 `json:"id"`
	Scope       string                 `json:"scope"`
	Subject     string                 `json:"subject"`
	SubjectID   string                 `json:"subject_id"`
	WindowStart time.Time              `json:"window_start"`
	WindowEnd   time.Time              `json:"window_end"`
	Model       string                 `json:"model,omitempty"`
	Attempts    int                    `json:"attempt_count"`
	Issues      []gold.ValidationIssue `json:"validation_issues"`
	State       string                 `json:"state"`
	Note        string                 `json:"resolution_note,omitempty"`
}

func newReviewBody(r gold.Review) reviewBody {
	issues := r.Issues
	if issues == nil {
		issues = []gold.ValidationIssue{}
	}
	return reviewBody{ID: r.ID, Scope: string(r.Subject.Scope), Subject: r.SubjectName,
		SubjectID:   r.Subject.ID,
		WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(), Model: r.Model,
		Attempts: r.AttemptCount, Issues: issues, State: string(r.State), Note: r.ResolutionNote}
}

// listReviews serves GET /reports/reviews, optionally of one state and
// one scope, newest first.
func (a *api) listReviews(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var filter gold.ReviewFilter
	switch state := q.Get("state"); state {
	case "", string(gold.ReviewPending), string(gold.ReviewResolved):
		filter.State = gold.ReviewState(state)
	default:
		writeError(w, http.StatusBadRequest, invalidInput("state", fmt.Sprintf(
			"Invalid state %q: use pending or resolved.", truncate(state, 80))))
		return
	}
	switch scope := q.Get("scope"); scope {
	case "", string(gold.ScopeRepository), string(gold.ScopeProject), string(gold.ScopeEstate):
		filter.Scope = gold.Scope(scope)
	default:
		writeError(w, http.StatusBadRequest, invalidInput("scope", fmt.Sprintf(
			"Invalid scope %q: use repository, project or estate.", truncate(scope, 80))))
		return
	}

	reviews, err := a.gold().Reviews(r.Context(), filter)
	if err != nil {
		a.fail(w, r, "http.reviews.read_failed", err)
		return
	}
	body := make([]reviewBody, 0, len(reviews))
	for _, review := range reviews {
		body = append(body, newReviewBody(review))
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": body})
}

// maxResolutionNote bounds a resolution note, in characters.
const maxResolutionNote = 2000

// resolveReview serves POST /reports/reviews/{id}/resolve, whose body is
// {"note": "why"}, with the note optional.
func (a *api) resolveReview(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) == 0 || len(id) > 64 || strings.IndexFunc(id, notIDRune) >= 0 {
		writeError(w, http.StatusBadRequest, invalidInput("id", fmt.Sprintf(
			"Invalid review id %q: use the id that GET /reports/reviews lists.", truncate(id, 80))))
		return
	}
	note, ok := decodeNote(r.Body)
	if !ok {
		writeError(w, http.StatusBadRequest, invalidInput("note", fmt.Sprintf(
			`The body must be the JSON object {"note": "text"} or {}, with a note of at most `+
				`%d characters without control characters other than newlines.`, maxResolutionNote)))
		return
	}

	review, err := a.gold().ResolveReview(r.Context(), id, note)
	switch {
	case errors.Is(err, gold.ErrNotFound):
		writeError(w, http.StatusNotFound, apiError{Title: "Review not found", Description: fmt.Sprintf(
			"No review marker has the id '%s'; GET /reports/reviews lists them.", id)})
		return
	case errors.Is(err, gold.ErrAlreadyResolved):
		writeError(w, http.StatusConflict, apiError{Title: "Review already resolved",
			Description: fmt.Sprintf("The review marker '%s' is already resolved: %q.", id,
				review.ResolutionNote)})
		return
	case err != nil:
		a.fail(w, r, "http.review.resolve_failed", err, "review_id", id)
		return
	}
	a.log.InfoContext(r.Context(), "http.review.resolved", "review_id", id,
		"request_id", requestID(r.Context()))
	writeJSON(w, http.StatusOK, newReviewBody(review))
}

// notIDRune reports a rune that no generated id has.
func notIDRune(c rune) bool {
	return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
}

// decodeNote reads a body that is one JSON object with at most the key
// "note" and a string value. An empty body is no note.
func decodeNote(body io.Reader) (string, bool) {
	data, err := io.ReadAll(body)
	if err != nil {
		return "", false
	}
	if strings.TrimSpace(string(data)) == "" {
		return "", true
	}

	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var v struct {
		Note *string `json:"note"`
	}
	if err := dec.Decode(&v); err != nil || dec.More() {
		return "", false
	}
	if v.Note == nil {
		return "", true
	}
	note := *v.Note
	if len([]rune(note)) > maxResolutionNote || strings.IndexFunc(note, badNoteRune) >= 0 {
		return "", false
	}
	return note, true
}

func badNoteRune(c rune) bool {
	return c != '\n' && c != '\t' && (c < 0x20 || c == 0x7f)
}

// exportContentTypes maps export formats onto media types.
var exportContentTypes = map[export.Format]string{
	export.JSON:      "application/json",
	export.JSONLines: "application/x-ndjson",
	export.CSV:       "text/csv; charset=utf-8",
}

// exportWindow serves POST /exports/{kind}: the export of a repository
// (scope=repository, owner, name) or an estate (scope=estate,
// estate_key) for the window of the metrics routes, in format (json,
// jsonl or csv; json when absent). Reports take include_coverage.
func (a *api) exportWindow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	kind := export.Kind(r.PathValue("kind"))
	bad := a.checkExportKind(kind)
	if bad == nil {
		bad = checkExportParams(r, kind)
	}
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	req, bad := exportRequest(r, kind)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}

	scope, subject, bad := runTarget(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	if scope == "estate" {
		_, id, ok := a.estateIDOr404(w, r, subject)
		if !ok {
			return
		}
		req.EstateID = id
	} else {
		owner, name, _ := strings.Cut(subject, "/")
		repo, ok := a.repositoryOr404(w, r, owner, name, "http.export.failed")
		if !ok {
			return
		}
		req.Repository = export.Repository{ID: repo.ID, Slug: repo.Slug()}
	}

	out := &lazyWriter{w: w, contentType: exportContentTypes[req.Format]}
	if err := export.Write(ctx, a.cfg.DB, req, out); err != nil {
		if !out.started {
			a.fail(w, r, "http.export.failed", err, "kind", kind, "subject", subject)
			return
		}
		// The status is sent, so only a broken response shows the client
		// that the export is incomplete.
		a.log.ErrorContext(ctx, "http.export.aborted", "kind", kind, "subject", subject,
			"err", err, "request_id", requestID(ctx))
		panic(http.ErrAbortHandler)
	}
	if !out.started {
		out.start()
	}
}

func (a *api) checkExportKind(kind export.Kind) *apiError {
	for _, k := range export.Kinds {
		if k == kind {
			return nil
		}
	}
	e := invalidInput("kind", fmt.Sprintf("Invalid export kind %q: use events, evidence, "+
		"reports or bundle.", truncate(string(kind), 80)))
	return &e
}

// checkExportParams rejects query parameters that no export takes, so
// that a misspelt one is not ignored.
func checkExportParams(r *http.Request, kind export.Kind) *apiError {
	allowed := map[string]bool{"scope": true, "owner": true, "name": true, "estate_key": true,
		"window_start": true, "window_end": true, "window_days": true, "as_of": true,
		"format": true, "include_coverage": kind == export.KindReports}
	for name := range r.URL.Query() {
		if !allowed[name] {
			e := invalidInput(name, fmt.Sprintf("Unknown query parameter %q for %s exports.",
				truncate(name, 80), kind))
			return &e
		}
	}
	return nil
}

// exportRequest reads the window, format and include_coverage of an
// export.
func exportRequest(r *http.Request, kind export.Kind) (export.Request, *apiError) {
	req := export.Request{Kind: kind, Format: export.JSON}
	start, end, bad := metricsWindow(r, time.Now())
	if bad != nil {
		return req, bad
	}
	req.Start, req.End = start, end

	q := r.URL.Query()
	if raw := q.Get("format"); raw != "" {
		req.Format = ""
		for _, f := range export.FormatsOf(kind) {
			if string(f) == raw {
				req.Format = f
			}
		}
		if req.Format == "" {
			e := invalidInput("format", fmt.Sprintf("Invalid format %q for %s exports: use "+
				"one of %v.", truncate(raw, 80), kind, export.FormatsOf(kind)))
			return req, &e
		}
	}
	switch q.Get("include_coverage") {
	case "", "false":
	case "true":
		req.IncludeCoverage = true
	default:
		e := invalidInput("include_coverage", "Invalid include_coverage: use true or false.")
		return req, &e
	}
	return req, nil
}

// estateIDOr404 returns the key and id of the estate, or writes 404 or
// the failure and reports false.
func (a *api) estateIDOr404(w http.ResponseWriter, r *http.Request, key string) (string, string, bool) {
	id, err := a.estateID(r.Context(), key)
	if errors.Is(err, errEstateNotFound) {
		writeError(w, http.StatusNotFound, estateNotFound(key))
		return "", "", false
	}
	if err != nil {
		a.fail(w, r, "http.export.failed", err, "estate", key)
		return "", "", false
	}
	return key, id, true
}

// lazyWriter sends the 200 header before the first byte of a body, so
// that an error before any output can still be sent as an error.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) start() {
	l.started = true
	l.w.Header().Set("Content-Type", l.contentType)
	l.w.Header().Set("X-Content-Type-Options", "nosniff")
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(b)
}

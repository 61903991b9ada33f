package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
)

// keyPattern is the form of catalogue estate and project keys. Owners and
// repository names are checked with silver.ValidOwner and
// silver.ValidRepositoryName.
var keyPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// Page sizes of the history routes.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// repositoryPath reads and checks the owner and name path parameters.
func repositoryPath(r *http.Request) (owner, name string, bad *apiError) {
	owner, name = r.PathValue("owner"), r.PathValue("name")
	if bad := checkRepository(owner, name); bad != nil {
		return "", "", bad
	}
	return owner, name, nil
}

// checkRepository checks an owner and name against GitHub's rules, with
// the error naming the parameter.
func checkRepository(owner, name string) *apiError {
	if !silver.ValidOwner(owner) {
		e := invalidInput("owner", fmt.Sprintf("Invalid repository owner %q: use 1 to 39 "+
			"letters, digits, hyphens or underscores, not starting with a hyphen.", owner))
		return &e
	}
	if !silver.ValidRepositoryName(name) {
		e := invalidInput("name", fmt.Sprintf("Invalid repository name %q: use 1 to 100 "+
			"letters, digits, '.', '-' or '_', other than '.' and '..'.", name))
		return &e
	}
	return nil
}

// keyPath reads and checks a catalogue key path parameter.
func keyPath(r *http.Request, param string) (string, *apiError) {
	key := r.PathValue(param)
	if !keyPattern.MatchString(key) {
		e := invalidInput(param, fmt.Sprintf("Invalid %s key %q: use 1 to 63 lowercase "+
			"letters, digits and hyphens, starting and ending with a letter or digit.", param, key))
		return "", &e
	}
	return key, nil
}

// queryTime reads an optional RFC 3339 query parameter.
func queryTime(r *http.Request, param string) (time.Time, *apiError) {
	raw := r.URL.Query().Get(param)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		e := invalidInput(param, fmt.Sprintf("Invalid %s %q: use RFC 3339 with an offset, "+
			"such as 2024-07-14T00:00:00Z (encode '+' as %%2B in a URL).", param, raw))
		return time.Time{}, &e
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		e := invalidInput(param, fmt.Sprintf("Invalid %s %q: use a time from %d to %d.",
			param, raw, minTime.Year(), maxTime.Year()-1))
		return time.Time{}, &e
	}
	return t, nil
}

// queryInt reads an optional whole-number query parameter from low to
// high, and returns 0 when it is absent. Only decimal digits are
// accepted, so "+5", " 5" and "5.0" are invalid too.
func queryInt(r *http.Request, param string, low, high int) (int, *apiError) {
	raw := r.URL.Query().Get(param)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || strings.Trim(raw, "0123456789") != "" || n < low || n > high {
		e := invalidInput(param, fmt.Sprintf("Invalid %s %q: use a whole number from %d to %d.",
			param, raw, low, high))
		return 0, &e
	}
	return n, nil
}

// The times that query parameters accept. GitHub activity starts after
// 1970, and the end keeps every window's length inside time.Duration,
// which overflows after 292 years.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// runOptions reads the window parameters of a report request.
func runOptions(r *http.Request) (reporting.RunOptions, *apiError) {
	var opts reporting.RunOptions
	var bad *apiError
	if opts.AsOf, bad = queryTime(r, "as_of"); bad != nil {
		return opts, bad
	}
	if opts.Start, bad = queryTime(r, "window_start"); bad != nil {
		return opts, bad
	}
	if opts.End, bad = queryTime(r, "window_end"); bad != nil {
		return opts, bad
	}

	switch {
	case opts.Start.IsZero() != opts.End.IsZero():
		field := "window_end"
		if opts.Start.IsZero() {
			field = "window_start"
		}
		e := invalidInput(field, "window_start and window_end go together: give both or neither.")
		return opts, &e
	case !opts.Start.IsZero() && !opts.AsOf.IsZero():
		e := invalidInput("as_of", "as_of and window_start/window_end exclude each other: "+
			"give one or the other.")
		return opts, &e
	case !opts.Start.IsZero() && !opts.End.After(opts.Start):
		e := invalidInput("window_end", "window_end must be after window_start.")
		return opts, &e
	}
	return opts, nil
}

// page reads the limit and offset query parameters of a history route.
func page(r *http.Request) (limit, offset int, bad *apiError) {
	limit, offset = defaultLimit, 0
	q := r.URL.Query()
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxLimit {
			e := invalidInput("limit", fmt.Sprintf("Invalid limit %q: use a whole number "+
				"from 1 to %d.", raw, maxLimit))
			return 0, 0, &e
		}
		limit = n
	}
	if raw := q.Get("offset"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			e := invalidInput("offset", fmt.Sprintf("Invalid offset %q: use a whole number "+
				"of 0 or more.", raw))
			return 0, 0, &e
		}
		offset = n
	}
	return limit, offset, nil
}

// reportCreated is the 200 body of an on-demand repository report.
type reportCreated struct {
	ReportID    string        `json:"report_id"`
	Repository  string        `json:"repository"`
	WindowStart time.Time     `json:"window_start"`
	WindowEnd   time.Time     `json:"window_end"`
	GeneratedAt time.Time     `json:"generated_at"`
	Status      string        `json:"status"`
	Model       string        `json:"model"`
	Metrics     ReportMetrics `json:"metrics"`
}

// ReportMetrics describes the model call of a report, with null for a
// value the model did not report.
type ReportMetrics struct {
	ModelLatencyMS   *int `json:"model_latency_ms"`
	PromptTokens     *int `json:"prompt_tokens"`
	CompletionTokens *int `json:"completion_tokens"`
	TotalTokens      *int `json:"total_tokens"`
}

func metricsOf(r gold.Report) ReportMetrics {
	return ReportMetrics{ModelLatencyMS: r.LatencyMS, PromptTokens: r.PromptTokens,
		CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens}
}

// validationFailed is the 422 body of a report that failed validation.
type validationFailed struct {
	apiError
	ReviewID string                 `json:"review_id"`
	Issues   []gold.ValidationIssue `json:"issues"`
}

// repositoryOr404 returns the repository, or writes 404 when none has the
// owner and name, or the failure under the log event, and reports false.
func (a *api) repositoryOr404(w http.ResponseWriter, r *http.Request, owner, name,
	event string) (registry.Repository, bool) {
	repo, err := registry.NewService(a.cfg.DB, a.log).Get(r.Context(), owner, name)
	if errors.Is(err, registry.ErrRepositoryNotFound) {
		writeError(w, http.StatusNotFound, repositoryNotFound(owner, name))
		return registry.Repository{}, false
	}
	if err != nil {
		a.fail(w, r, event, err, "repository", owner+"/"+name)
		return registry.Repository{}, false
	}
	return repo, true
}

func repositoryNotFound(owner, name string) apiError {
	return apiError{Title: "Repository not found", Description: fmt.Sprintf(
		"No repository matching '%s/%s' exists. Sync the estate whose catalogue lists it.",
		owner, name)}
}

// runRepositoryReport writes a report of the repository's next window, or
// of the window the query gives.
func (a *api) runRepositoryReport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	owner, name, bad := repositoryPath(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	opts, bad := runOptions(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}

	repo, ok := a.repositoryOr404(w, r, owner, name, "http.report.failed")
	if !ok {
		return
	}

	// A window that ends before the last report's end cannot be written;
	// the service would refuse it with an error that is not typed.
	if !opts.AsOf.IsZero() {
		last, err := a.gold().Latest(ctx, gold.Subject{Scope: gold.ScopeRepository, ID: repo.ID})
		if err != nil {
			a.fail(w, r, "http.report.failed", err, "repository_id", repo.ID)
			return
		}
		if last != nil && opts.AsOf.Before(last.WindowEnd) {
			writeError(w, http.StatusBadRequest, invalidInput("as_of", fmt.Sprintf(
				"as_of %s is before the end of the latest report's window, %s: use a later time.",
				opts.AsOf.UTC().Format(time.RFC3339), last.WindowEnd.UTC().Format(time.RFC3339))))
			return
		}
	}

	out, err := a.service.RunRepository(ctx, repo.ID, opts)
	var invalid *reporting.ValidationError
	if errors.As(err, &invalid) {
		a.log.WarnContext(ctx, "http.report.invalid", "repository_id", repo.ID,
			"review_id", invalid.ReviewID, "issues", len(invalid.Issues),
			"request_id", requestID(ctx))
		writeJSON(w, http.StatusUnprocessableEntity, validationFailed{
			apiError: apiError{Title: "Report validation failed",
				Description: "Generated report failed correctness checks after retries; " +
					"the window is marked for review."},
			ReviewID: invalid.ReviewID, Issues: invalid.Issues})
		return
	}
	if errors.Is(err, reporting.ErrWindow) {
		writeError(w, http.StatusBadRequest, invalidInput("as_of", windowMessage(err)))
		return
	}
	if errors.Is(err, gold.ErrOverlap) {
		writeError(w, http.StatusConflict, apiError{Title: "Window already reported",
			Description: windowMessage(err)})
		return
	}
	if err != nil {
		a.fail(w, r, "http.report.failed", err, "repository_id", repo.ID)
		return
	}
	if out.Report == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}

	rep := out.Report
	body := reportCreated{ReportID: rep.ID, Repository: repo.Owner + "/" + repo.Name,
		WindowStart: rep.WindowStart.UTC(), WindowEnd: rep.WindowEnd.UTC(),
		GeneratedAt: rep.GeneratedAt.UTC(), Status: statusText(rep.Summary.Status),
		Model: rep.Model, Metrics: metricsOf(*rep)}
	if body.Model == "" {
		body.Model = "unknown"
	}
	writeJSON(w, http.StatusOK, body)
}

// windowMessage returns a window error's text for a client: the
// window's problem, which names no internals.
func windowMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "window "); i > 0 && errors.Is(err, gold.ErrOverlap) {
		msg = msg[i:]
	}
	return msg + "."
}

func statusText(s gold.Status) string {
	if s == "" {
		return string(gold.StatusUnknown)
	}
	return string(s)
}

func (a *api) gold() *gold.Store { return gold.NewStore(a.cfg.DB) }

// ReportBody is the JSON form of a stored report on the read routes,
// which remote commands decode too.
type ReportBody struct {
	ReportID    string        `json:"report_id"`
	Scope       string        `json:"scope"`
	Subject     string        `json:"subject"`
	WindowStart time.Time     `json:"window_start"`
	WindowEnd   time.Time     `json:"window_end"`
	GeneratedAt time.Time     `json:"generated_at"`
	Status      string        `json:"status"`
	Summary     string        `json:"summary"`
	Highlights  []string      `json:"highlights"`
	Risks       []string      `json:"risks"`
	NextSteps   []string      `json:"next_steps"`
	Model       string        `json:"model"`
	Provider    string        `json:"provider"`
	Metrics     ReportMetrics `json:"metrics"`
}

func newReportBody(r gold.Report, subject string) ReportBody {
	list := func(items []string) []string {
		if items == nil {
			return []string{}
		}
		return items
	}
	return ReportBody{ReportID: r.ID, Scope: string(r.Subject.Scope), Subject: subject,
		WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(),
		GeneratedAt: r.GeneratedAt.UTC(), Status: statusText(r.Summary.Status),
		Summary: r.Summary.Summary, Highlights: list(r.Summary.Highlights),
		Risks: list(r.Summary.Risks), NextSteps: list(r.Summary.NextSteps),
		Model: r.Model, Provider: r.Provider, Metrics: metricsOf(r)}
}

// reportHistory is the JSON body of a history route.
type reportHistory struct {
	Reports []ReportBody `json:"reports"`
	Limit   int          `json:"limit"`
	Offset  int          `json:"offset"`
}

// reportSubject is a resolved subject of the read routes: its gold
// subject, its name in response bodies, and its Markdown renderer.
type reportSubject struct {
	sub    gold.Subject
	name   string
	render func(r *http.Request, report gold.Report) (string, error)
}

// serveLatest serves a latest-report route for the subject.
func (a *api) serveLatest(w http.ResponseWriter, r *http.Request, s reportSubject) {
	latest, err := a.gold().Latest(r.Context(), s.sub)
	if err != nil {
		a.fail(w, r, "http.reports.read_failed", err, "subject_id", s.sub.ID)
		return
	}
	if latest == nil {
		writeError(w, http.StatusNotFound, noReports(s))
		return
	}

	if prefersMarkdown(r.Header.Get("Accept")) {
		md, err := s.render(r, *latest)
		if err != nil {
			a.fail(w, r, "http.reports.render_failed", err, "report_id", latest.ID)
			return
		}
		writeMarkdown(w, md)
		return
	}
	writeJSON(w, http.StatusOK, newReportBody(*latest, s.name))
}

// serveHistory serves a report history route for the subject.
func (a *api) serveHistory(w http.ResponseWriter, r *http.Request, s reportSubject) {
	limit, offset, bad := page(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}

	reports, err := a.gold().History(r.Context(), s.sub, time.Time{}, limit, offset)
	if err != nil {
		a.fail(w, r, "http.reports.read_failed", err, "subject_id", s.sub.ID)
		return
	}

	if prefersMarkdown(r.Header.Get("Accept")) {
		docs := make([]string, 0, len(reports))
		for _, rep := range reports {
			md, err := s.render(r, rep)
			if err != nil {
				a.fail(w, r, "http.reports.render_failed", err, "report_id", rep.ID)
				return
			}
			// Each report starts with a comment naming it: a "---" line
			// would be ambiguous, since every report has one above its
			// footer, and escaped report text cannot forge a comment.
			docs = append(docs, "<!-- ghillie:report "+rep.ID+" -->\n"+md)
		}
		writeMarkdown(w, strings.Join(docs, "\n"))
		return
	}

	body := reportHistory{Reports: make([]ReportBody, 0, len(reports)), Limit: limit,
		Offset: offset}
	for _, rep := range reports {
		body.Reports = append(body.Reports, newReportBody(rep, s.name))
	}
	writeJSON(w, http.StatusOK, body)
}

func noReports(s reportSubject) apiError {
	if s.sub.Scope != gold.ScopeRepository {
		return apiError{Title: "Report not found", Description: fmt.Sprintf(
			"The %s %s has no reports yet: an estate report run writes them (POST /reports/runs "+
				"with scope estate, or 'ghillie report run --scope estate').", s.sub.Scope, s.name)}
	}
	return apiError{Title: "Report not found", Description: fmt.Sprintf(
		"The %s %s has no reports yet: write one with POST /reports/repositories/{owner}/{name} "+
			"or 'ghillie report run'.", s.sub.Scope, s.name)}
}

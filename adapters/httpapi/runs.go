package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
)

// Runner starts ingestion and report runs on background workers, such as
// the job queue of adapters/worker.
// The runs' own settings, such as a lookback or a first window's length,
// replace the workers' settings when set.
type Runner interface {
	StartIngestion(ctx context.Context, scope runs.Scope, subject string,
		limits ingest.Limits) (runs.Run, error)
	StartReports(ctx context.Context, scope runs.Scope, subject string,
		opts reporting.RunOptions) (runs.Run, error)
}

// RunBody is the JSON form of a run, which the run routes return and
// the command line decodes.
type RunBody struct {
	RunID      string        `json:"run_id"`
	Kind       runs.Kind     `json:"kind"`
	Scope      runs.Scope    `json:"scope"`
	Subject    string        `json:"subject"`
	State      runs.State    `json:"state"`
	UnitsTotal *int          `json:"units_total"`
	Succeeded  int           `json:"succeeded"`
	Skipped    int           `json:"skipped"`
	Failed     int           `json:"failed"`
	Units      []RunUnitBody `json:"units"`
	Error      string        `json:"error,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	StartedAt  *time.Time    `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at"`
}

// RunUnitBody is the JSON form of a finished unit of a run.
type RunUnitBody struct {
	Name       string         `json:"name"`
	State      runs.UnitState `json:"state"`
	Detail     string         `json:"detail,omitempty"`
	FinishedAt time.Time      `json:"finished_at"`
}

func newRunBody(r runs.Run) RunBody {
	b := RunBody{RunID: r.ID, Kind: r.Kind, Scope: r.Scope, Subject: r.Subject, State: r.State,
		UnitsTotal: r.Total, Succeeded: r.Succeeded, Skipped: r.Skipped, Failed: r.Failed,
		Units: []RunUnitBody{}, Error: r.Error, CreatedAt: r.CreatedAt.UTC()}
	if r.StartedAt != nil {
		t := r.StartedAt.UTC()
		b.StartedAt = &t
	}
	if r.FinishedAt != nil {
		t := r.FinishedAt.UTC()
		b.FinishedAt = &t
	}
	for _, u := range r.Units {
		b.Units = append(b.Units, RunUnitBody{Name: u.Name, State: u.State, Detail: u.Detail,
			FinishedAt: u.FinishedAt.UTC()})
	}
	return b
}

// Run returns the run that the body describes.
func (b RunBody) Run() runs.Run {
	r := runs.Run{ID: b.RunID, Kind: b.Kind, Scope: b.Scope, Subject: b.Subject, State: b.State,
		Total: b.UnitsTotal, Succeeded: b.Succeeded, Skipped: b.Skipped, Failed: b.Failed,
		Error: b.Error, CreatedAt: b.CreatedAt, StartedAt: b.StartedAt, FinishedAt: b.FinishedAt}
	for _, u := range b.Units {
		r.Units = append(r.Units, runs.Unit{Name: u.Name, State: u.State, Detail: u.Detail,
			FinishedAt: u.FinishedAt})
	}
	return r
}

// runTarget reads and checks the scope and subject query parameters of a
// run request: scope=repository with owner and name, or scope=estate with
// estate_key.
func runTarget(r *http.Request) (runs.Scope, string, *apiError) {
	q := r.URL.Query()
	switch runs.Scope(q.Get("scope")) {
	case runs.ScopeRepository:
		owner, name := q.Get("owner"), q.Get("name")
		if bad := checkRepository(owner, name); bad != nil {
			return "", "", bad
		}
		return runs.ScopeRepository, owner + "/" + name, nil
	case runs.ScopeEstate:
		key := q.Get("estate_key")
		if !keyPattern.MatchString(key) {
			e := invalidInput("estate_key", fmt.Sprintf("Invalid estate_key %q: use 1 to 63 "+
				"lowercase letters, digits and hyphens.", key))
			return "", "", &e
		}
		return runs.ScopeEstate, key, nil
	}
	e := invalidInput("scope", fmt.Sprintf("Invalid scope %q: use repository (with owner and "+
		"name) or estate (with estate_key).", q.Get("scope")))
	return "", "", &e
}

// ingestionLimits reads the optional lookback_days and
// max_events_per_kind query parameters of an ingestion run.
func ingestionLimits(r *http.Request) (ingest.Limits, *apiError) {
	days, bad := queryInt(r, "lookback_days", 1, ingest.MaxLookbackDays)
	if bad != nil {
		return ingest.Limits{}, bad
	}
	events, bad := queryInt(r, "max_events_per_kind", 1, ingest.MaxEventsPerKindLimit)
	if bad != nil {
		return ingest.Limits{}, bad
	}
	return ingest.Limits{InitialLookback: time.Duration(days) * 24 * time.Hour,
		MaxEventsPerKind: events}, nil
}

// reportRunOptions reads the optional as_of and window_days query
// parameters of a report run.
func reportRunOptions(r *http.Request) (reporting.RunOptions, *apiError) {
	asOf, bad := queryTime(r, "as_of")
	if bad != nil {
		return reporting.RunOptions{}, bad
	}
	days, bad := queryInt(r, "window_days", 1, reporting.MaxWindowDays)
	if bad != nil {
		return reporting.RunOptions{}, bad
	}
	return reporting.RunOptions{AsOf: asOf, WindowDays: days}, nil
}

// startRun starts a run of the kind and writes 202 with the queued run.
func (a *api) startRun(w http.ResponseWriter, r *http.Request, kind runs.Kind) {
	if a.cfg.Runner == nil {
		writeError(w, http.StatusServiceUnavailable, apiError{Title: "No job queue",
			Description: "This server runs no background jobs; start it with a job queue, " +
				"or call the route that reports on a repository at once."})
		return
	}
	scope, subject, bad := runTarget(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}

	var run runs.Run
	var err error
	if kind == runs.KindIngestion {
		limits, bad := ingestionLimits(r)
		if bad != nil {
			writeError(w, http.StatusBadRequest, *bad)
			return
		}
		run, err = a.cfg.Runner.StartIngestion(r.Context(), scope, subject, limits)
	} else {
		opts, bad := reportRunOptions(r)
		if bad != nil {
			writeError(w, http.StatusBadRequest, *bad)
			return
		}
		run, err = a.cfg.Runner.StartReports(r.Context(), scope, subject, opts)
	}
	switch {
	case errors.Is(err, registry.ErrRepositoryNotFound):
		owner, name, _ := strings.Cut(subject, "/")
		writeError(w, http.StatusNotFound, repositoryNotFound(owner, name))
		return
	case errors.Is(err, registry.ErrEstateNotFound):
		writeError(w, http.StatusNotFound, estateNotFound(subject))
		return
	case errors.Is(err, registry.ErrIngestionDisabled):
		writeError(w, http.StatusConflict, apiError{Title: "Ingestion disabled",
			Description: err.Error() + "."})
		return
	case errors.Is(err, reporting.ErrWindow):
		writeError(w, http.StatusBadRequest, invalidInput("as_of", err.Error()))
		return
	case err != nil:
		a.fail(w, r, "http.run.failed", err, "kind", kind, "subject", subject)
		return
	}

	a.log.InfoContext(r.Context(), "http.run.queued", "kind", kind, "scope", scope,
		"subject", subject, "run_id", run.ID, "request_id", requestID(r.Context()))
	w.Header().Set("Location", runPath(kind, run.ID))
	writeJSON(w, http.StatusAccepted, newRunBody(run))
}

func runPath(kind runs.Kind, id string) string {
	if kind == runs.KindIngestion {
		return "/ingestion/runs/" + id
	}
	return "/reports/runs/" + id
}

func (a *api) startIngestionRun(w http.ResponseWriter, r *http.Request) {
	a.startRun(w, r, runs.KindIngestion)
}

func (a *api) startReportRun(w http.ResponseWriter, r *http.Request) {
	a.startRun(w, r, runs.KindReport)
}

// getRun writes the run with the id, when it is of the kind.
func (a *api) getRun(w http.ResponseWriter, r *http.Request, kind runs.Kind) {
	id := r.PathValue("id")
	run, err := runs.New(a.cfg.DB).Get(r.Context(), id)
	if errors.Is(err, runs.ErrNotFound) || (err == nil && run.Kind != kind) {
		writeError(w, http.StatusNotFound, apiError{Title: "Run not found",
			Description: fmt.Sprintf("No %s run has the id %q.", kind, id)})
		return
	}
	if err != nil {
		a.fail(w, r, "http.run.read_failed", err, "run_id", id)
		return
	}
	writeJSON(w, http.StatusOK, newRunBody(run))
}

func (a *api) ingestionRun(w http.ResponseWriter, r *http.Request) {
	a.getRun(w, r, runs.KindIngestion)
}

func (a *api) reportRun(w http.ResponseWriter, r *http.Request) {
	a.getRun(w, r, runs.KindReport)
}

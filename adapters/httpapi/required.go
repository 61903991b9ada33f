package httpapi

import (
	"net/http"
	"time"

	"github.com/ghillie/ghillie/metrics"
	"github.com/ghillie/ghillie/reporting"
)

// defaultWindowDays is the window length of the metrics routes without
// window_days or an explicit window.
const defaultWindowDays = 7

// metricsWindow reads the window of a metrics route: window_start and
// window_end, or the window_days days before as_of or now.
func metricsWindow(r *http.Request, now time.Time) (start, end time.Time, bad *apiError) {
	if start, bad = queryTime(r, "window_start"); bad != nil {
		return start, end, bad
	}
	if end, bad = queryTime(r, "window_end"); bad != nil {
		return start, end, bad
	}
	asOf, bad := queryTime(r, "as_of")
	if bad != nil {
		return start, end, bad
	}

	days, bad := queryInt(r, "window_days", 1, reporting.MaxWindowDays)
	if bad != nil {
		return start, end, bad
	}
	daysSet := days != 0
	if !daysSet {
		days = defaultWindowDays
	}

	explicit := !start.IsZero() || !end.IsZero()
	switch {
	case start.IsZero() != end.IsZero():
		field := "window_end"
		if start.IsZero() {
			field = "window_start"
		}
		e := invalidInput(field, "window_start and window_end go together: give both or neither.")
		return start, end, &e
	case explicit && !asOf.IsZero():
		e := invalidInput("as_of", "as_of and window_start/window_end exclude each other: "+
			"give one or the other.")
		return start, end, &e
	case explicit && daysSet:
		e := invalidInput("window_days", "window_days and window_start/window_end exclude "+
			"each other: give one or the other.")
		return start, end, &e
	case explicit && !end.After(start):
		e := invalidInput("window_end", "window_end must be after window_start.")
		return start, end, &e
	case explicit:
		return start.UTC(), end.UTC(), nil
	}

	end = now
	if !asOf.IsZero() {
		end = asOf
	}
	end = end.UTC()
	return end.AddDate(0, 0, -days), end, nil
}

// repositoryRequiredMetrics serves
// GET /metrics/repositories/{owner}/{name}/required.
func (a *api) repositoryRequiredMetrics(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	owner, name, bad := repositoryPath(r)
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	start, end, bad := metricsWindow(r, time.Now())
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}

	repo, ok := a.repositoryOr404(w, r, owner, name, "http.metrics.read_failed")
	if !ok {
		return
	}

	m, err := metrics.ForRepository(ctx, a.cfg.DB, repo.ID, start, end)
	if err != nil {
		a.fail(w, r, "http.metrics.read_failed", err, "repository_id", repo.ID)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// estateRequiredMetrics serves GET /estates/{estate}/metrics/required.
func (a *api) estateRequiredMetrics(w http.ResponseWriter, r *http.Request) {
	start, end, bad := metricsWindow(r, time.Now())
	if bad != nil {
		writeError(w, http.StatusBadRequest, *bad)
		return
	}
	key, id, ok := a.estateSubject(w, r)
	if !ok {
		return
	}

	m, err := metrics.ForEstate(r.Context(), a.cfg.DB, id, start, end)
	if err != nil {
		a.fail(w, r, "http.metrics.read_failed", err, "estate", key)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

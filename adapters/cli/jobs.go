package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/runs"
)

// jobRow is the JSON and YAML form of a background job.
type jobRow struct {
	ID          int64          `json:"id" yaml:"id"`
	Kind        string         `json:"kind" yaml:"kind"`
	State       string         `json:"state" yaml:"state"`
	Attempt     int            `json:"attempt" yaml:"attempt"`
	MaxAttempts int            `json:"max_attempts" yaml:"max_attempts"`
	CreatedAt   time.Time      `json:"created_at" yaml:"created_at"`
	ScheduledAt time.Time      `json:"scheduled_at" yaml:"scheduled_at"`
	Args        map[string]any `json:"args" yaml:"args"`
	Errors      []string       `json:"errors,omitempty" yaml:"errors,omitempty"`
}

// jobStates maps the --state values onto River's job states.
var jobStates = map[string][]rivertype.JobState{
	"failed":    {rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled},
	"waiting":   {rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending},
	"running":   {rivertype.JobStateRunning},
	"retryable": {rivertype.JobStateRetryable},
	"discarded": {rivertype.JobStateDiscarded},
	"cancelled": {rivertype.JobStateCancelled},
	"completed": {rivertype.JobStateCompleted},
}

func (a *app) jobsCommand() *cobra.Command {
	return group("jobs", "Inspect the background job queue", a.jobsListCommand())
}

func (a *app) jobsListCommand() *cobra.Command {
	var state, kind string
	var limit int

	cmd := &cobra.Command{
		Use:   "list",
		Short: "List background jobs, newest first, with the errors of their attempts",
		Long: "List the jobs of the queue that 'ghillie worker' works. --state failed (the\n" +
			"default) lists jobs waiting to be retried, jobs given up after their last\n" +
			"attempt (discarded) and jobs given up at once because another attempt would\n" +
			"fail the same way (cancelled), with the error of each attempt. River deletes\n" +
			"finished jobs after a day, and given-up jobs after a week.",
		Example: "  ghillie jobs list\n  ghillie jobs list --state running --kind " + worker.KindReportRepository,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			states, ok := jobStates[state]
			if !ok && state != "all" {
				return usageError{fmt.Errorf("invalid --state %q: use failed, waiting, running, "+
					"retryable, discarded, cancelled, completed or all", state)}
			}
			if limit < 1 || limit > 10000 {
				return usageError{fmt.Errorf("invalid --limit %d: use 1 to 10000", limit)}
			}

			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := worker.Migrate(ctx, db, a.logger); err != nil {
				return err
			}
			q, err := worker.New(worker.Config{DB: db, InsertOnly: true, Logger: a.logger})
			if err != nil {
				return err
			}

			params := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
			if len(states) > 0 {
				params = params.States(states...)
			}
			if kind != "" {
				params = params.Kinds(kind)
			}
			res, err := q.Client().JobList(ctx, params)
			if err != nil {
				return fmt.Errorf("list jobs: %w", err)
			}
			return a.renderJobs(res.Jobs)
		},
	}

	flags := cmd.Flags()
	flags.StringVar(&state, "state", "failed",
		"jobs to list: failed, waiting, running, retryable, discarded, cancelled, completed or all")
	flags.StringVar(&kind, "kind", "", "only jobs of this kind, such as "+worker.KindIngestRepository)
	flags.IntVar(&limit, "limit", 50, "most jobs to list")
	return cmd
}

func (a *app) renderJobs(jobs []*rivertype.JobRow) error {
	rows := make([]jobRow, 0, len(jobs))
	t := table{header: []string{"ID", "KIND", "STATE", "ATTEMPT", "SCHEDULED", "LAST ERROR"}}
	for _, j := range jobs {
		row := jobRow{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt,
			MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt.UTC(), ScheduledAt: j.ScheduledAt.UTC()}
		// Every job's arguments are a JSON object, as River encodes them.
		_ = json.Unmarshal(j.EncodedArgs, &row.Args)
		for _, e := range j.Errors {
			row.Errors = append(row.Errors, e.Error)
		}
		rows = append(rows, row)

		last := "-"
		if n := len(row.Errors); n > 0 {
			last = firstLine(row.Errors[n-1], 100)
		}
		t.rows = append(t.rows, []string{strconv.FormatInt(j.ID, 10), j.Kind, string(j.State),
			fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), row.ScheduledAt.Format(time.RFC3339), last})
	}
	return a.render(rows, t)
}

// firstLine returns the first line of s, cut to at most n characters.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// runStatusCommand shows a run of the kind that the worker, the HTTP API
// or a local 'ingest run' or 'report run' started.
func (a *app) runStatusCommand(kind runs.Kind) *cobra.Command {
	var runID string

	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the state of " + article(string(kind)) + " run and its units",
		Long: "Show a run that the HTTP API, the worker's schedule or a local '" +
			commandOf(kind) + " run'\nstarted: its state " +
			"(queued, running, succeeded, partial or failed) and every finished unit.\n" +
			"The exit status is 3 when the run ended partial or failed.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if a.remote() {
				run, err := a.getRemoteRun(ctx, kind, runID)
				var remote *remoteError
				if errors.As(err, &remote) && remote.notFound {
					// Asking the other kind's route distinguishes a run of
					// the other kind from no run, as the database does locally.
					if _, otherErr := a.getRemoteRun(ctx, otherKind(kind), runID); otherErr == nil {
						return wrongKind(runID, otherKind(kind), kind)
					}
				}
				if err != nil {
					return err
				}
				return a.finishRun(run)
			}
			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			run, err := runs.New(db).Get(ctx, runID)
			if errors.Is(err, runs.ErrNotFound) {
				return fmt.Errorf("no %s run has the id %q", kind, runID)
			}
			if err == nil && run.Kind != kind {
				return wrongKind(runID, run.Kind, kind)
			}
			if err != nil {
				return err
			}
			return a.finishRun(run)
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "id of the run (required)")
	_ = cmd.MarkFlagRequired("run-id")
	return cmd
}

// runRow is the JSON and YAML form of a run.
type runRow struct {
	RunID      string       `json:"run_id" yaml:"run_id"`
	Kind       runs.Kind    `json:"kind" yaml:"kind"`
	Scope      runs.Scope   `json:"scope" yaml:"scope"`
	Subject    string       `json:"subject" yaml:"subject"`
	State      runs.State   `json:"state" yaml:"state"`
	UnitsTotal *int         `json:"units_total" yaml:"units_total"`
	Succeeded  int          `json:"succeeded" yaml:"succeeded"`
	Skipped    int          `json:"skipped" yaml:"skipped"`
	Failed     int          `json:"failed" yaml:"failed"`
	Units      []runUnitRow `json:"units" yaml:"units"`
	Error      string       `json:"error,omitempty" yaml:"error,omitempty"`
	CreatedAt  time.Time    `json:"created_at" yaml:"created_at"`
	FinishedAt *time.Time   `json:"finished_at" yaml:"finished_at"`
}

type runUnitRow struct {
	Name   string         `json:"name" yaml:"name"`
	State  runs.UnitState `json:"state" yaml:"state"`
	Detail string         `json:"detail,omitempty" yaml:"detail,omitempty"`
}

func (a *app) renderRun(run runs.Run) error {
	row := runRow{RunID: run.ID, Kind: run.Kind, Scope: run.Scope, Subject: run.Subject,
		State: run.State, UnitsTotal: run.Total, Succeeded: run.Succeeded, Skipped: run.Skipped,
		Failed: run.Failed, Units: []runUnitRow{}, Error: run.Error, CreatedAt: run.CreatedAt.UTC(),
		FinishedAt: run.FinishedAt}
	t := table{header: []string{"UNIT", "STATE", "DETAIL"}}
	for _, u := range plannedOrder(run.Units) {
		row.Units = append(row.Units, runUnitRow{Name: u.Name, State: u.State, Detail: u.Detail})
		t.rows = append(t.rows, []string{u.Name, string(u.State), dash(firstLine(u.Detail, 100))})
	}
	if a.output == "table" {
		progress := "no units planned yet"
		if run.Total != nil {
			progress = fmt.Sprintf("%d of %d units finished", len(run.Units), *run.Total)
		}
		fmt.Fprintf(a.stdout, "%s run %s of %s %s: %s (%s)\n",
			run.Kind, run.ID, run.Scope, run.Subject, run.State, progress)
		if run.Error != "" {
			fmt.Fprintf(a.stdout, "error: %s\n", run.Error)
		}
		if len(t.rows) == 0 {
			return nil
		}
	}
	return a.render(row, t)
}

// plannedOrder returns the units in the order a local run plans them:
// repositories by owner and name ignoring case, as the registry lists
// them, and the roll-up last. The workers finish units in another order,
// such as an estate report run's skipped repositories first, and a run
// prints the same whichever carried it out.
func plannedOrder(units []runs.Unit) []runs.Unit {
	sorted := slices.Clone(units)
	slices.SortStableFunc(sorted, func(a, b runs.Unit) int {
		aRollup, bRollup := a.Name == runs.RollupUnit, b.Name == runs.RollupUnit
		if aRollup != bRollup {
			if aRollup {
				return 1
			}
			return -1
		}
		aOwner, aName, _ := strings.Cut(strings.ToLower(a.Name), "/")
		bOwner, bName, _ := strings.Cut(strings.ToLower(b.Name), "/")
		return cmp.Or(cmp.Compare(aOwner, bOwner), cmp.Compare(aName, bName))
	})
	return sorted
}

// wrongKind is the error of a status command given a run of the other
// kind.
func wrongKind(runID string, got, want runs.Kind) error {
	return fmt.Errorf("run %q is %s run, not %s run: use 'ghillie %s status'", runID,
		article(string(got)), article(string(want)), commandOf(got))
}

// otherKind returns the kind of run that kind is not.
func otherKind(kind runs.Kind) runs.Kind {
	if kind == runs.KindIngestion {
		return runs.KindReport
	}
	return runs.KindIngestion
}

// article returns the noun with its indefinite article.
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// commandOf returns the command noun of a run's kind.
func commandOf(kind runs.Kind) string {
	if kind == runs.KindIngestion {
		return "ingest"
	}
	return "report"
}

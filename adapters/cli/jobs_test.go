package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// brokenModel fails every repository summary.
type brokenModel struct{ *status.Mock }

func (brokenModel) SummarizeRepository(context.Context, *evidence.RepositoryBundle) (status.Result, error) {
	return status.Result{}, errors.New("model endpoint answered 503")
}

// failedRun runs a report of leynos/wildside on a queue whose model
// fails, and returns the run once it has failed.
func failedRun(t *testing.T, env map[string]string) runs.Run {
	t.Helper()
	ctx := context.Background()

	db, err := store.Open(ctx, env["GHILLIE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	at := time.Now().UTC().Add(-time.Hour)
	e := bronze.Envelope{SourceSystem: "github", SourceEventID: "c1", EventType: "github.commit",
		RepoExternalID: "leynos/wildside", OccurredAt: at, Payload: map[string]any{
			"sha": "c1", "message": "feat: add walks", "repo_owner": "leynos", "repo_name": "wildside",
			"committed_at": at.Format(time.RFC3339), "default_branch": "main"}}
	if _, err := bronze.NewWriter(db).WriteBatch(ctx, []bronze.Envelope{e}); err != nil {
		t.Fatal(err)
	}
	if _, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0); err != nil {
		t.Fatal(err)
	}

	q, err := worker.New(worker.Config{DB: db, Model: brokenModel{status.NewMock()}, MaxAttempts: 2,
		RetryDelay: 10 * time.Millisecond, PollInterval: 50 * time.Millisecond, ReportSchedule: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Stop(ctx) }()

	run, err := q.StartReports(ctx, runs.ScopeRepository, "leynos/wildside", reporting.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !run.State.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s", run.State)
		}
		time.Sleep(50 * time.Millisecond)
		if run, err = q.Runs().Get(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func TestJobsAndRunStatus(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := ingestEnv(t, d)
			failed := failedRun(t, env)
			is.Equal(failed.State, runs.StateFailed)

			r := run(t, env, "report", "status", "--run-id", failed.ID)
			is.Equal(r.code, cli.ExitRunFailed)
			is.True(strings.Contains(r.stdout, "failed"))
			is.True(strings.Contains(r.stdout, "model endpoint answered 503"))

			r = run(t, env, "ingest", "status", "--run-id", failed.ID)
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, "is a report run, not an ingestion run"))

			// The job shows the error of each attempt, once River has
			// recorded the last.
			var jobs []struct {
				Kind   string   `json:"kind"`
				State  string   `json:"state"`
				Errors []string `json:"errors"`
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				r = run(t, env, "-o", "json", "jobs", "list", "--kind", worker.KindReportRepository)
				is.Equal(r.code, cli.ExitOK)
				is.NoErr(json.Unmarshal([]byte(r.stdout), &jobs))
				if len(jobs) == 1 && jobs[0].State == "discarded" || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			is.Equal(len(jobs), 1)
			is.Equal(jobs[0].State, "discarded")
			is.Equal(len(jobs[0].Errors), 2)
			is.True(strings.Contains(jobs[0].Errors[1], "model endpoint answered 503"))

			r = run(t, env, "jobs", "list", "--state", "stuck")
			is.Equal(r.code, cli.ExitUsage)
		})
	}
}

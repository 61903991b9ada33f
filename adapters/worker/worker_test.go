package worker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// asOf is the end of the windows the tests report on.
var asOf = time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)

// untilAsOf are the options of a report run whose windows end at asOf.
var untilAsOf = reporting.RunOptions{AsOf: asOf}

const example = "../../examples/wildside-catalogue.yaml"

// migrated returns a database with Ghillie's and River's tables, the
// example estate imported and synced.
func migrated(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()

	if err := worker.Migrate(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: "wildside"},
		example, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, "wildside"); err != nil {
		t.Fatal(err)
	}
}

// commit stores a refined commit of a repository, the day before asOf.
func commit(t *testing.T, db *store.DB, slug, sha string) {
	t.Helper()

	owner, name, _ := strings.Cut(slug, "/")
	at := asOf.Add(-24 * time.Hour)
	env := bronze.Envelope{SourceSystem: "github", SourceEventID: slug + "@" + sha,
		EventType: "github.commit", RepoExternalID: slug, OccurredAt: at, Payload: map[string]any{
			"sha": sha, "message": "feat: add walks", "repo_owner": owner, "repo_name": name,
			"committed_at": at.Format(time.RFC3339), "default_branch": "main"}}
	if _, err := bronze.NewWriter(db).WriteBatch(context.Background(), []bronze.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	if _, err := silver.NewTransformer(db, nil).ProcessPending(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

// start returns a started queue of cfg with fast polling and retries.
func start(t *testing.T, cfg worker.Config) *worker.Queue {
	t.Helper()

	cfg.PollInterval = 50 * time.Millisecond
	cfg.RetryDelay = 10 * time.Millisecond
	if cfg.ReportSchedule == "" {
		cfg.ReportSchedule = "off"
	}
	q, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return q
}

// wait returns the run once it has finished.
func wait(t *testing.T, s *runs.Store, id string, within time.Duration) runs.Run {
	t.Helper()

	deadline := time.Now().Add(within)
	for {
		r, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State.Terminal() {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after %s: %+v", id, r.State, within, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unitDetails returns the detail of each unit of a run, by unit name.
func unitDetails(run runs.Run) map[string]string {
	details := map[string]string{}
	for _, u := range run.Units {
		details[u.Name] = u.Detail
	}
	return details
}

func countReports(t *testing.T, db *store.DB, scope string) int {
	t.Helper()

	var n int
	if err := db.Get(&n, db.Rebind(`SELECT count(*) FROM reports WHERE scope = ?`), scope); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEstateReportRun(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		migrated(t, db)
		commit(t, db, "leynos/wildside", "c1")
		sink := t.TempDir()
		cfg := reporting.DefaultConfig
		cfg.SinkPath = sink
		q := start(t, worker.Config{DB: db, Model: status.NewMock(), Reporting: cfg})

		run, err := q.StartReports(context.Background(), runs.ScopeEstate, "wildside", untilAsOf)
		is.NoErr(err)
		is.Equal(run.State, runs.StateQueued)

		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateSucceeded)
		is.Equal(*run.Total, 7) // six repositories and the roll-up
		is.Equal(run.Succeeded, 2)
		is.Equal(run.Skipped, 5) // only leynos/wildside has events

		is.Equal(countReports(t, db, "repository"), 1)
		is.Equal(countReports(t, db, "project"), 2)
		is.Equal(countReports(t, db, "estate"), 1)
		_, err = os.Stat(filepath.Join(sink, "leynos", "wildside", "latest.md"))
		is.NoErr(err) // GHILLIE_REPORT_SINK_PATH is honoured
		_, err = os.Stat(filepath.Join(sink, "estates", "wildside", "latest.md"))
		is.NoErr(err)
	})
}

// failing fails every repository summary.
type failing struct{ *status.Mock }

func (failing) SummarizeRepository(context.Context, *evidence.RepositoryBundle) (status.Result, error) {
	return status.Result{}, errors.New("model endpoint answered 500")
}

func TestFailedReportRetriesThenFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)
		commit(t, db, "leynos/wildside", "c1")
		q := start(t, worker.Config{DB: db, Model: failing{status.NewMock()}, MaxAttempts: 3})

		run, err := q.StartReports(ctx, runs.ScopeEstate, "wildside", untilAsOf)
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)

		// The failed repository leaves the roll-ups unwritten; the
		// skipped ones make the run partial rather than failed.
		is.Equal(run.State, runs.StatePartial)
		is.Equal(run.Failed, 2)
		is.Equal(countReports(t, db, "project"), 0)
		details := unitDetails(run)
		is.True(strings.Contains(details["leynos/wildside"], "model endpoint answered 500"))
		is.True(strings.Contains(details[runs.RollupUnit], "1 repository reports failed"))

		// The job is kept with the error of each of its attempts, once
		// River has recorded the last one.
		var jobs *river.JobListResult
		deadline := time.Now().Add(10 * time.Second)
		for {
			jobs, err = q.Client().JobList(ctx, river.NewJobListParams().
				Kinds(worker.KindReportRepository).States(rivertype.JobStateDiscarded))
			is.NoErr(err)
			if len(jobs.Jobs) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		is.Equal(len(jobs.Jobs), 1)
		is.Equal(len(jobs.Jobs[0].Errors), 3)
		is.True(strings.Contains(jobs.Jobs[0].Errors[2].Error, "model endpoint answered 500"))
	})
}

func TestRepositoryRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)
		q := start(t, worker.Config{DB: db, Model: status.NewMock()})

		_, err := q.StartReports(ctx, runs.ScopeRepository, "nobody/nothing", untilAsOf)
		is.True(errors.Is(err, registry.ErrRepositoryNotFound))
		_, err = q.StartIngestion(ctx, runs.ScopeEstate, "nowhere", ingest.Limits{})
		is.True(errors.Is(err, registry.ErrEstateNotFound))

		// A repository whose ingestion is disabled gets no run, as locally.
		_, err = registry.NewService(db, nil).Disable(ctx, "leynos", "ortho-config")
		is.NoErr(err)
		_, err = q.StartIngestion(ctx, runs.ScopeRepository, "leynos/ortho-config", ingest.Limits{})
		is.True(errors.Is(err, registry.ErrIngestionDisabled))
		is.True(strings.Contains(err.Error(), "--ingestion-enabled"))
		var queued int
		is.NoErr(db.Get(&queued, db.Rebind(`SELECT count(*) FROM runs WHERE subject = ?`),
			"leynos/ortho-config"))
		is.Equal(queued, 0)

		// Without events the repository's report is skipped.
		run, err := q.StartReports(ctx, runs.ScopeRepository, "leynos/wildside", untilAsOf)
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateSucceeded)
		is.Equal(run.Skipped, 1)

		// Without GitHub access ingestion fails at once, with the fix.
		run, err = q.StartIngestion(ctx, runs.ScopeRepository, "leynos/wildside", ingest.Limits{})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateFailed)
		is.True(strings.Contains(run.Units[0].Detail, "GHILLIE_GITHUB_TOKEN"))
	})
}

// fakeRepository is a repository with one commit an hour ago.
func fakeRepository(owner, name string) *githubtest.Repository {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	return &githubtest.Repository{Owner: owner, Name: name, DefaultBranch: "main",
		Commits: []githubtest.Commit{{
			OID: strings.Repeat("b", 40), MessageHeadline: "Plan the next release",
			AuthoredDate: at, CommittedDate: at,
			Author: githubtest.GitActor{Name: "Dev One", Email: "dev1@example.invalid"},
		}}}
}

func TestEstateIngestionRun(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)

		// Two of the estate's six repositories exist on the fake GitHub;
		// the others fail for good with GitHub's not-found response.
		client := fakeGitHub(t,
			fakeRepository("leynos", "wildside"), fakeRepository("leynos", "ortho-config"))
		q := start(t, worker.Config{DB: db, GitHub: client, MaxAttempts: 2})

		run, err := q.StartIngestion(ctx, runs.ScopeEstate, "wildside", ingest.Limits{})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(*run.Total, 6)
		is.Equal(run.Succeeded, 2)
		is.Equal(run.State, runs.StatePartial)

		// The ingested commits are refined by the transform job that the
		// ingestion queued.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			is.NoErr(db.Get(&n, `SELECT count(*) FROM commits`))
			if n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d commits in Silver, want 2", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// blocking is a model whose repository summaries wait for their context.
type blocking struct {
	*status.Mock
	started chan struct{}
}

func (m blocking) SummarizeRepository(ctx context.Context, _ *evidence.RepositoryBundle) (status.Result, error) {
	m.started <- struct{}{}
	<-ctx.Done()
	return status.Result{}, ctx.Err()
}

// TestStopCancelsLongJobs stops a queue while a job outlasts the stop's
// deadline: the job is cancelled and waits for a retry, not left running.
func TestStopCancelsLongJobs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)
		commit(t, db, "leynos/wildside", "c1")
		model := blocking{status.NewMock(), make(chan struct{}, 1)}
		q, err := worker.New(worker.Config{DB: db, Model: model, ReportSchedule: "off",
			PollInterval: 50 * time.Millisecond})
		is.NoErr(err)
		is.NoErr(q.Start(ctx))

		_, err = q.StartReports(ctx, runs.ScopeRepository, "leynos/wildside", untilAsOf)
		is.NoErr(err)
		<-model.started

		stopCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		is.NoErr(q.Stop(stopCtx)) // within the deadline, by cancelling the job

		jobs, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds(worker.KindReportRepository))
		is.NoErr(err)
		is.Equal(len(jobs.Jobs), 1)
		state := jobs.Jobs[0].State
		is.True(state == rivertype.JobStateRetryable || state == rivertype.JobStateAvailable) // waits for a retry
	})
}

// historyRepository is a repository whose commits were made the given
// durations ago, newest first.
// fakeGitHub returns a GitHub client of a fake GitHub that has repos.
func fakeGitHub(t *testing.T, repos ...*githubtest.Repository) *githubapi.Client {
	t.Helper()

	server := githubtest.NewServer(t, githubtest.Options{}, repos...)
	client, err := githubapi.New(githubapi.Config{Token: githubtest.DefaultToken, APIURL: server.URL})
	if err != nil {
		t.Fatalf("create a client of the fake GitHub: %v", err)
	}
	return client
}

func historyRepository(owner, name string, ages ...time.Duration) *githubtest.Repository {
	repo := &githubtest.Repository{Owner: owner, Name: name, DefaultBranch: "main"}
	now := time.Now().UTC().Truncate(time.Second)
	for i, age := range ages {
		at := now.Add(-age)
		repo.Commits = append(repo.Commits, githubtest.Commit{
			OID: strings.Repeat(string(rune('a'+i)), 40), MessageHeadline: "Change " + name,
			AuthoredDate: at, CommittedDate: at,
			Author: githubtest.GitActor{Name: "Dev One", Email: "dev1@example.invalid"}})
	}
	return repo
}

// rawCommits counts the commits of a repository in Bronze.
func rawCommits(t *testing.T, db *store.DB, slug string) int {
	t.Helper()

	var n int
	err := db.Get(&n, db.Rebind(`SELECT count(*) FROM raw_events
		WHERE event_type = 'github.commit' AND repo_external_id = ?`), slug)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestionRunLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)

		day := 24 * time.Hour
		client := fakeGitHub(t,
			historyRepository("leynos", "wildside", time.Hour, 2*time.Hour, 3*day),
			historyRepository("leynos", "ortho-config", time.Hour, 2*time.Hour, 3*day))
		q := start(t, worker.Config{DB: db, GitHub: client, MaxAttempts: 1})

		// A lookback of one day leaves out the commit of three days ago,
		// which the worker's own lookback of seven days would read.
		run, err := q.StartIngestion(ctx, runs.ScopeRepository, "leynos/wildside",
			ingest.Limits{InitialLookback: day})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateSucceeded)
		is.Equal(rawCommits(t, db, "leynos/wildside"), 2)

		// An estate run passes its cap to each repository's job.
		run, err = q.StartIngestion(ctx, runs.ScopeEstate, "wildside",
			ingest.Limits{MaxEventsPerKind: 1})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(rawCommits(t, db, "leynos/ortho-config"), 1)
		details := unitDetails(run)
		is.True(strings.Contains(details["leynos/ortho-config"], "backlog left"))

		// A later run without limits reads the backlog with the worker's.
		run, err = q.StartIngestion(ctx, runs.ScopeRepository, "leynos/ortho-config", ingest.Limits{})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateSucceeded)
		is.Equal(rawCommits(t, db, "leynos/ortho-config"), 3)

		for _, l := range []ingest.Limits{{InitialLookback: time.Hour},
			{MaxEventsPerKind: ingest.MaxEventsPerKindLimit + 1}} {
			_, err := q.StartIngestion(ctx, runs.ScopeRepository, "leynos/wildside", l)
			is.True(err != nil) // rejected before anything is queued
		}
	})
}

// TestMissingRepositoryFailsAtOnce checks that a repository GitHub does
// not have fails its unit at the first attempt, as a local run does,
// instead of being retried with backoff.
func TestMissingRepositoryFailsAtOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)

		client := fakeGitHub(t,
			historyRepository("leynos", "wildside", time.Hour))
		q := start(t, worker.Config{DB: db, GitHub: client, MaxAttempts: 5})

		run, err := q.StartIngestion(ctx, runs.ScopeRepository, "leynos/ortho-config", ingest.Limits{})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateFailed)
		is.True(strings.Contains(unitDetails(run)["leynos/ortho-config"], "not found"))

		var attempts int
		is.NoErr(db.GetContext(ctx, &attempts, db.Rebind(
			"SELECT max(attempt) FROM river_job WHERE kind = ?"), worker.KindIngestRepository))
		is.Equal(attempts, 1) // not retried
	})
}

func TestReportRunWindowDays(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)
		commit(t, db, "leynos/wildside", "c1")
		q := start(t, worker.Config{DB: db, Model: status.NewMock()})

		run, err := q.StartReports(ctx, runs.ScopeEstate, "wildside",
			reporting.RunOptions{AsOf: asOf, WindowDays: 3})
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateSucceeded)

		// Every first window of the run, roll-ups included, is 3 days long.
		var starts []store.Time
		is.NoErr(db.Select(&starts, `SELECT DISTINCT window_start FROM reports`))
		is.Equal(len(starts), 1)
		is.Equal(starts[0].UTC(), asOf.AddDate(0, 0, -3))
		is.Equal(countReports(t, db, "estate"), 1)

		_, err = q.StartReports(ctx, runs.ScopeEstate, "wildside",
			reporting.RunOptions{AsOf: asOf, WindowDays: reporting.MaxWindowDays + 1})
		is.True(errors.Is(err, reporting.ErrWindow))
	})
}

// TestEstateRunOfReportedWindow runs an estate's reports again for the
// end of its stored reports: each repository unit shows the existing
// report, as a local run and a repository run do, and none is skipped.
func TestEstateRunOfReportedWindow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)
		commit(t, db, "leynos/wildside", "c1")
		q := start(t, worker.Config{DB: db, Model: status.NewMock()})

		first, err := q.StartReports(ctx, runs.ScopeEstate, "wildside", untilAsOf)
		is.NoErr(err)
		first = wait(t, q.Runs(), first.ID, time.Minute)
		is.Equal(first.State, runs.StateSucceeded)

		again, err := q.StartReports(ctx, runs.ScopeEstate, "wildside", untilAsOf)
		is.NoErr(err)
		again = wait(t, q.Runs(), again.ID, time.Minute)
		is.Equal(again.State, runs.StateSucceeded)
		details := unitDetails(again)
		is.True(strings.HasPrefix(details["leynos/wildside"], "existing report "))
		is.Equal(countReports(t, db, "repository"), 1)
	})
}

// TestEstateRunBeforeEveryReport checks that an estate run whose as_of
// predates every repository's latest report fails: skipping each one, as
// a run does for a repository reported past as_of, would succeed having
// done nothing.
func TestEstateRunBeforeEveryReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		migrated(t, db)
		repos, err := registry.NewService(db, nil).List(ctx, registry.ListOptions{EstateKey: "wildside"})
		is.NoErr(err)
		for _, r := range repos {
			commit(t, db, r.Slug(), "c-"+r.Name)
		}
		q := start(t, worker.Config{DB: db, Model: status.NewMock()})

		first, err := q.StartReports(ctx, runs.ScopeEstate, "wildside", untilAsOf)
		is.NoErr(err)
		first = wait(t, q.Runs(), first.ID, time.Minute)
		is.Equal(first.State, runs.StateSucceeded)

		earlier := reporting.RunOptions{AsOf: asOf.Add(-48 * time.Hour)}
		again, err := q.StartReports(ctx, runs.ScopeEstate, "wildside", earlier)
		is.NoErr(err)
		again = wait(t, q.Runs(), again.ID, time.Minute)
		is.Equal(again.State, runs.StateFailed)
		for _, u := range again.Units {
			if u.Name != runs.RollupUnit {
				is.Equal(u.State, runs.UnitFailed)
				is.True(strings.Contains(u.Detail, "predates the end of the last report's window"))
			}
		}
		is.Equal(countReports(t, db, "repository"), len(repos))
	})
}

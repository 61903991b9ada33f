package worker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// Settings of the worker processes that TestWorkerProcess runs.
const (
	envWorkerURL   = "GHILLIE_TEST_WORKER_URL"
	envWorkerID    = "GHILLIE_TEST_WORKER_ID"
	envWorkerDelay = "GHILLIE_TEST_WORKER_DELAY"
)

// slow is the mock model, slowed down so that jobs are in flight long
// enough to kill a worker in the middle of one.
type slow struct {
	*status.Mock
	delay time.Duration
}

func (m slow) SummarizeRepository(ctx context.Context, b *evidence.RepositoryBundle) (status.Result, error) {
	select {
	case <-ctx.Done():
		return status.Result{}, ctx.Err()
	case <-time.After(m.delay):
	}
	return m.Mock.SummarizeRepository(ctx, b)
}

// TestWorkerProcess is the worker process that TestWorkersShareQueue
// starts, and is skipped in a normal test run. It works jobs until it is
// killed or its standard input closes.
func TestWorkerProcess(t *testing.T) {
	url := os.Getenv(envWorkerURL)
	if url == "" {
		t.Skip("entry point of the worker processes that TestWorkersShareQueue starts")
	}
	ctx := context.Background()

	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	delay, err := time.ParseDuration(os.Getenv(envWorkerDelay))
	if err != nil {
		t.Fatal(err)
	}
	q, err := worker.New(worker.Config{DB: db, Model: slow{status.NewMock(), delay},
		ID: os.Getenv(envWorkerID), ReportSchedule: "off", Concurrency: 4,
		PollInterval: 50 * time.Millisecond, JobTimeout: 5 * time.Second, RescueAfter: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}

	// The parent closes standard input to stop a worker cleanly.
	_, _ = os.Stdin.Read(make([]byte, 1))
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := q.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
}

// estateOf writes a catalogue of one project with n repositories, imports
// and syncs it as the estate "fleet", and stores a commit of each
// repository.
func estateOf(t *testing.T, db *store.DB, n int) {
	t.Helper()
	ctx := context.Background()

	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n  - key: fleet\n    name: Fleet\n    components:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - key: part-%02d\n        name: Part %02d\n        type: service\n"+
			"        repository:\n          owner: fleet\n          name: repo-%02d\n"+
			"          default_branch: main\n", i, i, i)
	}
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: "fleet"}, path, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, "fleet"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		commit(t, db, fmt.Sprintf("fleet/repo-%02d", i), "c1")
	}
}

// spawn starts a worker process on the database at url.
func spawn(t *testing.T, url, id string, delay time.Duration) *exec.Cmd {
	t.Helper()

	cmd := exec.Command(os.Args[0], "-test.run", "^TestWorkerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), envWorkerURL+"="+url, envWorkerID+"="+id,
		envWorkerDelay+"="+delay.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && cmd.ProcessState.Success() {
				t.Errorf("worker %s: %v\n%s", id, err, out.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("worker %s did not stop\n%s", id, out.String())
		}
	})
	return cmd
}

// reportJobs returns the estate's repository report jobs.
func reportJobs(t *testing.T, q *worker.Queue) []*rivertype.JobRow {
	t.Helper()

	res, err := q.Client().JobList(context.Background(), river.NewJobListParams().
		Kinds(worker.KindReportRepository).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// TestWorkersShareQueue runs 50 report jobs on two worker processes on
// PostgreSQL: each job runs once, and when one worker is killed in the
// middle of its jobs, the other finishes them.
func TestWorkersShareQueue(t *testing.T) {
	const repos = 50

	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "both", true: "one killed"}[kill], func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			url := storetest.URL(t, store.Postgres)
			db, err := store.Open(ctx, url)
			is.NoErr(err)
			t.Cleanup(func() { _ = db.Close() })
			is.NoErr(store.Migrate(ctx, db))
			is.NoErr(worker.Migrate(ctx, db, nil))
			estateOf(t, db, repos)

			q, err := worker.New(worker.Config{DB: db, InsertOnly: true})
			is.NoErr(err)
			run, err := q.StartReports(ctx, runs.ScopeEstate, "fleet", untilAsOf)
			is.NoErr(err)

			a := spawn(t, url, "worker-a", 300*time.Millisecond)
			spawn(t, url, "worker-b", 300*time.Millisecond)

			if kill {
				waitRunning(t, q, "worker-a")
				is.NoErr(a.Process.Signal(syscall.SIGKILL))
			}

			run = wait(t, q.Runs(), run.ID, 3*time.Minute)
			is.Equal(run.State, runs.StateSucceeded)
			is.Equal(run.Succeeded, repos+1) // and the roll-up
			is.Equal(countReports(t, db, "repository"), repos)
			is.Equal(countReports(t, db, "estate"), 1)

			// River marks a job completed just after the job recorded its
			// unit.
			jobs := completedJobs(t, q, repos)
			workers := map[string]bool{}
			rescued := 0
			for _, j := range jobs {
				workers[j.AttemptedBy[0]] = true
				if j.Attempt > 1 {
					rescued++
				}
			}
			is.Equal(len(workers), 2) // both workers took jobs
			if kill {
				is.True(rescued > 0) // the killed worker's jobs ran again
			} else {
				is.Equal(rescued, 0) // no job ran twice
			}
		})
	}
}

// completedJobs waits until n repository report jobs have completed and
// returns them.
func completedJobs(t *testing.T, q *worker.Queue, n int) []*rivertype.JobRow {
	t.Helper()

	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs := reportJobs(t, q)
		done := 0
		for _, j := range jobs {
			if j.State == rivertype.JobStateCompleted {
				done++
			}
		}
		if done == n && len(jobs) == n {
			return jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d repository report jobs completed", done, len(jobs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRunning waits until the worker is in the middle of a job.
func waitRunning(t *testing.T, q *worker.Queue, id string) {
	t.Helper()

	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, j := range reportJobs(t, q) {
			if j.State == rivertype.JobStateRunning && j.AttemptedBy[len(j.AttemptedBy)-1] == id {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("worker %s started no job within a minute", id)
}

package bronze_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// crashBatchSize is large enough that writing the batch takes far longer
// than the delay before the kill.
const crashBatchSize = 40000

// crashApplication is the PostgreSQL application_name of the test's
// sessions, so the parent watches only its own child's insert.
var crashApplication = fmt.Sprintf("ghillie-crash-test-%d", os.Getpid())

// TestCrashHelperProcess is not a test: TestKilledBatchWritesNothing runs
// the test binary again with GHILLIE_CRASH_DATABASE_URL set, and this
// function then writes one large batch until the parent kills it.
func TestCrashHelperProcess(t *testing.T) {
	url := os.Getenv("GHILLIE_CRASH_DATABASE_URL")
	if url == "" {
		t.Skip("runs only as the child of TestKilledBatchWritesNothing")
	}

	db, err := store.Open(context.Background(), url)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	batch := make([]bronze.Envelope, crashBatchSize)
	for i := range batch {
		e := baseEnvelope()
		e.SourceEventID = fmt.Sprintf("crash-%d", i)
		batch[i] = e
	}

	fmt.Println("writing")
	if _, err := bronze.NewWriter(db).WriteBatch(context.Background(), batch); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("done")
	os.Exit(0)
}

func TestKilledBatchWritesNothing(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			url := storetest.URL(t, d)
			if d == store.Postgres {
				// Tells the child's session apart from other tests' sessions.
				url += "&application_name=" + crashApplication
			}
			db, err := store.Open(context.Background(), url)
			is.NoErr(err)
			defer db.Close()
			is.NoErr(store.Migrate(context.Background(), db))

			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
			cmd.Env = append(os.Environ(), "GHILLIE_CRASH_DATABASE_URL="+url)
			stdout, err := cmd.StdoutPipe()
			is.NoErr(err)
			is.NoErr(cmd.Start())

			lines := bufio.NewScanner(stdout)
			is.True(lines.Scan())
			is.Equal(lines.Text(), "writing")

			// Kill the child once its transaction has written rows; SIGKILL
			// gives it no chance to clean up, like a crash or an OOM kill.
			waitForWriteInProgress(t, db, url)
			is.NoErr(cmd.Process.Kill())
			_ = cmd.Wait()

			n := countRawEvents(t, db)
			is.Equal(n, 0) // the killed transaction left no rows
		})
	}
}

// waitForWriteInProgress returns once another process is inside a
// transaction that inserts raw events. On PostgreSQL that is a session
// running the insert or the copy, and on SQLite a write-ahead log past
// 1 MiB.
func waitForWriteInProgress(t *testing.T, db *store.DB, url string) {
	t.Helper()

	// A machine under load with the race detector may take a while to
	// write the first megabyte.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if writeInProgress(t, db, url) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the child process never started writing raw events")
}

func writeInProgress(t *testing.T, db *store.DB, url string) bool {
	t.Helper()

	if db.Dialect() == store.SQLite {
		target, err := store.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(target.Path + "-wal")
		return err == nil && info.Size() > 1<<20
	}

	var active int
	err := db.Get(&active, `SELECT count(*) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND application_name = $1
		AND state = 'active'
		AND (query LIKE 'INSERT INTO raw_events%' OR query ILIKE 'copy "raw_events"%')`, crashApplication)
	if err != nil {
		t.Fatal(err)
	}
	return active > 0
}

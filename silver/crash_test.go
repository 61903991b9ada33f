package silver_test

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
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// crashEvents is the number of pending events, and crashBatch the batch
// size, chosen so that a batch takes far longer than the parent needs to
// notice the commit of the one before and kill the child.
const (
	crashEvents = 15000
	crashBatch  = 5000
)

// TestCrashHelperProcess is not a test: TestKilledTransformKeepsBatches
// runs the test binary again with GHILLIE_CRASH_DATABASE_URL set, and this
// function then transforms until the parent kills it.
func TestCrashHelperProcess(t *testing.T) {
	url := os.Getenv("GHILLIE_CRASH_DATABASE_URL")
	if url == "" {
		t.Skip("runs only as the child of TestKilledTransformKeepsBatches")
	}

	db, err := store.Open(context.Background(), url)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	transformer := silver.NewTransformer(db, nil)
	transformer.BatchSize = crashBatch

	fmt.Println("transforming")
	if _, err := transformer.ProcessPending(context.Background(), 0); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("done")
	os.Exit(0)
}

func TestKilledTransformKeepsBatches(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			url := storetest.URL(t, d)
			db, err := store.Open(context.Background(), url)
			is.NoErr(err)
			defer db.Close()
			is.NoErr(store.Migrate(context.Background(), db))

			envelopes := make([]bronze.Envelope, crashEvents)
			for i := range envelopes {
				envelopes[i] = envelope(silver.EventCommit, at(i), commitPayload(fmt.Sprintf("c%05d", i)))
			}
			_, err = bronze.NewWriter(db).WriteBatch(context.Background(), envelopes)
			is.NoErr(err)

			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
			cmd.Env = append(os.Environ(), "GHILLIE_CRASH_DATABASE_URL="+url)
			stdout, err := cmd.StdoutPipe()
			is.NoErr(err)
			is.NoErr(cmd.Start())
			lines := bufio.NewScanner(stdout)
			is.True(lines.Scan())
			is.Equal(lines.Text(), "transforming")

			// SIGKILL once the first batch has committed and the second is
			// being written, like a crash or an OOM kill in the middle of it.
			waitForCommittedBatch(t, db)
			is.NoErr(cmd.Process.Kill())
			_ = cmd.Wait()

			processed := countWhere(t, db, "raw_events", "transform_state = 1")
			t.Logf("killed with %d of %d events processed", processed, crashEvents)
			is.Equal(processed, crashBatch) // the committed batch stays, the killed one is gone
			is.Equal(count(t, db, "event_facts"), processed)
			is.Equal(count(t, db, "commits"), processed)

			// A new run finishes the work that the killed one left.
			result, err := silver.NewTransformer(db, nil).ProcessPending(context.Background(), 0)
			is.NoErr(err)
			is.Equal(result.Processed, crashEvents-processed)
			is.Equal(count(t, db, "commits"), crashEvents)
		})
	}
}

func countWhere(t testing.TB, db *store.DB, table, condition string) int {
	t.Helper()

	var n int
	if err := db.Get(&n, "SELECT count(*) FROM "+table+" WHERE "+condition); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// waitForCommittedBatch returns once the child has committed its first
// batch.
func waitForCommittedBatch(t *testing.T, db *store.DB) {
	t.Helper()

	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if countWhere(t, db, "raw_events", "transform_state = 1") >= crashBatch {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the child process never committed a batch")
}

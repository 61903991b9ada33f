package silver_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// openPools opens n connection pools on one fresh, migrated database of
// the dialect, as n transformer processes would.
func openPools(t *testing.T, d store.Dialect, n int) []*store.DB {
	t.Helper()

	url := storetest.URL(t, d)
	pools := make([]*store.DB, n)
	for i := range pools {
		db, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("open pool %d: %v", i, err)
		}
		t.Cleanup(func() { _ = db.Close() })
		pools[i] = db
	}
	if err := store.Migrate(context.Background(), pools[0]); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return pools
}

// mixedEvents returns n raw events over repos repositories, spelt in
// varying case: commits, documentation changes of those commits, and
// several snapshots of each pull request and issue, shuffled so that
// older snapshots often get higher raw event ids. It also returns the
// state that the newest snapshot of each pull request sets.
func mixedEvents(n, repos int, seed uint64) ([]bronze.Envelope, map[int64]string) {
	random := rand.New(rand.NewPCG(seed, seed))
	repo := func(i int) (string, string) {
		owner, name := "org", fmt.Sprintf("repo-%d", i%repos)
		if random.IntN(2) == 0 {
			owner, name = "ORG", fmt.Sprintf("Repo-%d", i%repos)
		}
		return owner, name
	}

	var envelopes []bronze.Envelope
	newestPR := map[int64]string{}
	for i := 0; len(envelopes) < n; i++ {
		owner, name := repo(i)
		sha := fmt.Sprintf("%040x", i)
		switch i % 4 {
		case 0:
			envelopes = append(envelopes, envelope(silver.EventCommit, at(i),
				with(commitPayload(sha), "repo_owner", owner, "repo_name", name)))
		case 1:
			envelopes = append(envelopes, envelope(silver.EventDocChange, at(i),
				with(docPayload(fmt.Sprintf("%040x", i-1), fmt.Sprintf("docs/%d.md", i%7)),
					"repo_owner", owner, "repo_name", name)))
		case 2:
			// Each pull request belongs to one repository, so its
			// snapshots must name that one.
			id := int64(i)
			owner, name := "org", fmt.Sprintf("repo-%d", i%repos)
			states := []string{"open", "closed", "open", "merged"}
			for minute, state := range states {
				envelopes = append(envelopes, envelope(silver.EventPullRequest, at(i+minute),
					with(prPayload(i, state), "repo_owner", owner, "repo_name", name)))
			}
			newestPR[id] = states[len(states)-1]
		case 3:
			owner, name := "org", fmt.Sprintf("repo-%d", i%repos)
			for minute, state := range []string{"open", "closed"} {
				envelopes = append(envelopes, envelope(silver.EventIssue, at(i+minute),
					with(issuePayload(i, state), "repo_owner", owner, "repo_name", name)))
			}
		}
	}
	random.Shuffle(len(envelopes), func(i, j int) { envelopes[i], envelopes[j] = envelopes[j], envelopes[i] })
	return envelopes, newestPR
}

func TestConcurrentTransformersClaimEachEventOnce(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			const events, workers = 3000, 3
			pools := openPools(t, d, workers)
			envelopes, newestPR := mixedEvents(events, 12, 1)
			write(t, pools[0], envelopes...)

			recorder := &logRecorder{}
			var wg sync.WaitGroup
			results := make([]silver.Result, workers)
			errs := make([]error, workers)
			start := make(chan struct{})
			for i, db := range pools {
				wg.Go(func() {
					transformer := silver.NewTransformer(db, slog.New(recorder))
					transformer.BatchSize = 50
					<-start
					results[i], errs[i] = transformer.ProcessPending(context.Background(), 0)
				})
			}
			close(start)
			wg.Wait()

			var total silver.Result
			for i := range workers {
				is.NoErr(errs[i])
				total.Processed += results[i].Processed
				total.Failed += results[i].Failed
				total.Skipped += results[i].Skipped
			}
			for _, split := range recorder.named("silver.transform.batch_split") {
				t.Logf("batch split: %v", split["err"])
			}
			t.Logf("results per worker: %+v, batches retried after a deadlock: %d, split: %d",
				results, len(recorder.named("silver.transform.batch_retried")),
				len(recorder.named("silver.transform.batch_split")))
			db := pools[0]
			is.Equal(total, silver.Result{Processed: len(envelopes)}) // every event counted once
			is.Equal(count(t, db, "event_facts"), len(envelopes))

			var states []struct {
				State    int `db:"transform_state"`
				Attempts int `db:"transform_attempts"`
				N        int `db:"n"`
			}
			err := db.SelectContext(t.Context(), &states, `SELECT transform_state, transform_attempts,
				count(*) AS n FROM raw_events GROUP BY transform_state, transform_attempts`)
			is.NoErr(err)
			is.Equal(len(states), 1) // one state and one attempt count for all
			is.Equal(states[0].State, int(bronze.Processed))
			is.Equal(states[0].Attempts, 1) // no event was transformed twice
			is.Equal(states[0].N, len(envelopes))

			is.Equal(count(t, db, "repositories"), 12) // case variants share a row
			for id, state := range newestPR {
				is.Equal(pullRequest(t, db, id).State, state) // the newest snapshot wins in any order
			}
		})
	}
}

func TestConcurrentAdHocRepositoryCreation(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			const workers, rounds = 4, 5
			pools := openPools(t, d, workers)

			for round := range rounds {
				// Every worker gets its own events, all for the same new
				// repositories, and processes them by id at the same time.
				ids := make([][]int64, workers)
				for w := range workers {
					var envelopes []bronze.Envelope
					for r := range 3 {
						owner := []string{"race", "RACE", "Race"}[(w+r)%3]
						payload := with(commitPayload(fmt.Sprintf("%d-%d-%d", round, w, r)),
							"repo_owner", owner, "repo_name", fmt.Sprintf("repo-%d-%d", round, r))
						envelopes = append(envelopes, envelope(silver.EventCommit, at(w), payload))
					}
					ids[w] = write(t, pools[w], envelopes...)
				}

				var wg sync.WaitGroup
				results := make([]silver.Result, workers)
				errs := make([]error, workers)
				start := make(chan struct{})
				for w, db := range pools {
					wg.Go(func() {
						<-start
						results[w], errs[w] = silver.NewTransformer(db, nil).ProcessIDs(context.Background(), ids[w])
					})
				}
				close(start)
				wg.Wait()

				for w := range workers {
					is.NoErr(errs[w])
					is.Equal(results[w], silver.Result{Processed: 3}) // no event lost the race
				}
			}

			is.Equal(count(t, pools[0], "repositories"), 3*rounds)
			is.Equal(count(t, pools[0], "commits"), workers*3*rounds)
		})
	}
}

package silver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func pushPayload() map[string]any {
	return map[string]any{
		"after":      "abc123",
		"base_ref":   nil,
		"commits":    []any{map[string]any{"id": "abc123", "message": "fix"}},
		"repository": map[string]any{"full_name": "octo/reef", "id": 42},
		"ref":        "refs/heads/main",
		"pusher":     map[string]any{"name": "octocat"},
	}
}

// factPayload returns the stored event fact payload of a raw event.
func factPayload(t *testing.T, db *store.DB, rawEventID int64) map[string]any {
	t.Helper()

	var text string
	err := db.GetContext(t.Context(), &text, db.Rebind("SELECT payload FROM event_facts WHERE raw_event_id = ?"),
		rawEventID)
	if err != nil {
		t.Fatalf("read event fact of raw event %d: %v", rawEventID, err)
	}
	payload, err := bronze.DecodePayload([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func setRawPayload(t *testing.T, db *store.DB, id int64, payload string) {
	t.Helper()

	_, err := db.ExecContext(t.Context(), db.Rebind(
		"UPDATE raw_events SET payload = ?, transform_state = 0 WHERE id = ?"), payload, id)
	if err != nil {
		t.Fatalf("overwrite raw event %d: %v", id, err)
	}
}

func TestPushEventIngestedTwiceProcessedOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		e := envelope("github.push", at(0), pushPayload())
		first := write(t, db, e)
		second := write(t, db, e)
		is.Equal(first, second)
		is.Equal(count(t, db, "raw_events"), 1)
		is.Equal(rawState(t, db, first[0]).State, bronze.Pending)

		is.Equal(processPending(t, db), silver.Result{Skipped: 1})
		is.Equal(processIDs(t, db, first[0]), silver.Result{Skipped: 1})

		is.Equal(count(t, db, "event_facts"), 1)
		state := rawState(t, db, first[0])
		is.Equal(state.State, bronze.Processed)
		is.Equal(state.Error, nil)
		is.Equal(state.Attempts, 2)
		raw, err := bronze.NewWriter(db).Get(t.Context(), first[0])
		is.NoErr(err)
		is.Equal(factPayload(t, db, first[0]), raw.Payload) // the fact copies the raw payload
	})
}

func TestBronzeDriftMarksFailed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope("github.push", at(0), pushPayload()),
			envelope(silver.EventCommit, at(1), commitPayload("abc123")))
		processPending(t, db)

		setRawPayload(t, db, ids[0], `{"after":"corrupted"}`)
		later := write(t, db, envelope(silver.EventIssue, at(2), issuePayload(5, "open")))
		result := processPending(t, db)

		is.Equal(result, silver.Result{Processed: 1, Failed: 1}) // the drift did not stop the batch
		state := rawState(t, db, ids[0])
		is.Equal(state.State, bronze.Failed)
		is.Equal(deref(state.Reason), string(silver.ReasonPayloadMismatch))
		is.True(contains(deref(state.Error), "payload"))
		is.Equal(state.Attempts, 2)
		is.Equal(count(t, db, "event_facts"), 3)
		is.Equal(factPayload(t, db, ids[0])["after"], "abc123") // the fact keeps the original
		is.Equal(rawState(t, db, later[0]).State, bronze.Processed)
	})
}

func TestReprocessByIDKeepsOneFact(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")))
		processPending(t, db)

		result := processIDs(t, db, ids[0], ids[0], 999999)

		is.Equal(result, silver.Result{Processed: 1}) // repeated and unknown ids are ignored

		is.Equal(count(t, db, "event_facts"), 1)
		state := rawState(t, db, ids[0])
		is.Equal(state.State, bronze.Processed)
		is.Equal(state.Error, nil)
		is.Equal(state.Reason, nil)
		is.Equal(state.Attempts, 2)
	})
}

// insertFact stores an event fact for a raw event with the given payload
// text, as an earlier transform would have.
func insertFact(t *testing.T, db *store.DB, rawEventID int64, payload string) {
	t.Helper()

	_, err := db.ExecContext(t.Context(), db.Rebind(`INSERT INTO event_facts (raw_event_id,
		repo_external_id, event_type, occurred_at, payload)
		SELECT id, repo_external_id, event_type, occurred_at, ? FROM raw_events WHERE id = ?`),
		payload, rawEventID)
	if err != nil {
		t.Fatalf("insert event fact: %v", err)
	}
}

func TestExistingMatchingFactReused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope("github.push", at(0), map[string]any{"after": "abc123", "size": 2.5, "n": 3}))

		// Same JSON value, spelt differently: key order, spaces, number forms.
		insertFact(t, db, ids[0], `{"size": 2.50, "n": 3.0, "after": "abc123"}`)
		result := processIDs(t, db, ids[0])

		is.Equal(result, silver.Result{Skipped: 1})
		is.Equal(rawState(t, db, ids[0]).State, bronze.Processed)
		is.Equal(count(t, db, "event_facts"), 1)
	})
}

func TestExistingDifferentFactFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")))
		insertFact(t, db, ids[0], `{"sha": "other"}`)

		result := processIDs(t, db, ids[0])

		is.Equal(result, silver.Result{Failed: 1})
		state := rawState(t, db, ids[0])
		is.Equal(state.State, bronze.Failed)
		is.Equal(deref(state.Reason), string(silver.ReasonPayloadMismatch))
		is.True(contains(deref(state.Error), "payload"))
		is.Equal(count(t, db, "event_facts"), 1)
		is.Equal(count(t, db, "commits"), 0)      // a failed event writes no entity rows
		is.Equal(count(t, db, "repositories"), 0) // not even its ad hoc repository
	})
}

func TestExistingFactOtherColumnFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope("github.push", at(0), pushPayload()))
		processPending(t, db)
		_, err := db.ExecContext(t.Context(), db.Rebind(
			"UPDATE raw_events SET event_type = ? WHERE id = ?"), "github.push_v2", ids[0])
		is.NoErr(err)

		result := processIDs(t, db, ids[0])

		is.Equal(result, silver.Result{Failed: 1})
		state := rawState(t, db, ids[0])
		is.Equal(deref(state.Reason), string(silver.ReasonPayloadMismatch))
		is.True(contains(deref(state.Error), "event_type"))
	})
}

// badEvents are events that fail on their own, each next to good ones.
var badEvents = []struct {
	name   string
	setup  []bronze.Envelope // processed before the batch under test
	bad    bronze.Envelope
	reason silver.Reason
	errHas string
}{
	{
		name:   "invalid payload",
		bad:    envelope(silver.EventPullRequest, at(5), with(prPayload(40, "open"), "number", "forty")),
		reason: silver.ReasonInvalidPayload,
		errHas: "number must be an integer, got a string",
	},
	{
		name:   "repository mismatch",
		setup:  []bronze.Envelope{envelope(silver.EventPullRequest, at(0), prPayload(40, "open"))},
		bad:    envelope(silver.EventPullRequest, at(5), with(prPayload(40, "open"), "repo_name", "other")),
		reason: silver.ReasonRepositoryMismatch,
		errHas: "pull request 40 is stored for another repository",
	},
	{
		name:   "number clash",
		setup:  []bronze.Envelope{envelope(silver.EventPullRequest, at(0), prPayload(40, "open"))},
		bad:    envelope(silver.EventPullRequest, at(5), with(prPayload(41, "open"), "number", 40)),
		reason: silver.ReasonConflict,
		errHas: "conflicts with a stored row",
	},
	{
		name:   "issue repository mismatch",
		setup:  []bronze.Envelope{envelope(silver.EventIssue, at(0), issuePayload(40, "open"))},
		bad:    envelope(silver.EventIssue, at(5), with(issuePayload(40, "open"), "repo_owner", "other")),
		reason: silver.ReasonRepositoryMismatch,
		errHas: "issue 40 is stored for another repository",
	},
	{
		name:   "repository mismatch within the batch",
		bad:    envelope(silver.EventIssue, at(5), issuePayload(7, "closed")),
		reason: silver.ReasonRepositoryMismatch,
		errHas: "issue 7 is stored for another repository than the payload's octo/reef",
	},
	{
		name:   "no repo_external_id",
		bad:    withExternalID(envelope(silver.EventCommit, at(5), commitPayload("c5")), ""),
		reason: silver.ReasonRepositoryMismatch,
		errHas: "repo_external_id is missing: set it to octo/reef",
	},
	{
		name:   "other repo_external_id",
		bad:    withExternalID(envelope(silver.EventCommit, at(5), commitPayload("c5")), "octo/coral"),
		reason: silver.ReasonRepositoryMismatch,
		errHas: "repo_external_id octo/coral is not octo/reef",
	},
	{
		name:   "repo_external_id in other case",
		bad:    withExternalID(envelope(silver.EventIssue, at(5), issuePayload(44, "open")), "Octo/Reef"),
		reason: silver.ReasonRepositoryMismatch,
		errHas: "repo_external_id Octo/Reef is not octo/reef",
	},
	{
		name: "issue number clash within the batch",
		bad: envelope(silver.EventIssue, at(5),
			with(issuePayload(41, "open"), "number", 7, "repo_name", "coral")),
		reason: silver.ReasonConflict,
		errHas: "conflicts with a stored row",
	},
}

// withExternalID returns e with another repo_external_id.
func withExternalID(e bronze.Envelope, slug string) bronze.Envelope {
	e.RepoExternalID = slug
	return e
}

// TestFactTakesStoredSpelling processes an event that spells a stored
// repository otherwise, then processes it again.
func TestFactTakesStoredSpelling(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventCommit, at(0), commitPayload("c0")))
		ids := write(t, db, envelope(silver.EventCommit, at(5),
			with(commitPayload("c5"), "repo_owner", "Octo", "repo_name", "Reef")))
		is.Equal(processPending(t, db), silver.Result{Processed: 2})

		var slug string
		is.NoErr(db.Get(&slug, db.Rebind(
			"SELECT repo_external_id FROM event_facts WHERE raw_event_id = ?"), ids[0]))
		is.Equal(slug, "octo/reef") // reports select facts by the stored spelling

		is.Equal(processIDs(t, db, ids[0]), silver.Result{Processed: 1}) // not drift
		is.Equal(count(t, db, "repositories"), 1)
	})
}

func TestBadEventFailsAlone(t *testing.T) {
	for _, tt := range badEvents {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				if len(tt.setup) > 0 {
					write(t, db, tt.setup...)
					processPending(t, db)
				}
				ids := write(t, db,
					envelope(silver.EventCommit, at(1), commitPayload("abc123")),
					envelope(silver.EventIssue, at(2), with(issuePayload(7, "open"), "repo_name", "coral")),
					tt.bad,
					envelope(silver.EventPullRequest, at(6), prPayload(42, "open")),
					envelope(silver.EventDocChange, at(7), docPayload("abc123", "docs/roadmap.md")))
				facts := count(t, db, "event_facts")

				result := processPending(t, db)

				is.Equal(result, silver.Result{Processed: 4, Failed: 1})
				state := rawState(t, db, ids[2])
				is.Equal(state.State, bronze.Failed)
				is.Equal(deref(state.Reason), string(tt.reason))
				is.True(contains(deref(state.Error), tt.errHas)) // message names the problem
				is.Equal(state.Attempts, 1)
				for _, id := range []int64{ids[0], ids[1], ids[3], ids[4]} {
					is.Equal(rawState(t, db, id).State, bronze.Processed)
				}
				is.Equal(count(t, db, "event_facts"), facts+4) // the failed event has no fact
				is.Equal(count(t, db, "repositories"), 2)      // octo/reef and octo/coral, not the bad event's
				pullRequest(t, db, 42)

				// Failed events stay failed: a later run does not pick them up,
				// and reprocessing by id fails the same way.
				is.Equal(processPending(t, db), silver.Result{})
				is.Equal(processIDs(t, db, ids[2]), silver.Result{Failed: 1})
				again := rawState(t, db, ids[2])
				is.Equal(deref(again.Reason), string(tt.reason))
				is.Equal(again.Attempts, 2)
			})
		})
	}
}

func TestFixedEventProcessedByID(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventCommit, at(0), with(commitPayload("abc123"), "sha", 42)))
		is.Equal(processPending(t, db), silver.Result{Failed: 1})

		fixed, err := json.Marshal(commitPayload("abc123"))
		is.NoErr(err)
		setRawPayload(t, db, ids[0], string(fixed))
		_, err = db.ExecContext(t.Context(),
			db.Rebind("UPDATE raw_events SET transform_state = 2 WHERE id = ?"), ids[0])
		is.NoErr(err)
		is.Equal(processIDs(t, db, ids[0]), silver.Result{Processed: 1})

		state := rawState(t, db, ids[0])
		is.Equal(state.State, bronze.Processed)
		is.Equal(state.Error, nil)  // the old failure is cleared
		is.Equal(state.Reason, nil) // with its reason
		is.Equal(state.Attempts, 2)
		is.Equal(count(t, db, "commits"), 1)
	})
}

func TestProcessPendingLimit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventCommit, at(0), commitPayload("a1")),
			envelope(silver.EventCommit, at(1), commitPayload("a2")),
			envelope(silver.EventCommit, at(2), commitPayload("a3")))
		transformer := silver.NewTransformer(db, nil)

		first, err := transformer.ProcessPending(t.Context(), 1)
		is.NoErr(err)
		is.Equal(first, silver.Result{Processed: 1})
		is.Equal(pendingCount(t, db), 2)

		rest, err := transformer.ProcessPending(t.Context(), 0)
		is.NoErr(err)
		is.Equal(rest, silver.Result{Processed: 2})
		is.Equal(pendingCount(t, db), 0)

		none, err := transformer.ProcessPending(t.Context(), 5)
		is.NoErr(err)
		is.Equal(none, silver.Result{})
	})
}

func TestProcessPendingLimitAcrossBatches(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("workers %d", workers), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				var envelopes []bronze.Envelope
				for i := range 25 {
					envelopes = append(envelopes, envelope(silver.EventIssue, at(i), issuePayload(i+1, "open")))
				}
				ids := write(t, db, envelopes...)
				transformer := silver.NewTransformer(db, nil)
				transformer.BatchSize = 4
				transformer.Workers = workers

				result, err := transformer.ProcessPending(t.Context(), 10)

				is.NoErr(err)
				is.Equal(result, silver.Result{Processed: 10})
				is.Equal(pendingCount(t, db), 15)
				for i, id := range ids {
					// Batches are claimed in id order, whatever commits first.
					is.Equal(rawState(t, db, id).State == bronze.Processed, i < 10)
				}
			})
		})
	}
}

// TestErrorStopsWorkers makes one batch fail with a database error that
// no event's data explains, from a trigger, while other batches run.
func TestErrorStopsWorkers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		trigger := `CREATE TRIGGER poison BEFORE INSERT ON commits
			FOR EACH ROW WHEN (NEW.sha = 'poison') EXECUTE FUNCTION poison()`
		if db.Dialect() == store.Postgres {
			_, err := db.ExecContext(t.Context(), `CREATE FUNCTION poison() RETURNS trigger
				LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poisoned commit'; END $$`)
			is.NoErr(err)
		} else {
			trigger = `CREATE TRIGGER poison BEFORE INSERT ON commits
				WHEN NEW.sha = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned commit'); END`
		}
		_, err := db.ExecContext(t.Context(), trigger)
		is.NoErr(err)

		var envelopes []bronze.Envelope
		for i := range 40 {
			sha := fmt.Sprintf("sha-%d", i)
			if i == 22 {
				sha = "poison"
			}
			envelopes = append(envelopes, envelope(silver.EventCommit, at(i), commitPayload(sha)))
		}
		ids := write(t, db, envelopes...)
		transformer := silver.NewTransformer(db, nil)
		transformer.BatchSize = 5
		transformer.Workers = 3

		result, err := transformer.ProcessPending(t.Context(), 0)

		is.True(err != nil)
		is.True(contains(err.Error(), "poisoned commit"))
		is.Equal(rawState(t, db, ids[22]).State, bronze.Pending) // its batch rolled back
		is.Equal(rawState(t, db, ids[20]).State, bronze.Pending)
		is.True(result.Processed >= 20) // the batches before it committed
		is.Equal(result.Processed%5, 0) // whole batches only
		is.Equal(result.Failed+result.Skipped, 0)
		// Batches that ran beside the failed one and committed are
		// counted with the others.
		is.Equal(count(t, db, "commits"), result.Processed)
		is.Equal(pendingCount(t, db), len(envelopes)-result.Processed)
		if db.Dialect() == store.SQLite {
			is.Equal(result.Processed, 20) // one batch at a time
		}
	})
}

func TestProcessPendingNegativeLimit(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)

	_, err := silver.NewTransformer(db, nil).ProcessPending(t.Context(), -1)

	is.True(err != nil)
	is.True(contains(err.Error(), "limit -1 is negative"))
}

func TestProcessIDsEmptyTouchesNothing(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)
	transformer := silver.NewTransformer(db, nil)
	is.NoErr(db.Close())

	result, err := transformer.ProcessIDs(t.Context(), nil)

	is.NoErr(err) // the closed database was not used
	is.Equal(result, silver.Result{})
}

func TestProcessIDsEmptyLeavesPending(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")))

		is.Equal(processIDs(t, db), silver.Result{})

		is.Equal(rawState(t, db, ids[0]).State, bronze.Pending)
	})
}

func TestInvalidCommitPayloadFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventCommit, at(0), map[string]any{"after": "abc123"}))

		is.Equal(processPending(t, db), silver.Result{Failed: 1})

		state := rawState(t, db, ids[0])
		is.Equal(state.State, bronze.Failed)
		is.Equal(deref(state.Reason), string(silver.ReasonInvalidPayload))
		is.Equal(deref(state.Error), "invalid github.commit payload: sha is required")
		is.Equal(count(t, db, "event_facts"), 0)
	})
}

func TestInvalidDatetimeFails(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"2024-07-02T09:30:00", "invalid github.commit payload: committed_at must include timezone " +
			`information: "2024-07-02T09:30:00"; add Z or an offset such as +01:00`},
		{"not-a-date", "invalid github.commit payload: committed_at is not a valid ISO-8601 " +
			`datetime: "not-a-date"; use a form such as 2024-07-02T09:30:00Z`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				ids := write(t, db, envelope(silver.EventCommit, at(0),
					with(commitPayload("abc123"), "committed_at", tt.value)))

				is.Equal(processPending(t, db), silver.Result{Failed: 1})

				state := rawState(t, db, ids[0])
				is.Equal(deref(state.Error), tt.want)
				is.Equal(deref(state.Reason), string(silver.ReasonInvalidPayload))
				is.Equal(count(t, db, "repositories"), 0)
			})
		})
	}
}

func TestReplayChangesNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		envelopes := []bronze.Envelope{
			envelope(silver.EventCommit, at(0), with(commitPayload("abc123"), "default_branch", "main")),
			envelope(silver.EventPullRequest, at(1), prPayload(17, "open")),
			envelope(silver.EventPullRequest, at(2),
				with(prPayload(17, "merged"), "merged_at", "2024-07-02T12:00:00Z")),
			envelope(silver.EventPullRequest, at(3), prPayload(18, "open")),
			envelope(silver.EventIssue, at(3), issuePayload(5, "open")),
			envelope(silver.EventDocChange, at(4), docPayload("abc123", "docs/roadmap.md")),
			envelope(silver.EventDocChange, at(5), docPayload("def456", "docs/adr/001.md")),
			envelope("github.push", at(6), pushPayload()),
		}
		ids := write(t, db, envelopes...)
		processPending(t, db)
		before := snapshot(t, db)

		again := write(t, db, envelopes...)
		is.Equal(again, ids) // Bronze deduplicates the replay
		is.Equal(processPending(t, db), silver.Result{})
		if diff := cmp.Diff(before, snapshot(t, db)); diff != "" {
			t.Fatalf("re-ingesting changed Silver (-before +after):\n%s", diff)
		}

		result := processIDs(t, db, ids...)
		is.Equal(result, silver.Result{Processed: 7, Skipped: 1})
		if diff := cmp.Diff(before, snapshot(t, db)); diff != "" {
			t.Fatalf("reprocessing changed Silver (-before +after):\n%s", diff)
		}
	})
}

func pendingCount(t *testing.T, db *store.DB) int {
	t.Helper()

	var n int
	if err := db.GetContext(t.Context(), &n, "SELECT count(*) FROM raw_events WHERE transform_state = 0"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBatchesCommitSeparately(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		var envelopes []bronze.Envelope
		for i := range 35 {
			envelopes = append(envelopes, envelope(silver.EventIssue, at(i), issuePayload(i+1, "open")))
		}
		write(t, db, envelopes...)
		recorder := &logRecorder{}
		transformer := silver.NewTransformer(db, slog.New(recorder))
		transformer.BatchSize = 10

		result, err := transformer.ProcessPending(t.Context(), 0)

		is.NoErr(err)
		is.Equal(result, silver.Result{Processed: 35})
		var claimed []int64
		for _, batch := range recorder.named("silver.transform.batch_completed") {
			claimed = append(claimed, batch["claimed"].(int64))
		}
		slices.Sort(claimed)                      // on PostgreSQL, batches commit in any order
		is.Equal(claimed, []int64{5, 10, 10, 10}) // no batch holds more than BatchSize events
		is.Equal(len(recorder.named("silver.transform.completed")), 1)
	})
}

func TestCancelKeepsCommittedBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		var envelopes []bronze.Envelope
		for i := range 30 {
			envelopes = append(envelopes, envelope(silver.EventIssue, at(i), issuePayload(i+1, "open")))
		}
		write(t, db, envelopes...)

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		recorder := &logRecorder{onRecord: func(r slog.Record) {
			if r.Message == "silver.transform.batch_completed" {
				cancel() // after the first commit
			}
		}}
		transformer := silver.NewTransformer(db, slog.New(recorder))
		transformer.BatchSize = 10
		transformer.Workers = 1 // a second batch could commit before the cancel

		result, err := transformer.ProcessPending(ctx, 0)

		is.True(errors.Is(err, context.Canceled))
		is.Equal(result, silver.Result{Processed: 10})
		is.Equal(pendingCount(t, db), 20)
		is.Equal(count(t, db, "issues"), 10)
		is.Equal(count(t, db, "event_facts"), 10)
	})
}

func TestDatabaseErrorAbortsBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")),
			envelope(silver.EventIssue, at(1), issuePayload(5, "open")))
		_, err := db.ExecContext(t.Context(), "DROP TABLE issues")
		is.NoErr(err)

		result, err := silver.NewTransformer(db, nil).ProcessPending(t.Context(), 0)

		is.True(err != nil) // an error no event caused is returned
		is.True(contains(err.Error(), "issues"))
		is.Equal(result, silver.Result{})
		for _, id := range ids {
			state := rawState(t, db, id)
			is.Equal(state.State, bronze.Pending) // nothing of the batch was committed
			is.Equal(state.Attempts, 0)
		}
		is.Equal(count(t, db, "event_facts"), 0)
		is.Equal(count(t, db, "commits"), 0)
		is.Equal(count(t, db, "repositories"), 0)
	})
}

func TestFailedEventLogged(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope(silver.EventIssue, at(0), with(issuePayload(5, "open"), "id", nil)))
		recorder := &logRecorder{}

		_, err := silver.NewTransformer(db, slog.New(recorder)).ProcessPending(t.Context(), 0)

		is.NoErr(err)
		failures := recorder.named("silver.transform.event_failed")
		is.Equal(len(failures), 1)
		is.Equal(failures[0]["raw_event_id"], ids[0])
		is.Equal(failures[0]["event_type"], silver.EventIssue)
		is.Equal(failures[0]["reason"], string(silver.ReasonInvalidPayload))
		is.Equal(failures[0]["err"], "invalid github.issue payload: id must not be null")
	})
}

// TestLargeRunsRefreshStatistics checks when a run analyzes the Silver
// tables on PostgreSQL: after a run of 1,000 events or more that adds at
// least as many facts as event_facts held when it was last analyzed.
// reltuples is the row count that the last ANALYZE found. SQLite is never
// analyzed.
func TestLargeRunsRefreshStatistics(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		if db.Dialect() == store.Postgres {
			// Autovacuum must not analyze the tables behind the test's back.
			for _, table := range []string{"event_facts", "commits"} {
				_, err := db.ExecContext(t.Context(), "ALTER TABLE "+table+" SET (autovacuum_enabled = false)")
				is.NoErr(err)
			}
		}
		transformer := silver.NewTransformer(db, nil)
		next := 0
		transform := func(n int) {
			t.Helper()
			var envelopes []bronze.Envelope
			for range n {
				envelopes = append(envelopes, envelope(silver.EventCommit, at(next),
					commitPayload(fmt.Sprintf("sha-%d", next))))
				next++
			}
			write(t, db, envelopes...)
			result, err := transformer.ProcessPending(t.Context(), 0)
			is.NoErr(err)
			is.Equal(result.Processed, n)
		}
		estimate := func(table string) float64 {
			t.Helper()
			var rows float64
			err := db.GetContext(t.Context(), &rows,
				"SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", table)
			is.NoErr(err)
			return rows
		}

		transform(1200)
		if db.Dialect() == store.SQLite {
			var stats int
			err := db.GetContext(t.Context(), &stats,
				"SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
			is.NoErr(err)
			is.Equal(stats, 0) // never analyzed
			return
		}
		is.Equal(estimate("event_facts"), 1200.0) // the first large run analyzed
		is.Equal(estimate("commits"), 1200.0)

		transform(500) // below the threshold, so event_facts holds 1,700 unanalyzed

		var invalid []bronze.Envelope
		for i := range 1300 {
			invalid = append(invalid, envelope(silver.EventCommit, at(i),
				with(commitPayload(fmt.Sprintf("bad-%d", i)), "sha", nil)))
		}
		write(t, db, invalid...)
		failed, err := transformer.ProcessPending(t.Context(), 0)
		is.NoErr(err)
		is.Equal(failed.Failed, 1300)
		is.Equal(estimate("event_facts"), 1200.0) // failed events add no facts

		transform(1100)
		is.Equal(estimate("event_facts"), 1200.0) // 1,100 new facts are fewer than 1,200

		transform(1300)
		is.Equal(estimate("event_facts"), 4100.0) // 1,300 are more
		is.Equal(estimate("commits"), 4100.0)

		transform(999)
		is.Equal(estimate("event_facts"), 4100.0) // below the threshold of 1,000
	})
}

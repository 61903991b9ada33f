package silver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/store"
)

// rawEvent is a claimed row of raw_events.
type rawEvent struct {
	id             int64
	eventType      string
	repoExternalID *string
	occurredAt     store.Time
	payload        string
}

// event is a raw event being transformed.
type event struct {
	raw rawEvent

	// entity is the decoded payload of an entity event type: a
	// CommitPayload, PullRequestPayload, IssuePayload or
	// DocChangePayload. It is nil for other event types.
	entity any

	// repoID is the Silver repository of an entity event, once resolved.
	repoID string

	// failure is set when the event failed.
	failure *transformError
}

// batchOutcome is the result of one committed batch.
type batchOutcome struct {
	events []*event
	result Result

	// oneByOne reports that the batch could not be written in bulk and
	// was written one event at a time.
	oneByOne bool
}

const claimColumns = "id, event_type, repo_external_id, occurred_at, payload"

// Claiming an event marks it processed and counts the attempt in the same
// statement that reads it, because most events succeed: one row write
// per event instead of a row lock and a later update. A failed event is
// marked failed afterwards in the same transaction, and a rolled-back
// batch leaves every claimed event as it was.
const claimUpdate = `UPDATE raw_events SET transform_state = 1, transform_error = NULL,
	transform_reason = NULL, transform_attempts = transform_attempts + 1 WHERE id IN `

// claimPendingSQL claims the oldest pending raw events. The state is a
// literal, not a parameter, so that the planner can match the partial
// index ix_raw_events_pending (WHERE transform_state = 0) in a cached plan.
// The ids are materialized first: a subquery with LIMIT inside the
// UPDATE's condition may be evaluated more than once on PostgreSQL and
// then claim more rows than the limit.
func claimPendingSQL(d store.Dialect) string {
	return d.Rebind("WITH pending AS MATERIALIZED (SELECT id FROM raw_events WHERE transform_state = 0 " +
		"ORDER BY id LIMIT ?" + d.ForUpdate(true) + ") " +
		claimUpdate + "(SELECT id FROM pending) RETURNING " + claimColumns)
}

// claimIDsSQL claims raw events by id, whatever their state.
func claimIDsSQL(d store.Dialect, ids int) string {
	return d.Rebind(claimUpdate + "(" + placeholders(ids) + ") RETURNING " + claimColumns)
}

func claimPending(ctx context.Context, tx *store.Tx, limit int) ([]rawEvent, error) {
	return queryRawEvents(ctx, tx, claimPendingSQL(tx.Dialect()), limit)
}

// claimIDs claims raw events by id. The ids must be sorted, so that
// the chunks, each returned in id order, join in id order.
func claimIDs(ctx context.Context, tx *store.Tx, ids []int64) ([]rawEvent, error) {
	var raws []rawEvent
	for _, chunk := range chunks(ids, maxIDsPerStatement) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		claimed, err := queryRawEvents(ctx, tx, claimIDsSQL(tx.Dialect(), len(chunk)), args...)
		if err != nil {
			return nil, err
		}
		raws = append(raws, claimed...)
	}
	return raws, nil
}

func queryRawEvents(ctx context.Context, tx *store.Tx, query string, args ...any) ([]rawEvent, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim raw events: %w", store.Classify(err))
	}
	defer rows.Close()

	var raws []rawEvent
	for rows.Next() {
		var r rawEvent
		if err := rows.Scan(&r.id, &r.eventType, &r.repoExternalID, &r.occurredAt, &r.payload); err != nil {
			return nil, fmt.Errorf("claim raw events: %w", store.Classify(err))
		}
		raws = append(raws, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim raw events: %w", store.Classify(err))
	}

	// RETURNING promises no order; events apply in id order.
	slices.SortFunc(raws, func(a, b rawEvent) int { return cmp.Compare(a.id, b.id) })
	return raws, nil
}

// transformBatch transforms claimed raw events and records their states.
//
// It first writes every valid event in one savepoint with multi-row
// statements. When that fails because of one event (a unique clash or a
// pull request of another repository), it rolls the savepoint back and
// writes the events one by one, each in its own savepoint, so that only
// the culprit fails. Other database errors are returned and abort the
// batch.
func (t *Transformer) transformBatch(ctx context.Context, tx *store.Tx, raws []rawEvent,
) (batchOutcome, error) {
	outcome := batchOutcome{events: decodeEvents(raws)}

	var valid []*event
	for _, ev := range outcome.events {
		if ev.failure == nil {
			valid = append(valid, ev)
		}
	}

	if len(valid) > 0 {
		err := tx.Savepoint(ctx, "silver_batch", func() error {
			return t.apply(ctx, tx, valid)
		})
		switch {
		case err == nil:
		case isEventCaused(ctx, err):
			t.logger.LogAttrs(ctx, slog.LevelDebug, "silver.transform.batch_split",
				slog.Int("events", len(valid)), slog.Any("err", err))
			outcome.oneByOne = true
			if err := t.applyOneByOne(ctx, tx, valid); err != nil {
				return outcome, err
			}
		default:
			return outcome, err
		}
	}

	if err := storeDefaultBranches(ctx, tx, valid, store.NewTime(t.now())); err != nil {
		return outcome, err
	}
	if err := markStates(ctx, tx, outcome.events); err != nil {
		return outcome, err
	}
	for _, ev := range outcome.events {
		switch {
		case ev.failure != nil:
			outcome.result.Failed++
		case ev.entity == nil:
			outcome.result.Skipped++
		default:
			outcome.result.Processed++
		}
	}
	return outcome, nil
}

// decodeEvents decodes the payloads of claimed entity events. An event
// whose payload does not decode is marked failed and is written nowhere.
// Payloads of other event types are not decoded: their facts are copied
// inside the database.
func decodeEvents(raws []rawEvent) []*event {
	events := make([]*event, len(raws))
	for i, raw := range raws {
		ev := &event{raw: raw}
		events[i] = ev
		if !hasEntities(raw.eventType) {
			continue
		}

		payload, err := scanPayload(raw.payload)
		if err == nil {
			ev.entity, err = decodeEntity(raw.eventType, payload)
		}
		if err != nil {
			ev.failure = newTransformError(ReasonInvalidPayload,
				"invalid %s payload: %w", raw.eventType, err)
			continue
		}
		ev.failure = checkRepoExternalID(ev)
	}
	return events
}

// checkRepoExternalID fails an entity event whose repo_external_id is
// not the repository its payload names, spelt the same. Reports select a
// repository's event facts by repo_external_id, so such an event would
// update the payload's repository and never appear in its reports.
func checkRepoExternalID(ev *event) *transformError {
	want := entityRepo(ev).String()
	switch got := ev.raw.repoExternalID; {
	case got == nil || *got == "":
		return newTransformError(ReasonRepositoryMismatch,
			"repo_external_id is missing: set it to %s, the repository that the payload names", want)
	case *got != want:
		return newTransformError(ReasonRepositoryMismatch,
			"repo_external_id %s is not %s, the repository that the payload names: "+
				"set it to %s, spelt the same", *got, want, want)
	}
	return nil
}

// maxEventTries bounds how often applyOneByOne writes one event whose
// rows violate a unique constraint.
const maxEventTries = 3

// applyOneByOne writes each event in its own savepoint, so an event that
// fails leaves no rows and the others are kept.
//
// An event that violates a unique constraint is tried again. When two
// transformers insert the same new pull request or issue at the same
// moment, PostgreSQL resolves the clash on the id, which ON CONFLICT
// names, but raises one on (repo_id, number), which it does not. It does
// so only after the other transaction has committed, so a second try
// finds that row and updates it. A real clash fails every try.
func (t *Transformer) applyOneByOne(ctx context.Context, tx *store.Tx, events []*event) error {
	for _, ev := range events {
		for try := 1; ; try++ {
			ev.failure = nil
			ev.repoID = ""

			err := tx.Savepoint(ctx, "silver_event", func() error {
				if err := t.apply(ctx, tx, []*event{ev}); err != nil {
					return err
				}
				if ev.failure != nil {
					return ev.failure
				}
				return nil
			})
			if err == nil {
				break
			}
			if errors.Is(err, store.ErrUniqueViolation) && try < maxEventTries {
				continue
			}

			failure, ok := failureOf(ctx, ev, err)
			if !ok {
				return fmt.Errorf("transform raw event %d: %w", ev.raw.id, err)
			}
			ev.failure = failure
			break
		}
	}
	return nil
}

// apply writes the event facts and entity rows of events. Events whose
// stored fact differs from Bronze are marked failed and written nowhere.
// An error caused by one event's rows is returned as is, for the caller to
// roll back and isolate.
func (t *Transformer) apply(ctx context.Context, tx *store.Tx, events []*event) error {
	if err := storeFacts(ctx, tx, events); err != nil {
		return err
	}

	var entities []*event
	for _, ev := range events {
		if ev.failure == nil && ev.entity != nil {
			entities = append(entities, ev)
		}
	}
	if len(entities) == 0 {
		return nil
	}

	now := store.NewTime(t.now())
	if err := resolveRepositories(ctx, tx, entities, now); err != nil {
		return err
	}
	if err := upsertCommits(ctx, tx, entities, now); err != nil {
		return err
	}
	if err := upsertDocChanges(ctx, tx, entities); err != nil {
		return err
	}
	if err := upsertPullRequests(ctx, tx, entities); err != nil {
		return err
	}
	return upsertIssues(ctx, tx, entities)
}

// markFailedSQL marks one claimed raw event failed with its message and
// reason. The claim already counted the attempt.
const markFailedSQL = `UPDATE raw_events SET transform_state = ?, transform_error = ?,
	transform_reason = ? WHERE id = ?`

// markStates records the failures of a batch; its other events were
// marked processed when they were claimed.
func markStates(ctx context.Context, tx *store.Tx, events []*event) error {
	for _, ev := range events {
		if ev.failure == nil {
			continue
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(markFailedSQL),
			int(bronze.Failed), ev.failure.Error(), string(ev.failure.reason), ev.raw.id)
		if err != nil {
			return fmt.Errorf("mark raw event %d failed: %w", ev.raw.id, store.Classify(err))
		}
	}
	return nil
}

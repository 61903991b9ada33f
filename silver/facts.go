package silver

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/store"
)

// insertFactsSQL copies raw events into event_facts inside the database,
// so payloads are not sent back, and returns the raw event ids it
// inserted. Raw events that already have a fact are left alone.
func insertFactsSQL(d store.Dialect, ids int) string {
	return d.Rebind(`INSERT INTO event_facts (raw_event_id, repo_external_id, event_type,
			occurred_at, payload)
		SELECT id, repo_external_id, event_type, occurred_at, payload FROM raw_events
		WHERE id IN (` + placeholders(ids) + `)
		ON CONFLICT (raw_event_id) DO NOTHING RETURNING raw_event_id`)
}

// selectFactsSQL reads stored event facts by raw event id.
func selectFactsSQL(d store.Dialect, ids int) string {
	return d.Rebind(`SELECT raw_event_id, repo_external_id, event_type, occurred_at, payload
		FROM event_facts WHERE raw_event_id IN (` + placeholders(ids) + ")")
}

// storeFacts gives every event an event fact. An event whose stored fact
// differs from the raw event is marked failed with ReasonPayloadMismatch,
// so that operators can look into the change to Bronze.
func storeFacts(ctx context.Context, tx *store.Tx, events []*event) error {
	byID := make(map[int64]*event, len(events))
	for _, ev := range events {
		byID[ev.raw.id] = ev
	}

	inserted := make(map[int64]bool, len(events))
	for _, chunk := range chunks(events, maxIDsPerStatement) {
		if err := insertFacts(ctx, tx, chunk, inserted); err != nil {
			return err
		}
	}

	var existing []*event
	for _, ev := range events {
		if !inserted[ev.raw.id] {
			existing = append(existing, ev)
		}
	}
	for _, chunk := range chunks(existing, maxIDsPerStatement) {
		if err := compareFacts(ctx, tx, chunk); err != nil {
			return err
		}
	}
	return nil
}

func insertFacts(ctx context.Context, tx *store.Tx, events []*event, inserted map[int64]bool) error {
	rows, err := tx.QueryContext(ctx, insertFactsSQL(tx.Dialect(), len(events)), rawEventIDs(events)...)
	if err != nil {
		return fmt.Errorf("insert event facts: %w", store.Classify(err))
	}
	defer rows.Close()

	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("insert event facts: %w", store.Classify(err))
		}
		inserted[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert event facts: %w", store.Classify(err))
	}
	return nil
}

// storedFact is a row of event_facts.
type storedFact struct {
	repoExternalID *string
	eventType      string
	occurredAt     store.Time
	payload        string
}

// compareFacts reads the stored facts of events and marks failed each
// event whose fact no longer matches it.
func compareFacts(ctx context.Context, tx *store.Tx, events []*event) error {
	rows, err := tx.QueryContext(ctx, selectFactsSQL(tx.Dialect(), len(events)), rawEventIDs(events)...)
	if err != nil {
		return fmt.Errorf("read event facts: %w", store.Classify(err))
	}
	defer rows.Close()

	facts := make(map[int64]storedFact, len(events))
	for rows.Next() {
		var id int64
		var f storedFact
		if err := rows.Scan(&id, &f.repoExternalID, &f.eventType, &f.occurredAt, &f.payload); err != nil {
			return fmt.Errorf("read event facts: %w", store.Classify(err))
		}
		facts[id] = f
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read event facts: %w", store.Classify(err))
	}

	for _, ev := range events {
		fact, ok := facts[ev.raw.id]
		if !ok {
			// The insert skipped a fact that is not there: something
			// deleted it meanwhile. Running the batch again settles it.
			return fmt.Errorf("event fact for raw event %d was neither inserted nor found: %w",
				ev.raw.id, store.ErrConflict)
		}
		if difference := factDifference(ev, fact); difference != "" {
			ev.failure = newTransformError(ReasonPayloadMismatch,
				"stored event fact no longer matches the raw event: %s differs", difference)
		}
	}
	return nil
}

// factDifference names the first column in which a stored fact differs
// from its raw event, or returns "" when they match. Payloads are compared
// as JSON values, not as text, because PostgreSQL's jsonb and SQLite's
// text spell the same value differently.
func factDifference(ev *event, fact storedFact) string {
	stored, err := bronze.DecodePayload([]byte(fact.payload))
	if err != nil {
		return "payload"
	}
	raw, err := bronze.DecodePayload([]byte(ev.raw.payload))
	if err != nil {
		return "payload"
	}

	switch {
	case !equalJSON(stored, raw):
		return "payload"
	case fact.eventType != ev.raw.eventType:
		return "event_type"
	case !equalSlugs(fact.repoExternalID, ev.raw.repoExternalID):
		return "repo_external_id"
	case !fact.occurredAt.Equal(ev.raw.occurredAt.Time):
		return "occurred_at"
	}
	return ""
}

// equalSlugs compares repositories as GitHub does, without regard to
// case: a fact takes the stored spelling of its repository (see
// respellFacts), which may differ from its raw event's.
func equalSlugs(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return strings.EqualFold(*a, *b)
}

// equalJSON reports whether two decoded JSON values are equal: objects
// with the same keys and equal values, arrays with equal items in order,
// and numbers of equal value whatever their spelling (1, 1.0 and 1e0).
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for key, value := range a {
			other, ok := b[key]
			if !ok || !equalJSON(value, other) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		return ok && equalNumbers(a, b)
	case string, bool, nil:
		return a == b
	}
	return false
}

func equalNumbers(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, okX := new(big.Rat).SetString(string(a))
	y, okY := new(big.Rat).SetString(string(b))
	return okX && okY && x.Cmp(y) == 0
}

func rawEventIDs(events []*event) []any {
	ids := make([]any, len(events))
	for i, ev := range events {
		ids[i] = ev.raw.id
	}
	return ids
}

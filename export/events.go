package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Repository is a repository to export: its Silver id and owner/name.
type Repository struct {
	ID   string `db:"id"`
	Slug string `db:"slug"`
}

// EstateRepositories returns every repository that the estate's
// catalogue lists, ordered by owner and name without regard to case.
func EstateRepositories(ctx context.Context, db *store.DB, estateID string) ([]Repository, error) {
	var repos []Repository
	err := db.SelectContext(ctx, &repos, db.Rebind(`SELECT r.id,
			r.github_owner || '/' || r.github_name AS slug
		FROM repositories r JOIN repository_estates re ON re.repository_id = r.id
		WHERE re.estate_id = ?
		ORDER BY lower(r.github_owner), lower(r.github_name), r.id`), estateID)
	if err != nil {
		return nil, fmt.Errorf("list repositories of estate %s: %w", estateID, store.Classify(err))
	}
	return repos, nil
}

// Event is an event fact with its lineage: the raw event it was refined
// from, and that event's source.
type Event struct {
	EventFactID   int64           `json:"event_fact_id"`
	RawEventID    int64           `json:"raw_event_id"`
	SourceSystem  string          `json:"source_system"`
	SourceEventID *string         `json:"source_event_id"`
	EventType     string          `json:"event_type"`
	Repository    string          `json:"repository"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Payload       json.RawMessage `json:"payload"`
}

// Events calls fn with each event fact of the repository with
// occurred_at in [start, end), oldest first, reading the rows one at a
// time. It stops at fn's first error and returns it.
func Events(ctx context.Context, db *store.DB, repo Repository, start, end time.Time,
	fn func(Event) error) error {
	if err := checkWindow(start, end); err != nil {
		return err
	}

	rows, err := db.QueryContext(ctx, db.Rebind(`SELECT ef.id, ef.raw_event_id, re.source_system,
			re.source_event_id, ef.event_type, ef.occurred_at, ef.payload
		FROM event_facts ef JOIN raw_events re ON re.id = ef.raw_event_id
		WHERE ef.repo_external_id = ? AND ef.occurred_at >= ? AND ef.occurred_at < ?
		ORDER BY ef.occurred_at, ef.id`), repo.Slug, store.NewTime(start), store.NewTime(end))
	if err != nil {
		return fmt.Errorf("read event facts of %s: %w", repo.Slug, store.Classify(err))
	}
	defer rows.Close()

	for rows.Next() {
		e := Event{Repository: repo.Slug}
		var occurred store.Time
		var sourceEventID sql.NullString
		var payload []byte
		if err := rows.Scan(&e.EventFactID, &e.RawEventID, &e.SourceSystem, &sourceEventID,
			&e.EventType, &occurred, &payload); err != nil {
			return fmt.Errorf("read event facts of %s: %w", repo.Slug, store.Classify(err))
		}
		e.OccurredAt = occurred.Time
		if sourceEventID.Valid {
			e.SourceEventID = &sourceEventID.String
		}
		e.Payload = json.RawMessage(payload)

		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read event facts of %s: %w", repo.Slug, store.Classify(err))
	}
	return nil
}

func checkWindow(start, end time.Time) error {
	if !end.After(start) {
		return fmt.Errorf("window %s to %s: use an end after the start",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return nil
}

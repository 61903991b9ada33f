package evidence

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Kinds of Item.
const (
	KindCommit              = "commit"
	KindPullRequest         = "pull_request"
	KindIssue               = "issue"
	KindDocumentationChange = "documentation_change"
)

// Item is one commit, pull request, issue or documentation change of a
// window, in its latest Silver state, with the newest event fact of the
// window that names it and that fact's lineage back to Bronze.
type Item struct {
	EventFactID   int64           `json:"event_fact_id"`
	RawEventID    int64           `json:"raw_event_id"`
	SourceSystem  string          `json:"source_system"`
	SourceEventID *string         `json:"source_event_id"`
	EventType     string          `json:"event_type"`
	Repository    string          `json:"repository"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Kind          string          `json:"kind"`
	Key           string          `json:"key"` // sha, pull request or issue number, or path
	Title         string          `json:"title"`
	Author        string          `json:"author"`
	State         string          `json:"state"`
	Payload       json.RawMessage `json:"payload"`
}

// itemsQuery reads a repository's items of a window, oldest first. Unlike
// the bundle's queries it keeps facts that reports already covered, and
// it keeps one row per entity: that of its newest fact. It reads the
// facts' entity keys with the same expressions as the bundle, which the
// database indexes.
func itemsQuery(d store.Dialect) string {
	keys := keysOf(d)
	return `WITH f AS (
		SELECT ef.id, ef.raw_event_id, ef.event_type, ef.occurred_at, ef.payload,
			` + keys.sha + ` AS sha, ` + keys.id + ` AS entity_id, ` + keys.path + ` AS path
		FROM event_facts ef
		WHERE ef.repo_external_id = ? AND ef.occurred_at >= ? AND ef.occurred_at < ?
	), items AS (
		SELECT f.id, f.raw_event_id, f.event_type, f.occurred_at, f.payload,
			CASE WHEN c.sha IS NOT NULL THEN 'commit' WHEN pr.id IS NOT NULL THEN 'pull_request'
				WHEN i.id IS NOT NULL THEN 'issue' ELSE 'documentation_change' END AS kind,
			coalesce(c.sha, CAST(pr.number AS TEXT), CAST(i.number AS TEXT), d.path) AS item_key,
			coalesce(c.message, pr.title, i.title, '') AS title,
			coalesce(c.author_name, pr.author_login, i.author_login, '') AS author,
			coalesce(pr.state, i.state, d.change_type, '') AS state,
			row_number() OVER (PARTITION BY c.sha, pr.id, i.id, d.id
				ORDER BY f.occurred_at DESC, f.id DESC) AS newest
		FROM f
		LEFT JOIN commits c ON f.event_type = 'github.commit' AND c.repo_id = ? AND c.sha = f.sha
		LEFT JOIN pull_requests pr ON f.event_type = 'github.pull_request' AND pr.repo_id = ?
			AND pr.id = f.entity_id
		LEFT JOIN issues i ON f.event_type = 'github.issue' AND i.repo_id = ? AND i.id = f.entity_id
		LEFT JOIN documentation_changes d ON f.event_type = 'github.doc_change' AND d.repo_id = ?
			AND d.commit_sha = f.sha AND d.path = f.path
		WHERE c.sha IS NOT NULL OR pr.id IS NOT NULL OR i.id IS NOT NULL OR d.id IS NOT NULL
	)
	SELECT items.id, items.raw_event_id, re.source_system, re.source_event_id, items.event_type,
		items.occurred_at, items.kind, items.item_key, items.title, items.author, items.state,
		items.payload
	FROM items JOIN raw_events re ON re.id = items.raw_event_id
	WHERE items.newest = 1
	ORDER BY items.occurred_at, items.id`
}

// Items calls fn with each item of the repository's window [start, end),
// oldest first, reading the rows one at a time. A fact that names no
// Silver entity gives no item. Items stops at fn's first error and
// returns it.
func (b *Builder) Items(ctx context.Context, repositoryID string, start, end time.Time,
	fn func(Item) error) error {
	if !end.After(start) {
		return fmt.Errorf("window %s to %s: use an end after the start",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	repo, err := b.repository(ctx, repositoryID)
	if err != nil {
		return err
	}

	rows, err := b.db.QueryxContext(ctx, b.db.Rebind(itemsQuery(b.db.Dialect())), repo.Slug(),
		store.NewTime(start), store.NewTime(end), repo.ID, repo.ID, repo.ID, repo.ID)
	if err != nil {
		return fmt.Errorf("read evidence items of %s: %w", repo.Slug(), store.Classify(err))
	}
	defer rows.Close()

	for rows.Next() {
		item := Item{Repository: repo.Slug()}
		var occurred store.Time
		var sourceEventID sql.NullString
		var payload []byte
		if err := rows.Scan(&item.EventFactID, &item.RawEventID, &item.SourceSystem,
			&sourceEventID, &item.EventType, &occurred, &item.Kind, &item.Key, &item.Title,
			&item.Author, &item.State, &payload); err != nil {
			return fmt.Errorf("read evidence items of %s: %w", repo.Slug(), store.Classify(err))
		}
		item.OccurredAt = occurred.Time
		if sourceEventID.Valid {
			item.SourceEventID = &sourceEventID.String
		}
		item.Payload = json.RawMessage(payload)

		if err := fn(item); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read evidence items of %s: %w", repo.Slug(), store.Classify(err))
	}
	return nil
}

package silver

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Events are written with one multi-row upsert per table where possible.
// Three rules keep the outcome equal to applying the events one at a time
// in id order.
//
//   - A key appears at most once per statement, because PostgreSQL
//     rejects an upsert that touches a row twice ("ON CONFLICT DO UPDATE
//     command cannot affect row a second time"). An event repeating a key
//     goes to a later statement, in event order.
//   - Rows that replace different optional columns (labels, metadata) go
//     to separate statements.
//   - Pull requests, issues and documentation changes are guarded by
//     observed_at and the raw event id in SQL (see notNewer), so the
//     stored row decides, not the batch.
//
// NOTE: the guard rejects an older event whole. When the newest snapshot
// lacked labels or metadata (null or absent) and an older one carried
// them, the older values are kept only if the older event was processed
// first. GitHub ingestion always sends both, so only hand-made events
// can differ by processing order.

// row is one entity row of an upsert.
type row[K cmp.Ordered] struct {
	ev  *event
	key K

	// shape selects the statement variant: a bit per optional column
	// that the row replaces.
	shape int
	args  []any
}

// upsertGroups splits rows into the groups that one statement each
// writes, in the order they must run. Each group is sorted by key, so
// concurrent transformers lock rows in the same order.
func upsertGroups[K cmp.Ordered](rows []row[K]) [][]row[K] {
	type slot struct{ wave, shape int }
	occurrences := map[K]int{}
	groups := map[slot][]row[K]{}
	var order []slot
	for _, r := range rows {
		s := slot{wave: occurrences[r.key], shape: r.shape}
		occurrences[r.key]++
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
		groups[s] = append(groups[s], r)
	}
	slices.SortFunc(order, func(a, b slot) int {
		return cmp.Or(cmp.Compare(a.wave, b.wave), cmp.Compare(a.shape, b.shape))
	})

	var out [][]row[K]
	for _, s := range order {
		group := groups[s]
		slices.SortStableFunc(group, func(a, b row[K]) int { return cmp.Compare(a.key, b.key) })
		out = append(out, chunks(group, maxRowsPerStatement)...)
	}
	return out
}

// execGroups runs one upsert per group of rows (see upsertGroups), with
// the statement that buildSQL returns for the group's size and shape.
func execGroups[K cmp.Ordered](ctx context.Context, tx *store.Tx, rows []row[K],
	buildSQL func(d store.Dialect, rows, shape int) string, table string,
) error {
	for _, group := range upsertGroups(rows) {
		query := buildSQL(tx.Dialect(), len(group), group[0].shape)
		if _, err := tx.ExecContext(ctx, query, flattenArgs(group)...); err != nil {
			return fmt.Errorf("upsert %s: %w", table, store.Classify(err))
		}
	}
	return nil
}

func flattenArgs[K cmp.Ordered](rows []row[K]) []any {
	args := make([]any, 0, len(rows)*len(rows[0].args))
	for _, r := range rows {
		args = append(args, r.args...)
	}
	return args
}

// Shape bits: the optional columns that a row replaces in a stored row.
const (
	replacesLabels   = 1
	replacesMetadata = 2
)

// upsertCommitsSQL inserts commits or fills in stored ones. A payload
// field replaces the stored value unless it is null or absent. So a later
// event can complete a stub or an earlier partial event, but cannot erase
// what it does not carry. Metadata is replaced only by the
// replacesMetadata variant, for payloads that have it. A row with nothing
// to replace, such as the stub of a documentation change, leaves the
// stored row alone.
func upsertCommitsSQL(d store.Dialect, rows, shape int) string {
	set := `author_email = COALESCE(excluded.author_email, commits.author_email),
		author_name = COALESCE(excluded.author_name, commits.author_name),
		authored_at = COALESCE(excluded.authored_at, commits.authored_at),
		committed_at = COALESCE(excluded.committed_at, commits.committed_at),
		message = COALESCE(excluded.message, commits.message)`
	where := ` WHERE excluded.author_email IS NOT NULL OR excluded.author_name IS NOT NULL
		OR excluded.authored_at IS NOT NULL OR excluded.committed_at IS NOT NULL
		OR excluded.message IS NOT NULL`
	if shape&replacesMetadata != 0 {
		set += ", metadata = excluded.metadata"
		where = ""
	}
	return d.Rebind(`INSERT INTO commits (repo_id, sha, author_email, author_name, authored_at,
		committed_at, message, metadata, first_seen_at) VALUES ` + valuesRows(rows, 9) +
		" ON CONFLICT (repo_id, sha) DO UPDATE SET " + set + where)
}

// upsertDocChangesSQL inserts documentation changes or overwrites stored
// ones with an event not older than the one that set them (see notNewer).
func upsertDocChangesSQL(d store.Dialect, rows, shape int) string {
	set := `change_type = excluded.change_type, is_roadmap = excluded.is_roadmap,
		is_adr = excluded.is_adr, occurred_at = excluded.occurred_at,
		observed_at = excluded.observed_at, observed_raw_event_id = excluded.observed_raw_event_id`
	if shape&replacesMetadata != 0 {
		set += ", metadata = excluded.metadata"
	}
	return d.Rebind(`INSERT INTO documentation_changes (repo_id, commit_sha, path, change_type,
		is_roadmap, is_adr, metadata, occurred_at, observed_at, observed_raw_event_id) VALUES ` +
		valuesRows(rows, 10) + " ON CONFLICT (repo_id, commit_sha, path) DO UPDATE SET " + set +
		" WHERE " + notNewer("documentation_changes"))
}

// upsertPullRequestsSQL inserts pull requests or overwrites stored ones
// with an event not older than the one that set them (see notNewer). Null
// author, merge and close fields overwrite; labels and metadata are
// replaced only by the variants for payloads that have them. A stored row of another
// repository is left alone and not returned, for the caller to report.
func upsertPullRequestsSQL(d store.Dialect, rows, shape int) string {
	set := `number = excluded.number, title = excluded.title,
		author_login = excluded.author_login, state = excluded.state,
		merged_at = excluded.merged_at, closed_at = excluded.closed_at,
		created_at = excluded.created_at, is_draft = excluded.is_draft,
		base_branch = excluded.base_branch, head_branch = excluded.head_branch,
		observed_at = excluded.observed_at,
		observed_raw_event_id = excluded.observed_raw_event_id` + optionalSets(shape)
	return d.Rebind(`INSERT INTO pull_requests (id, repo_id, number, title, author_login, state,
		merged_at, closed_at, created_at, labels, is_draft, base_branch, head_branch, metadata,
		observed_at, observed_raw_event_id) VALUES ` + valuesRows(rows, 16) +
		" ON CONFLICT (id) DO UPDATE SET " + set +
		" WHERE pull_requests.repo_id = excluded.repo_id AND " + notNewer("pull_requests") +
		" RETURNING id")
}

// upsertIssuesSQL is upsertPullRequestsSQL for issues.
func upsertIssuesSQL(d store.Dialect, rows, shape int) string {
	set := `number = excluded.number, title = excluded.title,
		author_login = excluded.author_login, state = excluded.state,
		created_at = excluded.created_at, closed_at = excluded.closed_at,
		observed_at = excluded.observed_at,
		observed_raw_event_id = excluded.observed_raw_event_id` + optionalSets(shape)
	return d.Rebind(`INSERT INTO issues (id, repo_id, number, title, author_login, state,
		created_at, closed_at, labels, metadata, observed_at, observed_raw_event_id) VALUES ` +
		valuesRows(rows, 12) + " ON CONFLICT (id) DO UPDATE SET " + set +
		" WHERE issues.repo_id = excluded.repo_id AND " + notNewer("issues") + " RETURNING id")
}

// notNewer is the guard of an upsert into table: the stored row was set
// by an event no newer than the incoming one. Events of the same time are
// ordered by raw event id, so the outcome does not depend on the order in
// which they are processed. A row set before raw event ids were recorded
// has none and yields to any event of its time.
func notNewer(table string) string {
	return "(" + table + ".observed_at < excluded.observed_at OR (" + table +
		".observed_at = excluded.observed_at AND COALESCE(" + table +
		".observed_raw_event_id, 0) <= excluded.observed_raw_event_id))"
}

func optionalSets(shape int) string {
	var set string
	if shape&replacesLabels != 0 {
		set += ", labels = excluded.labels"
	}
	if shape&replacesMetadata != 0 {
		set += ", metadata = excluded.metadata"
	}
	return set
}

// selectRepoIDsSQL reads the repository of stored pull requests or issues.
func selectRepoIDsSQL(d store.Dialect, table string, ids int) string {
	return d.Rebind("SELECT id, repo_id FROM " + table + " WHERE id IN (" + placeholders(ids) + ")")
}

// upsertCommits writes the commits of commit events, and an empty stub
// for each documentation change whose commit is not stored yet, so that
// the documentation change can reference it. A later commit event fills
// the stub in. Stubs and commits share one statement, which locks their
// rows in one order.
func upsertCommits(ctx context.Context, tx *store.Tx, events []*event, now store.Time) error {
	var rows []row[string]
	for _, ev := range events {
		switch p := ev.entity.(type) {
		case CommitPayload:
			metadata, shape := metadataValue(p.Metadata)
			rows = append(rows, row[string]{ev: ev, key: ev.repoID + "\x00" + p.SHA, shape: shape, args: []any{
				ev.repoID, p.SHA, p.AuthorEmail, p.AuthorName, optionalTime(p.AuthoredAt),
				optionalTime(p.CommittedAt), p.Message, metadata, now,
			}})
		case DocChangePayload:
			rows = append(rows, row[string]{ev: ev, key: ev.repoID + "\x00" + p.CommitSHA, args: []any{
				ev.repoID, p.CommitSHA, nil, nil, nil, nil, nil, "{}", now,
			}})
		}
	}

	return execGroups(ctx, tx, rows, upsertCommitsSQL, "commits")
}

// upsertDocChanges writes documentation changes. Their commits exist, as
// upsertCommits ran first.
func upsertDocChanges(ctx context.Context, tx *store.Tx, events []*event) error {
	var rows []row[string]
	for _, ev := range events {
		p, ok := ev.entity.(DocChangePayload)
		if !ok {
			continue
		}
		metadata, shape := metadataValue(p.Metadata)
		key := ev.repoID + "\x00" + p.CommitSHA + "\x00" + p.Path
		rows = append(rows, row[string]{ev: ev, key: key, shape: shape, args: []any{
			ev.repoID, p.CommitSHA, p.Path, p.ChangeType, p.IsRoadmap, p.IsADR, metadata,
			store.NewTime(p.OccurredAt), ev.raw.occurredAt, ev.raw.id,
		}})
	}

	return execGroups(ctx, tx, rows, upsertDocChangesSQL, "documentation changes")
}

func upsertPullRequests(ctx context.Context, tx *store.Tx, events []*event) error {
	var rows []row[int64]
	for _, ev := range events {
		p, ok := ev.entity.(PullRequestPayload)
		if !ok {
			continue
		}
		labels, labelsShape := labelsValue(p.Labels)
		metadata, metadataShape := metadataValue(p.Metadata)
		shape := labelsShape | metadataShape
		rows = append(rows, row[int64]{ev: ev, key: p.ID, shape: shape, args: []any{
			p.ID, ev.repoID, p.Number, p.Title, p.AuthorLogin, p.State, optionalTime(p.MergedAt),
			optionalTime(p.ClosedAt), store.NewTime(p.CreatedAt), labels, p.IsDraft, p.BaseBranch,
			p.HeadBranch, metadata, ev.raw.occurredAt, ev.raw.id,
		}})
	}
	return upsertObserved(ctx, tx, "pull_requests", "pull request", rows, upsertPullRequestsSQL)
}

func upsertIssues(ctx context.Context, tx *store.Tx, events []*event) error {
	var rows []row[int64]
	for _, ev := range events {
		p, ok := ev.entity.(IssuePayload)
		if !ok {
			continue
		}
		labels, labelsShape := labelsValue(p.Labels)
		metadata, metadataShape := metadataValue(p.Metadata)
		shape := labelsShape | metadataShape
		rows = append(rows, row[int64]{ev: ev, key: p.ID, shape: shape, args: []any{
			p.ID, ev.repoID, p.Number, p.Title, p.AuthorLogin, p.State, store.NewTime(p.CreatedAt),
			optionalTime(p.ClosedAt), labels, metadata, ev.raw.occurredAt, ev.raw.id,
		}})
	}
	return upsertObserved(ctx, tx, "issues", "issue", rows, upsertIssuesSQL)
}

// upsertObserved runs the guarded upserts of pull requests or issues. A
// row that the guard skipped is either older than the stored one, which
// is correct, or belongs to another repository, which fails its event
// with ReasonRepositoryMismatch. PostgreSQL locks a row even when the
// guard skips its update, so the row read afterwards is the one the guard
// compared.
func upsertObserved(ctx context.Context, tx *store.Tx, table, noun string, rows []row[int64],
	buildSQL func(d store.Dialect, rows, shape int) string,
) error {
	var skipped []row[int64]
	for _, group := range upsertGroups(rows) {
		query := buildSQL(tx.Dialect(), len(group), group[0].shape)
		written, err := queryIDs(ctx, tx, query, flattenArgs(group)...)
		if err != nil {
			return fmt.Errorf("upsert %s: %w", table, err)
		}
		for _, r := range group {
			if !written[r.key] {
				skipped = append(skipped, r)
			}
		}
	}

	for _, chunk := range chunks(skipped, maxIDsPerStatement) {
		ids := make([]any, len(chunk))
		for i, r := range chunk {
			ids[i] = r.key
		}
		repoIDs, err := queryRepoIDs(ctx, tx, selectRepoIDsSQL(tx.Dialect(), table, len(ids)), ids...)
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		for _, r := range chunk {
			stored, ok := repoIDs[r.key]
			if !ok {
				// Another transaction deleted the row after the upsert
				// passed it over. Running the batch again settles it.
				return fmt.Errorf("%s %d disappeared during the upsert: %w", noun, r.key, store.ErrConflict)
			}
			if stored != r.ev.repoID {
				return newTransformError(ReasonRepositoryMismatch,
					"%s %d is stored for another repository than the payload's %s",
					noun, r.key, entityRepo(r.ev))
			}
		}
	}
	return nil
}

func queryIDs(ctx context.Context, tx *store.Tx, query string, args ...any) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()

	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, store.Classify(err)
		}
		ids[id] = true
	}
	return ids, store.Classify(rows.Err())
}

func queryRepoIDs(ctx context.Context, tx *store.Tx, query string, args ...any) (map[int64]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()

	repoIDs := map[int64]string{}
	for rows.Next() {
		var id int64
		var repoID string
		if err := rows.Scan(&id, &repoID); err != nil {
			return nil, store.Classify(err)
		}
		repoIDs[id] = repoID
	}
	return repoIDs, store.Classify(rows.Err())
}

// metadataValue returns the metadata column value, "{}" for a payload
// without metadata, and the shape bit that replaces stored metadata.
func metadataValue(metadata json.RawMessage) (string, int) {
	if metadata == nil {
		return "{}", 0
	}
	return string(metadata), replacesMetadata
}

// labelsValue returns the labels column value, "[]" for a payload
// without labels, and the shape bit that replaces stored labels.
func labelsValue(labels []string) (string, int) {
	if labels == nil {
		return "[]", 0
	}
	text, err := jsonText(labels)
	if err != nil {
		panic(fmt.Sprintf("silver: encode labels %q: %v", labels, err)) // strings always encode
	}
	return text, replacesLabels
}

// jsonText encodes a JSON column value without escaping <, > and &, which
// only matters inside HTML.
func jsonText(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func optionalTime(t *time.Time) *store.Time {
	if t == nil {
		return nil
	}
	value := store.NewTime(*t)
	return &value
}

package evidence

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ghillie/ghillie/store"
)

// factKeys are the SQL expressions for an event fact's Silver entity key,
// over the event_facts row ef.
type factKeys struct {
	sha  string // the commit of a commit or documentation change
	id   string // the id of a pull request or issue
	path string // the path of a documentation change
}

// PostgreSQL stores the keys in generated columns of event_facts.
var postgresKeys = factKeys{sha: "ef.entity_sha", id: "ef.entity_id", path: "ef.entity_path"}

// SQLite indexes the keys as expressions in ix_event_facts_repo_time. These
// must stay the same expressions as in the migration
// 00010_event_fact_entities.sql, or SQLite parses every payload again.
var sqliteKeys = factKeys{
	sha: `(CASE ef.event_type
		WHEN 'github.commit' THEN json_extract(ef.payload, '$.sha')
		WHEN 'github.doc_change' THEN json_extract(ef.payload, '$.commit_sha')
	END)`,
	id: `(CASE WHEN ef.event_type IN ('github.pull_request', 'github.issue')
		AND (json_type(ef.payload, '$.id') = 'integer'
			OR (json_type(ef.payload, '$.id') = 'text'
				AND json_extract(ef.payload, '$.id') GLOB '[0-9]*'
				AND NOT json_extract(ef.payload, '$.id') GLOB '*[^0-9]*'
				AND length(json_extract(ef.payload, '$.id')) <= 18))
		THEN CAST(json_extract(ef.payload, '$.id') AS INTEGER)
	END)`,
	path: `(CASE WHEN ef.event_type = 'github.doc_change' THEN json_extract(ef.payload, '$.path') END)`,
}

func keysOf(d store.Dialect) factKeys {
	if d == store.Postgres {
		return postgresKeys
	}
	return sqliteKeys
}

// windowFacts selects a window's event facts that no repository report
// of the repository covers. Its arguments are the repository's slug, the
// window's lower bound and end, and the repository's id.
const windowFacts = `FROM event_facts ef
	WHERE ef.repo_external_id = ? AND ef.occurred_at >= ? AND ef.occurred_at < ?
	AND NOT EXISTS (
		SELECT 1 FROM report_coverage rc JOIN reports r ON r.id = rc.report_id
		WHERE rc.event_fact_id = ef.id AND r.scope = 'repository' AND r.repository_id = ?)`

// factQueries are the queries that read a window into a bundle: the facts'
// ids, then the entities of each table that the facts name, each read
// once however many facts name it. Reading each table alone, instead of
// joining every fact to its entity, returns one narrow row per entity
// instead of one row of every table's columns per fact.
type factQueries struct {
	ids, commits, pullRequests, issues, documentationChanges string
}

func queriesOf(d store.Dialect) factQueries {
	keys := keysOf(d)
	named := func(eventType, key string) string {
		return `(SELECT ` + key + ` ` + windowFacts + ` AND ef.event_type = '` + eventType + `')`
	}

	// SQLite reads the ids in index order, which is the bundle's order.
	// PostgreSQL would sort them, which costs more than sorting in Go.
	ids := `SELECT ef.id ` + windowFacts + ` ORDER BY ef.occurred_at DESC, ef.id DESC`
	if d == store.Postgres {
		ids = `SELECT ef.id, ef.occurred_at ` + windowFacts
	}

	return factQueries{
		ids: d.Rebind(ids),
		commits: d.Rebind(`SELECT c.sha, c.message, c.author_name, c.author_email, c.committed_at
			FROM commits c WHERE c.repo_id = ? AND c.sha IN ` + named("github.commit", keys.sha)),
		pullRequests: d.Rebind(`SELECT pr.id, pr.number, pr.title, pr.author_login, pr.state,
				pr.labels, pr.created_at, pr.merged_at, pr.closed_at, pr.is_draft
			FROM pull_requests pr
			WHERE pr.repo_id = ? AND pr.id IN ` + named("github.pull_request", keys.id)),
		issues: d.Rebind(`SELECT i.id, i.number, i.title, i.author_login, i.state, i.labels,
				i.created_at, i.closed_at
			FROM issues i WHERE i.repo_id = ? AND i.id IN ` + named("github.issue", keys.id)),
		// A pair IN a subquery makes SQLite read the facts twice.
		documentationChanges: d.Rebind(`SELECT d.path, d.change_type, d.commit_sha,
				d.occurred_at, d.is_roadmap, d.is_adr
			FROM (SELECT DISTINCT ` + keys.sha + ` AS sha, ` + keys.path + ` AS path ` +
			windowFacts + ` AND ef.event_type = 'github.doc_change') f
			JOIN documentation_changes d ON d.commit_sha = f.sha AND d.path = f.path
			WHERE d.repo_id = ?`),
	}
}

// collector reads a window's facts and entities into a bundle.
type collector struct {
	repo    Repository
	queries factQueries
	window  []any // the arguments of windowFacts
	cls     *Classifier
	bundle  *RepositoryBundle

	// facts are the facts' ids and times, kept where the database returns
	// the facts unordered, to be sorted into the bundle's order.
	facts []fact
}

type fact struct {
	id int64
	at int64 // microseconds since 1970, the resolution of occurred_at
}

// query is one query of a bundle. Each row is scanned into dest, which
// is reused, and then row is called, which copies what it keeps.
type query struct {
	name string // the rows the query reads, named in error messages
	sql  string
	args []any
	dest []any
	row  func()
}

// collect reads the window's uncovered facts and the entities they
// name into the bundle. Every fact's id is kept, also when it names no
// entity Silver has; an entity named by several facts is kept once.
func (b *Builder) collect(ctx context.Context, repo Repository, lower, end time.Time,
	bundle *RepositoryBundle) error {
	c := &collector{repo: repo, queries: queriesOf(b.db.Dialect()),
		window: []any{repo.Slug(), store.NewTime(lower), store.NewTime(end), repo.ID},
		cls:    b.classifier(), bundle: bundle}
	queries := []query{c.factIDs(b.db.Dialect()), c.commits(), c.pullRequests(), c.issues(),
		c.documentationChanges()}

	var err error
	if b.db.Dialect() == store.Postgres {
		err = c.runPostgres(ctx, b.db, queries)
	} else {
		err = c.run(ctx, b.db, queries)
	}
	if err != nil {
		return err
	}

	c.sortFacts()
	sortEntities(bundle)
	return nil
}

// run runs the queries one after the other in one read-only transaction,
// so that they all read the same data.
func (c *collector) run(ctx context.Context, db *store.DB, queries []query) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("read event facts of %s: %w", c.repo.Slug(), store.Classify(err))
	}
	defer func() { _ = tx.Rollback() }()

	for _, q := range queries {
		rows, err := tx.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			return c.failed(q, err)
		}
		if err := c.scan(q, rows); err != nil {
			_ = rows.Close()
			return err
		}
		if err := rows.Close(); err != nil {
			return c.failed(q, err)
		}
	}
	return nil
}

// runPostgres sends the queries to PostgreSQL in one round trip, inside
// one REPEATABLE READ transaction, so that they all read the same data,
// and the server runs each query while the rows of the one before are
// read.
func (c *collector) runPostgres(ctx context.Context, db *store.DB, queries []query) error {
	return db.PostgresConn(ctx, func(conn *pgx.Conn) error {
		setup := []string{
			"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			// A window of many facts gives these queries an estimated cost
			// above jit_above_cost, and compiling a query (JIT) takes longer
			// than running it.
			"SET LOCAL jit = off",
			// pgx prepares each query once per connection, and after five
			// runs PostgreSQL may switch a prepared query to a generic plan.
			// That plan estimates any window at 0.5% of the table's facts and
			// reads them by index scan and nested loops. For a window of
			// 50,000 facts, that took 1.4 to 3.6 times as long per query as
			// the seq scans and hash joins of custom plans (PostgreSQL 15).
			"SET LOCAL plan_cache_mode = force_custom_plan",
		}
		batch := &pgx.Batch{}
		for _, statement := range setup {
			batch.Queue(statement)
		}
		for _, q := range queries {
			batch.Queue(q.sql, q.args...)
		}
		batch.Queue("COMMIT")

		// Closing the results reads what is left of them, COMMIT included,
		// so that the connection goes back to the pool outside the
		// transaction, also after an error.
		results := conn.SendBatch(ctx, batch)
		defer func() { _ = results.Close() }()

		for range setup {
			if _, err := results.Exec(); err != nil {
				return fmt.Errorf("read event facts of %s: %w", c.repo.Slug(), store.Classify(err))
			}
		}
		for _, q := range queries {
			rows, err := results.Query()
			if err != nil {
				return c.failed(q, err)
			}
			err = c.scan(q, rows)
			rows.Close()
			if err != nil {
				return err
			}
		}
		if err := results.Close(); err != nil {
			return fmt.Errorf("read event facts of %s: %w", c.repo.Slug(), store.Classify(err))
		}
		return nil
	})
}

// rows are the rows of a query, from database/sql or pgx.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

func (c *collector) scan(q query, rows rows) error {
	for rows.Next() {
		if err := rows.Scan(q.dest...); err != nil {
			return c.failed(q, err)
		}
		q.row()
	}
	if err := rows.Err(); err != nil {
		return c.failed(q, err)
	}
	return nil
}

func (c *collector) failed(q query, err error) error {
	return fmt.Errorf("read %s of %s: %w", q.name, c.repo.Slug(), store.Classify(err))
}

// entityArgs returns the arguments of an entity query: the repository's
// id, then those of windowFacts.
func (c *collector) entityArgs() []any {
	return append([]any{c.repo.ID}, c.window...)
}

// factIDs reads the facts' ids. SQLite returns them in the bundle's
// order, newest first with ties broken by id. PostgreSQL returns them
// with their times, for sortFacts.
func (c *collector) factIDs(d store.Dialect) query {
	var (
		id int64
		at store.Time
	)
	if d == store.Postgres {
		return query{name: "event facts", sql: c.queries.ids, args: c.window,
			dest: []any{&id, &at}, row: func() {
				c.facts = append(c.facts, fact{id: id, at: at.UnixMicro()})
			}}
	}
	return query{name: "event facts", sql: c.queries.ids, args: c.window, dest: []any{&id},
		row: func() { c.bundle.EventFactIDs = append(c.bundle.EventFactIDs, id) }}
}

// sortFacts puts the facts that the database returned unordered into the
// bundle in its order.
func (c *collector) sortFacts() {
	slices.SortFunc(c.facts, func(x, y fact) int {
		if n := cmp.Compare(y.at, x.at); n != 0 {
			return n
		}
		return cmp.Compare(y.id, x.id)
	})
	c.bundle.EventFactIDs = slices.Grow(c.bundle.EventFactIDs, len(c.facts))
	for _, f := range c.facts {
		c.bundle.EventFactIDs = append(c.bundle.EventFactIDs, f.id)
	}
}

func (c *collector) commits() query {
	var (
		sha                    string
		message, author, email sql.NullString
		committed              *store.Time
	)
	return query{name: "commits", sql: c.queries.commits, args: c.entityArgs(),
		dest: []any{&sha, &message, &author, &email, &committed}, row: func() {
			c.bundle.Commits = append(c.bundle.Commits, Commit{SHA: sha,
				Message: message.String, AuthorName: author.String, AuthorEmail: email.String,
				CommittedAt: timePtr(committed), WorkType: c.cls.Commit(message.String),
				IsMergeCommit: IsMergeCommit(message.String)})
		}}
}

func (c *collector) pullRequests() query {
	var (
		id, number     int64
		title, state   string
		author         sql.NullString
		labels         labelList
		created        store.Time
		merged, closed *store.Time
		draft          bool
	)
	return query{name: "pull requests", sql: c.queries.pullRequests, args: c.entityArgs(),
		dest: []any{&id, &number, &title, &author, &state, &labels, &created, &merged, &closed,
			&draft},
		row: func() {
			l := nonNil(labels)
			c.bundle.PullRequests = append(c.bundle.PullRequests, PullRequest{ID: id,
				Number: int(number), Title: title, AuthorLogin: author.String, State: state,
				Labels: l, CreatedAt: timePtr(&created), MergedAt: timePtr(merged),
				ClosedAt: timePtr(closed), WorkType: c.cls.Entity(l, title), IsDraft: draft})
		}}
}

func (c *collector) issues() query {
	var (
		id, number   int64
		title, state string
		author       sql.NullString
		labels       labelList
		created      store.Time
		closed       *store.Time
	)
	return query{name: "issues", sql: c.queries.issues, args: c.entityArgs(),
		dest: []any{&id, &number, &title, &author, &state, &labels, &created, &closed},
		row: func() {
			l := nonNil(labels)
			c.bundle.Issues = append(c.bundle.Issues, Issue{ID: id, Number: int(number),
				Title: title, AuthorLogin: author.String, State: state, Labels: l,
				CreatedAt: timePtr(&created), ClosedAt: timePtr(closed),
				WorkType: c.cls.Entity(l, title)})
		}}
}

func (c *collector) documentationChanges() query {
	var (
		path, change, sha string
		occurred          store.Time
		roadmap, adr      bool
	)
	return query{name: "documentation changes", sql: c.queries.documentationChanges,
		args: append(slices.Clip(c.window), c.repo.ID), dest: []any{&path, &change, &sha, &occurred, &roadmap, &adr},
		row: func() {
			c.bundle.DocumentationChanges = append(c.bundle.DocumentationChanges,
				DocumentationChange{Path: path, ChangeType: change, CommitSHA: sha,
					OccurredAt: occurred.UTC(), IsRoadmap: roadmap, IsADR: adr})
		}}
}

func timePtr(t *store.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// labelList is a labels column: a JSON array of strings. It decodes the
// usual case, ASCII strings without escapes, by hand, because
// encoding/json takes about seven times as long (700 ns against 100 ns for
// two labels, Go 1.26 on an AMD EPYC), and anything else with
// encoding/json.
type labelList []string

// Scan implements sql.Scanner.
func (l *labelList) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	case nil:
		*l = nil
		return nil
	default:
		return fmt.Errorf("labels column cannot hold %T", src)
	}

	if labels, ok := parseASCIILabels(text); ok {
		*l = labels
		return nil
	}
	var labels []string
	if err := json.Unmarshal([]byte(text), &labels); err != nil {
		return fmt.Errorf("decode labels %q: %w", text, err)
	}
	*l = labels
	return nil
}

// parseASCIILabels decodes a JSON array of strings whose characters are
// printable ASCII without backslashes. It returns false for anything
// else, valid JSON included.
func parseASCIILabels(s string) ([]string, bool) {
	i := skipJSONSpace(s, 0)
	if i == len(s) || s[i] != '[' {
		return nil, false
	}
	labels := []string{}
	i = skipJSONSpace(s, i+1)
	if i < len(s) && s[i] == ']' {
		return labels, skipJSONSpace(s, i+1) == len(s)
	}

	for {
		if i == len(s) || s[i] != '"' {
			return nil, false
		}
		end := i + 1
		for end < len(s) && s[end] != '"' {
			if c := s[end]; c == '\\' || c < 0x20 || c >= 0x80 {
				return nil, false
			}
			end++
		}
		if end == len(s) {
			return nil, false
		}
		labels = append(labels, s[i+1:end])

		i = skipJSONSpace(s, end+1)
		switch {
		case i == len(s):
			return nil, false
		case s[i] == ',':
			i = skipJSONSpace(s, i+1)
		case s[i] == ']':
			return labels, skipJSONSpace(s, i+1) == len(s)
		default:
			return nil, false
		}
	}
}

func skipJSONSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

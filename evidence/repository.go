package evidence

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/store"
)

// ErrRepositoryNotFound reports a bundle asked for a repository that is
// not in Silver.
var ErrRepositoryNotFound = errors.New("repository not found")

// Builder builds evidence bundles from Silver and Gold.
type Builder struct {
	db   *store.DB
	gold *gold.Store

	// Classifier decides work types; DefaultClassifier when nil.
	Classifier *Classifier

	// MaxPreviousReports is how many earlier reports a bundle carries;
	// 2 when zero.
	MaxPreviousReports int
}

// NewBuilder returns a builder reading db, which must be migrated.
func NewBuilder(db *store.DB) *Builder {
	return &Builder{db: db, gold: gold.NewStore(db)}
}

func (b *Builder) classifier() *Classifier {
	if b.Classifier != nil {
		return b.Classifier
	}
	return DefaultClassifier
}

func (b *Builder) maxPrevious() int {
	if b.MaxPreviousReports > 0 {
		return b.MaxPreviousReports
	}
	return 2
}

// Repository builds the bundle of a repository's window [start, end).
// It holds every event fact of the repository that no repository report
// covered yet, with occurred_at before end. The lower bound is start, or
// the start of the repository's first report when that is earlier, so
// an event that arrives after its window was reported goes into the next
// report instead of being lost.
func (b *Builder) Repository(ctx context.Context, repositoryID string,
	start, end time.Time) (*RepositoryBundle, error) {
	if !end.After(start) {
		return nil, fmt.Errorf("window %s to %s: the end must follow the start",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}

	repo, err := b.repository(ctx, repositoryID)
	if err != nil {
		return nil, err
	}
	bundle := &RepositoryBundle{Repository: repo, WindowStart: start.UTC(), WindowEnd: end.UTC(),
		PreviousReports: []PreviousReport{}, Commits: []Commit{}, PullRequests: []PullRequest{},
		Issues: []Issue{}, DocumentationChanges: []DocumentationChange{},
		WorkTypeGroups: []WorkTypeGroup{}, EventFactIDs: []int64{}}

	sub := gold.Subject{Scope: gold.ScopeRepository, ID: repositoryID}
	if bundle.PreviousReports, err = b.previous(ctx, sub, start); err != nil {
		return nil, err
	}

	lower, err := b.lowerBound(ctx, repositoryID, start)
	if err != nil {
		return nil, err
	}
	if err := b.collect(ctx, repo, lower, end, bundle); err != nil {
		return nil, err
	}

	b.group(bundle)
	return bundle, nil
}

func (b *Builder) repository(ctx context.Context, id string) (Repository, error) {
	var row struct {
		ID       string               `db:"id"`
		Owner    string               `db:"github_owner"`
		Name     string               `db:"github_name"`
		Branch   string               `db:"default_branch"`
		EstateID sql.NullString       `db:"estate_id"`
		Docs     store.JSON[[]string] `db:"documentation_paths"`
	}
	err := b.db.GetContext(ctx, &row, b.db.Rebind(`SELECT id, github_owner, github_name,
		default_branch, estate_id, documentation_paths FROM repositories WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Repository{}, fmt.Errorf("repository %s: %w", id, ErrRepositoryNotFound)
	}
	if err != nil {
		return Repository{}, fmt.Errorf("read repository %s: %w", id, store.Classify(err))
	}

	docs := row.Docs.V
	if docs == nil {
		docs = []string{}
	}
	return Repository{ID: row.ID, Owner: row.Owner, Name: row.Name, DefaultBranch: row.Branch,
		EstateID: row.EstateID.String, DocumentationPaths: docs}, nil
}

// previous returns the subject's reports whose windows ended by start,
// newest first.
func (b *Builder) previous(ctx context.Context, sub gold.Subject, start time.Time) ([]PreviousReport, error) {
	reports, err := b.gold.History(ctx, sub, start, b.maxPrevious(), 0)
	if err != nil {
		return nil, err
	}

	out := []PreviousReport{}
	for _, r := range reports {
		n, err := b.gold.CoverageCount(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, PreviousReport{ReportID: r.ID, WindowStart: r.WindowStart,
			WindowEnd: r.WindowEnd, Status: r.Summary.Status, Highlights: r.Summary.Highlights,
			Risks: r.Summary.Risks, EventCount: n})
	}
	return out, nil
}

// lowerBound returns the earliest occurred_at a window's facts may have:
// its start, or the start of the repository's first report if earlier.
func (b *Builder) lowerBound(ctx context.Context, repositoryID string, start time.Time) (time.Time, error) {
	var first *store.Time
	err := b.db.GetContext(ctx, &first, b.db.Rebind(`SELECT min(window_start) FROM reports
		WHERE scope = 'repository' AND repository_id = ?`), repositoryID)
	if err != nil {
		return time.Time{}, fmt.Errorf("read reports of repository %s: %w", repositoryID,
			store.Classify(err))
	}
	if first != nil && first.Before(start) {
		return first.Time, nil
	}
	return start, nil
}

// keyText returns the SQL for a payload key's value as text, from the
// payload column p.
func keyText(d store.Dialect, key string) string {
	if d == store.Postgres {
		return "p->>'" + key + "'"
	}
	return "json_extract(p, '$." + key + "')"
}

// keyID returns the SQL for a payload's pull request or issue id: a JSON
// integer, or a string of ASCII digits; NULL for anything else, a
// boolean included.
func keyID(d store.Dialect) string {
	if d == store.Postgres {
		return `CASE WHEN jsonb_typeof(p->'id') IN ('number', 'string')
			AND p->>'id' ~ '^[0-9]{1,18}$' THEN CAST(p->>'id' AS bigint) END`
	}
	return `CASE WHEN json_type(p, '$.id') = 'integer'
			OR (json_type(p, '$.id') = 'text' AND json_extract(p, '$.id') GLOB '[0-9]*'
				AND NOT json_extract(p, '$.id') GLOB '*[^0-9]*'
				AND length(json_extract(p, '$.id')) <= 18)
			THEN CAST(json_extract(p, '$.id') AS INTEGER) END`
}

// factsQuery reads the window's uncovered facts, newest first, each
// joined to the Silver entity it names. A subquery reads the keys from
// each payload once, and the joins use them. Joining in the database
// reads every entity in one pass over the facts, where lists of keys
// would take a query per few hundred entities.
func factsQuery(d store.Dialect) string {
	// SQLite reads the facts in index order, so ordering them costs
	// little; PostgreSQL would sort the wide joined rows, so the facts are
	// sorted in Go instead.
	payload, materialized := "ef.payload", ""
	order := "\n\tORDER BY f.occurred_at DESC, f.id DESC"
	if d == store.Postgres {
		payload, materialized, order = "CAST(ef.payload AS jsonb)", "MATERIALIZED", ""
	}

	return `WITH f AS ` + materialized + ` (
		SELECT id, event_type, occurred_at,
			CASE WHEN event_type = 'github.commit' THEN ` + keyText(d, "sha") + `
				WHEN event_type = 'github.doc_change' THEN ` + keyText(d, "commit_sha") + ` END AS sha,
			CASE WHEN event_type IN ('github.pull_request', 'github.issue') THEN ` + keyID(d) + `
				END AS entity_id,
			CASE WHEN event_type = 'github.doc_change' THEN ` + keyText(d, "path") + ` END AS path
		FROM (SELECT ef.id, ef.event_type, ef.occurred_at, ` + payload + ` AS p
			FROM event_facts ef
			WHERE ef.repo_external_id = ? AND ef.occurred_at >= ? AND ef.occurred_at < ?
			AND NOT EXISTS (
				SELECT 1 FROM report_coverage rc JOIN reports r ON r.id = rc.report_id
				WHERE rc.event_fact_id = ef.id AND r.scope = 'repository' AND r.repository_id = ?)
		) facts
	)
	SELECT f.id, f.occurred_at, f.event_type,
		c.sha, c.message, c.author_name, c.author_email, c.committed_at,
		pr.id, pr.number, pr.title, pr.author_login, pr.state, pr.labels, pr.created_at,
		pr.merged_at, pr.closed_at, pr.is_draft,
		i.id, i.number, i.title, i.author_login, i.state, i.labels, i.created_at, i.closed_at,
		d.path, d.change_type, d.commit_sha, d.occurred_at, d.is_roadmap, d.is_adr
	FROM f
	LEFT JOIN commits c ON f.event_type = 'github.commit' AND c.repo_id = ? AND c.sha = f.sha
	LEFT JOIN pull_requests pr ON f.event_type = 'github.pull_request' AND pr.repo_id = ?
		AND pr.id = f.entity_id
	LEFT JOIN issues i ON f.event_type = 'github.issue' AND i.repo_id = ? AND i.id = f.entity_id
	LEFT JOIN documentation_changes d ON f.event_type = 'github.doc_change' AND d.repo_id = ?
		AND d.commit_sha = f.sha AND d.path = f.path` + order
}

// factRow is a row of factsQuery.
type factRow struct {
	id        int64
	occurred  store.Time
	eventType string

	sha, message, authorName, authorEmail sql.NullString
	committedAt                           *store.Time

	prID                          sql.NullInt64
	prNumber                      sql.NullInt64
	prTitle, prAuthor, prState    sql.NullString
	prLabels                      store.JSON[[]string]
	prCreated, prMerged, prClosed *store.Time
	prDraft                       sql.NullBool

	issueID                             sql.NullInt64
	issueNumber                         sql.NullInt64
	issueTitle, issueAuthor, issueState sql.NullString
	issueLabels                         store.JSON[[]string]
	issueCreated, issueClosed           *store.Time

	docPath, docChange, docCommit sql.NullString
	docOccurred                   *store.Time
	docRoadmap, docADR            sql.NullBool
}

func (r *factRow) dest() []any {
	return []any{&r.id, &r.occurred, &r.eventType,
		&r.sha, &r.message, &r.authorName, &r.authorEmail, &r.committedAt,
		&r.prID, &r.prNumber, &r.prTitle, &r.prAuthor, &r.prState, &r.prLabels, &r.prCreated,
		&r.prMerged, &r.prClosed, &r.prDraft,
		&r.issueID, &r.issueNumber, &r.issueTitle, &r.issueAuthor, &r.issueState, &r.issueLabels,
		&r.issueCreated, &r.issueClosed,
		&r.docPath, &r.docChange, &r.docCommit, &r.docOccurred, &r.docRoadmap, &r.docADR}
}

// collect reads the window's uncovered facts and the entities they
// name into the bundle. Every fact's id is kept, also when it names no
// entity Silver has; an entity named by several facts is kept once.
func (b *Builder) collect(ctx context.Context, repo Repository, lower, end time.Time,
	bundle *RepositoryBundle) error {
	query := b.db.Rebind(factsQuery(b.db.Dialect()))
	args := []any{repo.Slug(), store.NewTime(lower), store.NewTime(end),
		repo.ID, repo.ID, repo.ID, repo.ID, repo.ID}
	if b.db.Dialect() != store.Postgres {
		rows, err := b.db.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
		}
		defer rows.Close()
		return b.scanFacts(rows, repo, bundle)
	}

	// PostgreSQL would compile this query (JIT) and sort through disk with
	// its default memory: both cost more than the query on a large window.
	tx, err := b.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'"); err != nil {
		return fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
	}
	defer rows.Close()
	return b.scanFacts(rows, repo, bundle)
}

// scanFacts reads the rows of factsQuery into the bundle.
func (b *Builder) scanFacts(rows *sql.Rows, repo Repository, bundle *RepositoryBundle) error {
	type fact struct {
		id int64
		at time.Time
	}
	var facts []fact

	cls := b.classifier()
	seen := map[string]bool{}
	once := func(key string) bool {
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}

	for rows.Next() {
		var r factRow
		if err := rows.Scan(r.dest()...); err != nil {
			return fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
		}
		facts = append(facts, fact{r.id, r.occurred.Time})

		switch {
		case r.sha.Valid && once("c:"+r.sha.String):
			bundle.Commits = append(bundle.Commits, Commit{SHA: r.sha.String,
				Message: r.message.String, AuthorName: r.authorName.String,
				AuthorEmail: r.authorEmail.String, CommittedAt: timePtr(r.committedAt),
				WorkType: cls.Commit(r.message.String), IsMergeCommit: IsMergeCommit(r.message.String)})
		case r.prID.Valid && once("p:"+strconv.FormatInt(r.prID.Int64, 10)):
			labels := nonNil(r.prLabels.V)
			bundle.PullRequests = append(bundle.PullRequests, PullRequest{ID: r.prID.Int64,
				Number: int(r.prNumber.Int64), Title: r.prTitle.String, AuthorLogin: r.prAuthor.String,
				State: r.prState.String, Labels: labels, CreatedAt: timePtr(r.prCreated),
				MergedAt: timePtr(r.prMerged), ClosedAt: timePtr(r.prClosed),
				WorkType: cls.Entity(labels, r.prTitle.String), IsDraft: r.prDraft.Bool})
		case r.issueID.Valid && once("i:"+strconv.FormatInt(r.issueID.Int64, 10)):
			labels := nonNil(r.issueLabels.V)
			bundle.Issues = append(bundle.Issues, Issue{ID: r.issueID.Int64,
				Number: int(r.issueNumber.Int64), Title: r.issueTitle.String,
				AuthorLogin: r.issueAuthor.String, State: r.issueState.String, Labels: labels,
				CreatedAt: timePtr(r.issueCreated), ClosedAt: timePtr(r.issueClosed),
				WorkType: cls.Entity(labels, r.issueTitle.String)})
		case r.docPath.Valid && once("d:"+r.docCommit.String+"\x00"+r.docPath.String):
			var occurred time.Time
			if r.docOccurred != nil {
				occurred = r.docOccurred.UTC()
			}
			bundle.DocumentationChanges = append(bundle.DocumentationChanges, DocumentationChange{
				Path: r.docPath.String, ChangeType: r.docChange.String, CommitSHA: r.docCommit.String,
				OccurredAt: occurred, IsRoadmap: r.docRoadmap.Bool, IsADR: r.docADR.Bool})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
	}

	// Newest first, as the facts are sorted here rather than by the
	// database, which would sort whole joined rows.
	slices.SortFunc(facts, func(x, y fact) int {
		if n := y.at.Compare(x.at); n != 0 {
			return n
		}
		return cmp.Compare(y.id, x.id)
	})
	for _, f := range facts {
		bundle.EventFactIDs = append(bundle.EventFactIDs, f.id)
	}
	sortEntities(bundle)
	return nil
}

func timePtr(t *store.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// sortEntities puts the bundle's entities in its order: newest first,
// ties broken by key, so the same data gives the same bundle.
func sortEntities(bundle *RepositoryBundle) {
	slices.SortFunc(bundle.Commits, func(a, c Commit) int {
		return newestFirst(a.CommittedAt, c.CommittedAt, a.SHA, c.SHA)
	})
	slices.SortFunc(bundle.PullRequests, func(a, c PullRequest) int {
		return newestFirst(a.CreatedAt, c.CreatedAt, strconv.FormatInt(a.ID, 10),
			strconv.FormatInt(c.ID, 10))
	})
	slices.SortFunc(bundle.Issues, func(a, c Issue) int {
		return newestFirst(a.CreatedAt, c.CreatedAt, strconv.FormatInt(a.ID, 10),
			strconv.FormatInt(c.ID, 10))
	})
	slices.SortFunc(bundle.DocumentationChanges, func(a, c DocumentationChange) int {
		if n := c.OccurredAt.Compare(a.OccurredAt); n != 0 {
			return n
		}
		return strings.Compare(a.CommitSHA+"\x00"+a.Path, c.CommitSHA+"\x00"+c.Path)
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// newestFirst orders by time descending, missing times last, then by key.
func newestFirst(a, c *time.Time, keyA, keyC string) int {
	switch {
	case a != nil && c != nil:
		if n := c.Compare(*a); n != 0 {
			return n
		}
	case a != nil:
		return -1
	case c != nil:
		return 1
	}
	return strings.Compare(keyA, keyC)
}

// sampleTitle is the first line of a commit message, at most 100
// characters, so a multi-line message cannot break a prompt's layout.
func sampleTitle(message string) string {
	line, _, _ := strings.Cut(message, "\n")
	line = strings.TrimSpace(line)
	if r := []rune(line); len(r) > 100 {
		line = string(r[:100])
	}
	return line
}

// group counts the bundle's commits (merges aside), pull requests and
// issues by work type.
func (b *Builder) group(bundle *RepositoryBundle) {
	groups := map[WorkType]*WorkTypeGroup{}
	for _, t := range WorkTypes {
		groups[t] = &WorkTypeGroup{WorkType: t, SampleTitles: []string{}}
	}
	addTitle := func(g *WorkTypeGroup, title string) {
		if title != "" && len(g.SampleTitles) < 5 {
			g.SampleTitles = append(g.SampleTitles, title)
		}
	}

	for _, c := range bundle.Commits {
		if c.IsMergeCommit {
			continue
		}
		g := groups[c.WorkType]
		g.CommitCount++
		addTitle(g, sampleTitle(c.Message))
	}
	for _, p := range bundle.PullRequests {
		g := groups[p.WorkType]
		g.PRCount++
		addTitle(g, p.Title)
	}
	for _, i := range bundle.Issues {
		g := groups[i.WorkType]
		g.IssueCount++
		addTitle(g, i.Title)
	}

	for _, t := range WorkTypes {
		if g := groups[t]; g.Total() > 0 {
			bundle.WorkTypeGroups = append(bundle.WorkTypeGroups, *g)
		}
	}
}

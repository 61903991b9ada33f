package evidence

import (
	"context"
	"database/sql"
	"encoding/json"
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

// chunk is how many keys one IN list holds, well under the bind
// parameter limits of SQLite and PostgreSQL.
const chunk = 500

// Repository builds the bundle of a repository's window [start, end).
// It holds every event fact of the repository that no repository report
// covered yet, with occurred_at before end. The lower bound is start, or
// the start of the repository's first report when that is earlier, so
// an event that arrives after its window was reported goes into the next
// report instead of being lost.
func (b *Builder) Repository(ctx context.Context, repositoryID string, start, end time.Time) (*RepositoryBundle, error) {
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
	targets, err := b.uncoveredFacts(ctx, repo, lower, end, bundle)
	if err != nil {
		return nil, err
	}
	if err := b.fetchEntities(ctx, repositoryID, targets, bundle); err != nil {
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

// targets are the Silver entities the window's facts name.
type targets struct {
	shas   []string
	prs    []int64
	issues []int64
	docs   [][2]string
	seen   map[string]bool
}

func (t *targets) add(key string) bool {
	if t.seen[key] {
		return false
	}
	t.seen[key] = true
	return true
}

// factPayload holds the fields of a fact's payload that name its entity.
type factPayload struct {
	SHA       any `json:"sha"`
	ID        any `json:"id"`
	CommitSHA any `json:"commit_sha"`
	Path      any `json:"path"`
}

// entityID reads a pull request or issue id: a JSON integer, or a string
// of ASCII digits.
func entityID(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		n, err := t.Int64()
		return n, err == nil
	case string:
		if t == "" || strings.TrimLeft(t, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(t, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// uncoveredFacts reads the window's facts that no repository report of
// the repository covered, newest first, records their ids in the bundle
// and returns the entities they name.
func (b *Builder) uncoveredFacts(ctx context.Context, repo Repository, lower, end time.Time,
	bundle *RepositoryBundle) (*targets, error) {
	rows, err := b.db.QueryContext(ctx, b.db.Rebind(`
		SELECT ef.id, ef.event_type, ef.payload FROM event_facts ef
		WHERE ef.repo_external_id = ? AND ef.occurred_at >= ? AND ef.occurred_at < ?
		AND NOT EXISTS (
			SELECT 1 FROM report_coverage rc JOIN reports r ON r.id = rc.report_id
			WHERE rc.event_fact_id = ef.id AND r.scope = 'repository' AND r.repository_id = ?)
		ORDER BY ef.occurred_at DESC, ef.id DESC`),
		repo.Slug(), store.NewTime(lower), store.NewTime(end), repo.ID)
	if err != nil {
		return nil, fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
	}
	defer rows.Close()

	t := &targets{seen: map[string]bool{}}
	for rows.Next() {
		var (
			id        int64
			eventType string
			payload   []byte
		)
		if err := rows.Scan(&id, &eventType, &payload); err != nil {
			return nil, fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
		}
		bundle.EventFactIDs = append(bundle.EventFactIDs, id)

		var p factPayload
		dec := json.NewDecoder(strings.NewReader(string(payload)))
		dec.UseNumber()
		if dec.Decode(&p) != nil {
			continue // the fact is still covered; it names no entity
		}
		switch eventType {
		case "github.commit":
			if sha, ok := p.SHA.(string); ok && t.add("c:"+sha) {
				t.shas = append(t.shas, sha)
			}
		case "github.pull_request":
			if n, ok := entityID(p.ID); ok && t.add("p:"+strconv.FormatInt(n, 10)) {
				t.prs = append(t.prs, n)
			}
		case "github.issue":
			if n, ok := entityID(p.ID); ok && t.add("i:"+strconv.FormatInt(n, 10)) {
				t.issues = append(t.issues, n)
			}
		case "github.doc_change":
			sha, okSHA := p.CommitSHA.(string)
			path, okPath := p.Path.(string)
			if okSHA && okPath && t.add("d:"+sha+"\x00"+path) {
				t.docs = append(t.docs, [2]string{sha, path})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read event facts of %s: %w", repo.Slug(), store.Classify(err))
	}
	return t, nil
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func chunks[T any](items []T) [][]T {
	var out [][]T
	for start := 0; start < len(items); start += chunk {
		out = append(out, items[start:min(start+chunk, len(items))])
	}
	return out
}

func anySlice[T any](items []T) []any {
	out := make([]any, len(items))
	for i, v := range items {
		out[i] = v
	}
	return out
}

func timePtr(t *store.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// fetchEntities reads the named entities of the repository from Silver,
// in the bundle's order: newest first, ties broken by key.
func (b *Builder) fetchEntities(ctx context.Context, repoID string, t *targets, bundle *RepositoryBundle) error {
	cls := b.classifier()
	for _, part := range chunks(t.shas) {
		var rows []struct {
			SHA         string         `db:"sha"`
			Message     sql.NullString `db:"message"`
			AuthorName  sql.NullString `db:"author_name"`
			AuthorEmail sql.NullString `db:"author_email"`
			CommittedAt *store.Time    `db:"committed_at"`
		}
		err := b.db.SelectContext(ctx, &rows, b.db.Rebind(`SELECT sha, message, author_name,
			author_email, committed_at FROM commits WHERE repo_id = ? AND sha IN (`+
			placeholders(len(part))+`)`), append([]any{repoID}, anySlice(part)...)...)
		if err != nil {
			return fmt.Errorf("read commits: %w", store.Classify(err))
		}
		for _, r := range rows {
			bundle.Commits = append(bundle.Commits, Commit{SHA: r.SHA, Message: r.Message.String,
				AuthorName: r.AuthorName.String, AuthorEmail: r.AuthorEmail.String,
				CommittedAt: timePtr(r.CommittedAt), WorkType: cls.Commit(r.Message.String),
				IsMergeCommit: IsMergeCommit(r.Message.String)})
		}
	}
	slices.SortFunc(bundle.Commits, func(a, c Commit) int {
		return newestFirst(a.CommittedAt, c.CommittedAt, a.SHA, c.SHA)
	})

	for _, part := range chunks(t.prs) {
		var rows []struct {
			ID          int64                `db:"id"`
			Number      int                  `db:"number"`
			Title       string               `db:"title"`
			AuthorLogin sql.NullString       `db:"author_login"`
			State       string               `db:"state"`
			Labels      store.JSON[[]string] `db:"labels"`
			CreatedAt   *store.Time          `db:"created_at"`
			MergedAt    *store.Time          `db:"merged_at"`
			ClosedAt    *store.Time          `db:"closed_at"`
			IsDraft     bool                 `db:"is_draft"`
		}
		err := b.db.SelectContext(ctx, &rows, b.db.Rebind(`SELECT id, number, title, author_login,
			state, labels, created_at, merged_at, closed_at, is_draft FROM pull_requests
			WHERE repo_id = ? AND id IN (`+placeholders(len(part))+`)`),
			append([]any{repoID}, anySlice(part)...)...)
		if err != nil {
			return fmt.Errorf("read pull requests: %w", store.Classify(err))
		}
		for _, r := range rows {
			labels := nonNil(r.Labels.V)
			bundle.PullRequests = append(bundle.PullRequests, PullRequest{ID: r.ID,
				Number: r.Number, Title: r.Title, AuthorLogin: r.AuthorLogin.String,
				State: r.State, Labels: labels, CreatedAt: timePtr(r.CreatedAt),
				MergedAt: timePtr(r.MergedAt), ClosedAt: timePtr(r.ClosedAt),
				WorkType: cls.Entity(labels, r.Title), IsDraft: r.IsDraft})
		}
	}
	slices.SortFunc(bundle.PullRequests, func(a, c PullRequest) int {
		return newestFirst(a.CreatedAt, c.CreatedAt, strconv.FormatInt(a.ID, 10),
			strconv.FormatInt(c.ID, 10))
	})

	for _, part := range chunks(t.issues) {
		var rows []struct {
			ID          int64                `db:"id"`
			Number      int                  `db:"number"`
			Title       string               `db:"title"`
			AuthorLogin sql.NullString       `db:"author_login"`
			State       string               `db:"state"`
			Labels      store.JSON[[]string] `db:"labels"`
			CreatedAt   *store.Time          `db:"created_at"`
			ClosedAt    *store.Time          `db:"closed_at"`
		}
		err := b.db.SelectContext(ctx, &rows, b.db.Rebind(`SELECT id, number, title, author_login,
			state, labels, created_at, closed_at FROM issues
			WHERE repo_id = ? AND id IN (`+placeholders(len(part))+`)`),
			append([]any{repoID}, anySlice(part)...)...)
		if err != nil {
			return fmt.Errorf("read issues: %w", store.Classify(err))
		}
		for _, r := range rows {
			labels := nonNil(r.Labels.V)
			bundle.Issues = append(bundle.Issues, Issue{ID: r.ID, Number: r.Number,
				Title: r.Title, AuthorLogin: r.AuthorLogin.String, State: r.State,
				Labels: labels, CreatedAt: timePtr(r.CreatedAt), ClosedAt: timePtr(r.ClosedAt),
				WorkType: cls.Entity(labels, r.Title)})
		}
	}
	slices.SortFunc(bundle.Issues, func(a, c Issue) int {
		return newestFirst(a.CreatedAt, c.CreatedAt, strconv.FormatInt(a.ID, 10),
			strconv.FormatInt(c.ID, 10))
	})

	return b.fetchDocs(ctx, repoID, t.docs, bundle)
}

func (b *Builder) fetchDocs(ctx context.Context, repoID string, keys [][2]string, bundle *RepositoryBundle) error {
	for _, part := range chunks(keys) {
		conds := make([]string, len(part))
		args := []any{repoID}
		for i, k := range part {
			conds[i] = "(commit_sha = ? AND path = ?)"
			args = append(args, k[0], k[1])
		}
		var rows []struct {
			Path       string     `db:"path"`
			ChangeType string     `db:"change_type"`
			CommitSHA  string     `db:"commit_sha"`
			OccurredAt store.Time `db:"occurred_at"`
			IsRoadmap  bool       `db:"is_roadmap"`
			IsADR      bool       `db:"is_adr"`
		}
		err := b.db.SelectContext(ctx, &rows, b.db.Rebind(`SELECT path, change_type, commit_sha,
			occurred_at, is_roadmap, is_adr FROM documentation_changes
			WHERE repo_id = ? AND (`+strings.Join(conds, " OR ")+`)`), args...)
		if err != nil {
			return fmt.Errorf("read documentation changes: %w", store.Classify(err))
		}
		for _, r := range rows {
			bundle.DocumentationChanges = append(bundle.DocumentationChanges, DocumentationChange{
				Path: r.Path, ChangeType: r.ChangeType, CommitSHA: r.CommitSHA,
				OccurredAt: r.OccurredAt.UTC(), IsRoadmap: r.IsRoadmap, IsADR: r.IsADR})
		}
	}
	slices.SortFunc(bundle.DocumentationChanges, func(a, c DocumentationChange) int {
		if n := c.OccurredAt.Compare(a.OccurredAt); n != 0 {
			return n
		}
		return strings.Compare(a.CommitSHA+"\x00"+a.Path, c.CommitSHA+"\x00"+c.Path)
	})
	return nil
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

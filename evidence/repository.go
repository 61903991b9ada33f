package evidence

import (
	"bytes"
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

// sortEntities puts the bundle's entities in its order: newest first,
// ties broken by key, so the same data gives the same bundle.
func sortEntities(bundle *RepositoryBundle) {
	slices.SortFunc(bundle.Commits, func(a, c Commit) int {
		if n := newestFirst(a.CommittedAt, c.CommittedAt); n != 0 {
			return n
		}
		return strings.Compare(a.SHA, c.SHA)
	})
	slices.SortFunc(bundle.PullRequests, func(a, c PullRequest) int {
		if n := newestFirst(a.CreatedAt, c.CreatedAt); n != 0 {
			return n
		}
		return compareDecimal(a.ID, c.ID)
	})
	slices.SortFunc(bundle.Issues, func(a, c Issue) int {
		if n := newestFirst(a.CreatedAt, c.CreatedAt); n != 0 {
			return n
		}
		return compareDecimal(a.ID, c.ID)
	})
	slices.SortFunc(bundle.DocumentationChanges, func(a, c DocumentationChange) int {
		if n := c.OccurredAt.Compare(a.OccurredAt); n != 0 {
			return n
		}
		return compareJoined(a.CommitSHA, a.Path, c.CommitSHA, c.Path)
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// newestFirst orders by time descending, missing times last. It returns
// 0 for equal times, which the caller breaks by key.
func newestFirst(a, c *time.Time) int {
	switch {
	case a != nil && c != nil:
		return c.Compare(*a)
	case a != nil:
		return -1
	case c != nil:
		return 1
	}
	return 0
}

// compareDecimal compares two ids as their decimal texts compare, which
// is the bundle's order for ids, without allocating the texts.
func compareDecimal(a, c int64) int {
	var bufA, bufC [20]byte
	return bytes.Compare(strconv.AppendInt(bufA[:0], a, 10), strconv.AppendInt(bufC[:0], c, 10))
}

// compareJoined compares shaA+"\x00"+pathA with shaC+"\x00"+pathC, and
// joins them only when a SHA holds a NUL, which no Git SHA does.
func compareJoined(shaA, pathA, shaC, pathC string) int {
	switch {
	case shaA == shaC:
		return strings.Compare(pathA, pathC)
	case strings.IndexByte(shaA, 0) < 0 && strings.IndexByte(shaC, 0) < 0:
		// The joined texts then first differ within the SHAs, or at the
		// shorter SHA's NUL, which sorts before the longer SHA's next byte.
		// Either way the SHAs alone decide.
		return strings.Compare(shaA, shaC)
	}
	return strings.Compare(shaA+"\x00"+pathA, shaC+"\x00"+pathC)
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

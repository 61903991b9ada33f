package ingest_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ghillie/ghillie/ingest"
)

// fakeGitHub serves the port from memory, paging the way GitHub does.
// History runs newest first, filtered by commit time and path. Pull
// requests and issues run newest updated first with keyset cursors, so
// an item updated between pages moves without another being skipped.
type fakeGitHub struct {
	mu sync.Mutex

	branch    string // the branch that exists; GitHub's default
	commits   []fakeCommit
	prs       []ingest.PullRequest
	issues    []ingest.Issue
	forbidden map[string]bool // stream name -> return FORBIDDEN
	failures  map[int]error   // Activity call number (from 1) -> error
	before    func(call int)  // runs before each Activity call returns

	queries   []ingest.ActivityQuery
	fileCalls []string
	compares  []string

	fileErrors map[string]error // commit -> CommitFiles error
}

type fakeCommit struct {
	ingest.Commit
	files []ingest.ChangedFile
}

func newFakeGitHub() *fakeGitHub {
	return &fakeGitHub{branch: "main", forbidden: map[string]bool{}, failures: map[int]error{}}
}

func (f *fakeGitHub) addCommit(oid string, at time.Time, author string, files ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()

	c := fakeCommit{Commit: ingest.Commit{OID: oid, Message: "change " + oid,
		AuthoredDate: at, CommittedDate: at, Author: &ingest.GitActor{Name: author,
			Email: author + "@example.invalid"}}}
	for _, p := range files {
		c.files = append(c.files, ingest.ChangedFile{Path: p, Status: "modified"})
	}
	f.commits = append(f.commits, c)
	slices.SortStableFunc(f.commits, func(a, b fakeCommit) int {
		return b.CommittedDate.Compare(a.CommittedDate)
	})
}

// putPR adds a pull request or replaces the one with its id.
// pushCommit puts a commit on top of the branch whatever its date, as a
// push of an older local commit or a merge does.
func (f *fakeGitHub) pushCommit(oid string, at time.Time, files ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()

	c := fakeCommit{Commit: ingest.Commit{OID: oid, Message: "late " + oid, AuthoredDate: at,
		CommittedDate: at, Author: &ingest.GitActor{Name: "dev", Email: "dev@example.invalid"}}}
	for _, p := range files {
		c.files = append(c.files, ingest.ChangedFile{Path: p, Status: "added"})
	}
	f.commits = append([]fakeCommit{c}, f.commits...)
}

// rewrite replaces the branch's history, as a force push does.
func (f *fakeGitHub) rewrite(oids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()

	var kept []fakeCommit
	for _, c := range f.commits {
		if slices.Contains(oids, c.OID) {
			kept = append(kept, c)
		}
	}
	f.commits = kept
}

func (f *fakeGitHub) putPR(pr ingest.PullRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()

	i := slices.IndexFunc(f.prs, func(p ingest.PullRequest) bool { return p.DatabaseID == pr.DatabaseID })
	if i >= 0 {
		f.prs[i] = pr
		return
	}
	f.prs = append(f.prs, pr)
}

func (f *fakeGitHub) putIssue(is ingest.Issue) {
	f.mu.Lock()
	defer f.mu.Unlock()

	i := slices.IndexFunc(f.issues, func(x ingest.Issue) bool { return x.DatabaseID == is.DatabaseID })
	if i >= 0 {
		f.issues[i] = is
		return
	}
	f.issues = append(f.issues, is)
}

func (f *fakeGitHub) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

func (f *fakeGitHub) lastQuery() ingest.ActivityQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[len(f.queries)-1]
}

func (f *fakeGitHub) Activity(ctx context.Context, q ingest.ActivityQuery) (*ingest.Activity, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}

	f.mu.Lock()
	f.queries = append(f.queries, q)
	call := len(f.queries)
	before := f.before
	f.mu.Unlock()
	if before != nil {
		before(call)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failures[call]; err != nil {
		return nil, err
	}

	act := &ingest.Activity{DefaultBranch: f.branch, Cost: ingest.Cost{Requests: 1, Points: 1,
		Remaining: 4999}}
	branch := cmp.Or(q.Branch, f.branch)
	act.BranchFound = branch == f.branch && f.branch != ""

	if act.BranchFound && len(f.commits) > 0 && (q.Commits != nil || len(q.Docs) > 0) {
		act.HeadOID = f.commits[0].OID
	}
	if q.Commits != nil && act.BranchFound {
		act.Commits = f.history(q.Commits, "")
	}
	if q.PullRequests != nil {
		if f.forbidden["pull_request"] {
			act.Errors = append(act.Errors, forbiddenError("pull_request", "repository.pullRequests"))
		} else {
			act.PullRequests = f.pullRequests(q.PullRequests)
		}
	}
	if q.Issues != nil {
		if f.forbidden["issue"] {
			act.Errors = append(act.Errors, forbiddenError("issue", "repository.issues"))
		} else {
			act.Issues = f.issuePage(q.Issues)
		}
	}
	if act.BranchFound {
		for _, d := range q.Docs {
			act.Docs = append(act.Docs, f.history(&d.Page, d.Path))
		}
	}
	return act, nil
}

func forbiddenError(stream, path string) ingest.PartialError {
	return ingest.PartialError{Stream: stream, Path: path, Type: "FORBIDDEN",
		Message: "Resource not accessible by integration"}
}

func touches(files []ingest.ChangedFile, path string) bool {
	if path == "" {
		return true
	}
	for _, f := range files {
		if f.Path == path || strings.HasPrefix(f.Path, path+"/") {
			return true
		}
	}
	return false
}

func (f *fakeGitHub) history(p *ingest.Page, path string) *ingest.CommitPage {
	var matching []ingest.Commit
	for _, c := range f.commits {
		if !c.CommittedDate.Before(p.Since) && touches(c.files, path) {
			c.Cursor = "c:" + c.OID
			matching = append(matching, c.Commit)
		}
	}

	start := 0
	if p.After != "" {
		start = slices.IndexFunc(matching, func(c ingest.Commit) bool { return c.Cursor == p.After }) + 1
	}
	end := min(start+p.First, len(matching))
	page := &ingest.CommitPage{Commits: slices.Clone(matching[start:end])}
	page.HasNextPage = end < len(matching)
	if end > start {
		page.EndCursor = matching[end-1].Cursor
	}
	return page
}

// keyset orders items newest updated first, then by id, and encodes the
// position after an item.
func keyset(updated time.Time, id int64) string {
	return fmt.Sprintf("%s|%d", updated.UTC().Format(time.RFC3339Nano), id)
}

func afterKey(updated time.Time, id int64, cursor string) bool {
	if cursor == "" {
		return true
	}
	at, idText, _ := strings.Cut(cursor, "|")
	t, _ := time.Parse(time.RFC3339Nano, at)
	var cid int64
	fmt.Sscan(idText, &cid)
	return updated.Before(t) || updated.Equal(t) && id < cid
}

func (f *fakeGitHub) pullRequests(p *ingest.Page) *ingest.PullRequestPage {
	prs := slices.Clone(f.prs)
	slices.SortFunc(prs, func(a, b ingest.PullRequest) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.DatabaseID, a.DatabaseID))
	})

	page := &ingest.PullRequestPage{}
	for _, pr := range prs {
		if !afterKey(pr.UpdatedAt, pr.DatabaseID, p.After) {
			continue
		}
		if len(page.PullRequests) == p.First {
			page.HasNextPage = true
			break
		}
		pr.Cursor = keyset(pr.UpdatedAt, pr.DatabaseID)
		page.PullRequests = append(page.PullRequests, pr)
		page.EndCursor = pr.Cursor
	}
	return page
}

func (f *fakeGitHub) issuePage(p *ingest.Page) *ingest.IssuePage {
	issues := slices.Clone(f.issues)
	slices.SortFunc(issues, func(a, b ingest.Issue) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.DatabaseID, a.DatabaseID))
	})

	page := &ingest.IssuePage{}
	for _, is := range issues {
		if is.UpdatedAt.Before(p.Since) || !afterKey(is.UpdatedAt, is.DatabaseID, p.After) {
			continue
		}
		if len(page.Issues) == p.First {
			page.HasNextPage = true
			break
		}
		is.Cursor = keyset(is.UpdatedAt, is.DatabaseID)
		page.Issues = append(page.Issues, is)
		page.EndCursor = is.Cursor
	}
	return page
}

// Compare lists the commits above base on the branch, oldest first, or
// reports ErrNotFound when base is not on it.
func (f *fakeGitHub) Compare(ctx context.Context, owner, name, base, head string,
	page int) (*ingest.Comparison, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.compares = append(f.compares, base+"..."+head)
	i := slices.IndexFunc(f.commits, func(c fakeCommit) bool { return c.OID == base })
	if i < 0 {
		return nil, fmt.Errorf("commit %s: %w", base, ingest.ErrNotFound)
	}
	var newer []ingest.Commit
	for j := i - 1; j >= 0; j-- {
		newer = append(newer, f.commits[j].Commit)
	}
	start := (page - 1) * ingest.ComparePageSize
	end := min(start+ingest.ComparePageSize, len(newer))
	cmp := &ingest.Comparison{Status: "ahead", TotalCommits: len(newer), Requests: 1,
		HasNextPage: end < len(newer)}
	if len(newer) == 0 {
		cmp.Status = "identical"
	}
	if start < end {
		cmp.Commits = newer[start:end]
	}
	return cmp, nil
}

func (f *fakeGitHub) CommitFiles(ctx context.Context, owner, name, sha string) (*ingest.CommitFiles, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.fileCalls = append(f.fileCalls, sha)
	if err := f.fileErrors[sha]; err != nil {
		return nil, err
	}
	for _, c := range f.commits {
		if c.OID == sha {
			return &ingest.CommitFiles{Files: slices.Clone(c.files), Requests: 1}, nil
		}
	}
	return nil, fmt.Errorf("commit %s: %w", sha, ingest.ErrNotFound)
}

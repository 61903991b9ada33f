package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// GitHubClient is the worker's view of GitHub. The adapter in
// adapters/githubapi implements it on GitHub's GraphQL and REST APIs,
// waiting out rate limits and retrying transient failures itself, so an
// error it returns is final for the request.
type GitHubClient interface {
	// Activity reads one page of each requested stream of a repository
	// in a single GraphQL request.
	Activity(ctx context.Context, q ActivityQuery) (*Activity, error)

	// CommitFiles lists the files a commit changed. GraphQL has no file
	// lists, so the worker calls it only for commits that may have
	// touched a documentation glob.
	CommitFiles(ctx context.Context, owner, name, sha string) (*CommitFiles, error)

	// Compare lists the commits reachable from head but not from base,
	// oldest first, one page at a time (page counts from 1). Unlike a
	// history filtered by time, it finds commits whose dates are older
	// than the last run, such as those a merge or a late push brings.
	Compare(ctx context.Context, owner, name, base, head string, page int) (*Comparison, error)
}

// Comparison is one page of the commits between two commits.
type Comparison struct {
	// Status is GitHub's: "ahead" (head descends from base),
	// "identical", "behind" or "diverged" (base is not an ancestor of
	// head, as after a force push).
	Status string

	// TotalCommits is the number of commits reachable from head but not
	// from base, over every page.
	TotalCommits int

	// Commits are this page's commits, oldest first, with an empty
	// Cursor.
	Commits []Commit

	// HasNextPage reports whether another page follows.
	HasNextPage bool

	// Requests is how many REST requests the page took, retries
	// included.
	Requests int
}

// ComparePageSize is how many commits one Compare page holds.
const ComparePageSize = 100

// MaxPageSize is the largest page GitHub serves.
const MaxPageSize = 100

// ActivityQuery requests one page of each stream that is not nil.
type ActivityQuery struct {
	Owner string
	Name  string

	// Branch is the branch whose history the commit and documentation
	// streams read. Empty reads GitHub's default branch.
	Branch string

	// Commits pages the branch's history with committedDate at or after
	// Since.
	Commits *Page

	// PullRequests pages pull requests newest updated first. GitHub
	// cannot filter them by time, so Since is not sent; the worker stops
	// at the first one older than it.
	PullRequests *Page

	// Issues pages issues (not pull requests) newest updated first,
	// filtered by GitHub to those updated at or after Since.
	Issues *Page

	// Docs pages the branch's history once per path, each limited to
	// commits that touched that file or directory; an empty path pages
	// the whole history.
	Docs []PathPage
}

// Page positions one connection: the lower time bound, the cursor to
// continue after (empty for the first page) and the page size, 1 to
// MaxPageSize.
type Page struct {
	Since time.Time
	After string
	First int
}

// PathPage is a Page of the history of one file or directory.
type PathPage struct {
	Path string
	Page
}

// Activity is one page of each requested stream. A stream that was not
// requested is nil; so is one GitHub refused (see Errors).
type Activity struct {
	// DefaultBranch is GitHub's default branch of the repository, empty
	// for a repository without commits.
	DefaultBranch string

	// BranchFound reports whether the requested branch exists. When it
	// does not, Commits and Docs are nil.
	BranchFound bool

	// HeadOID is the commit the requested branch points at, empty when
	// the branch was not found or its history was not requested.
	HeadOID string

	Commits      *CommitPage
	PullRequests *PullRequestPage
	Issues       *IssuePage

	// Docs holds one page per requested path, in the query's order.
	Docs []*CommitPage

	// Errors lists the parts of the response GitHub rejected while
	// returning the rest, such as FORBIDDEN on one connection.
	Errors []PartialError

	// Cost is the request's spending of the rate-limit budget.
	Cost Cost
}

// PageInfo reports whether a connection has more items after this page.
type PageInfo struct {
	HasNextPage bool
	EndCursor   string
}

// CommitPage is a page of a branch's history, newest first.
type CommitPage struct {
	Commits []Commit
	PageInfo
}

// PullRequestPage is a page of pull requests, newest updated first.
type PullRequestPage struct {
	PullRequests []PullRequest
	PageInfo
}

// IssuePage is a page of issues, newest updated first.
type IssuePage struct {
	Issues []Issue
	PageInfo
}

// Commit is a commit as GitHub reports it. Cursor is the position after
// it in its connection, for resuming.
type Commit struct {
	Cursor        string
	OID           string
	Message       string
	AuthoredDate  time.Time
	CommittedDate time.Time

	// Author is nil when GitHub has no author for the commit.
	Author *GitActor
}

// GitActor is a commit author: the name and email git recorded, and the
// GitHub login linked to the email, empty when there is none.
type GitActor struct {
	Name  string
	Email string
	Login string
}

// Actor is the GitHub account that opened a pull request or issue. Type
// is GitHub's type name: User, Bot, Organization, Mannequin or
// EnterpriseUserAccount.
type Actor struct {
	Login string
	Type  string
}

// PullRequest is a pull request as GitHub reports it. A zero time
// stands for null in GitHub's response.
type PullRequest struct {
	Cursor string

	// DatabaseID is GitHub's numeric id (fullDatabaseId), which no longer
	// fits 32 bits.
	DatabaseID int64

	Number      int
	Title       string
	State       string // OPEN, CLOSED or MERGED
	IsDraft     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	MergedAt    time.Time
	ClosedAt    time.Time
	BaseRefName string
	HeadRefName string

	// Author is nil for a deleted account.
	Author *Actor

	// Labels holds the label names, at most MaxLabels of them.
	Labels []string
}

// MaxLabels is how many labels of a pull request or issue are read.
const MaxLabels = 50

// Issue is an issue as GitHub reports it. A zero time stands for null
// in GitHub's response.
type Issue struct {
	Cursor     string
	DatabaseID int64
	Number     int
	Title      string
	State      string // OPEN or CLOSED
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ClosedAt   time.Time
	Author     *Actor
	Labels     []string
}

// CommitFiles lists the files of one commit.
type CommitFiles struct {
	Files []ChangedFile

	// Requests is how many REST requests the listing took, retries
	// included: GitHub pages a commit's files 300 at a time.
	Requests int
}

// ChangedFile is a file a commit changed. Status is GitHub's: added,
// modified, removed, renamed, copied, changed or unchanged.
// PreviousPath is set for a rename.
type ChangedFile struct {
	Path         string
	PreviousPath string
	Status       string
}

// Cost is a GitHub request's spending and the budget left after it.
type Cost struct {
	// Requests counts HTTP requests, retries included.
	Requests int

	// Points is the GraphQL cost GitHub charged.
	Points int

	// Remaining is the budget left after the request, or -1 when GitHub
	// sets no limit (GitHub Enterprise Server with rate limits off).
	Remaining int

	// ResetAt is when the budget is refilled; zero when unknown.
	ResetAt time.Time
}

// PartialError is an error GitHub reported for one part of a response
// whose other parts are valid.
type PartialError struct {
	// Stream is the stream the error belongs to: "commit",
	// "pull_request", "issue" or "doc_change".
	Stream string

	// Path is GitHub's path to the failing field, dot-separated.
	Path string

	// Type is GitHub's error type, such as NOT_FOUND or FORBIDDEN.
	Type    string
	Message string
}

func (e PartialError) Error() string {
	return fmt.Sprintf("GitHub refused %s (%s): %s", e.Path, e.Type, e.Message)
}

// APIError is a request GitHub refused: an HTTP status of 400 or more, or
// GraphQL errors without usable data.
type APIError struct {
	// Status is the HTTP status, 0 for GraphQL errors in a 200 response.
	Status int

	// Type is the first GraphQL error type, such as NOT_FOUND or
	// RATE_LIMITED; empty for an HTTP error.
	Type    string
	Message string
}

func (e *APIError) Error() string {
	switch {
	case e.Status != 0 && e.Message != "":
		return fmt.Sprintf("GitHub answered HTTP %d: %s", e.Status, e.Message)
	case e.Status != 0:
		return fmt.Sprintf("GitHub answered HTTP %d", e.Status)
	case e.Type != "":
		return fmt.Sprintf("GitHub GraphQL error %s: %s", e.Type, e.Message)
	}
	return "GitHub GraphQL error: " + e.Message
}

// ShapeError is a GitHub response that lacks a field the client needs or
// has it in an unexpected form.
type ShapeError struct {
	Field string
	Err   error
}

func (e *ShapeError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("GitHub response missing expected field %s: %v", e.Field, e.Err)
	}
	return "GitHub response missing expected field " + e.Field
}

func (e *ShapeError) Unwrap() error { return e.Err }

// ConfigError is a missing or invalid setting, named by its environment
// variable.
type ConfigError struct {
	Variable string
	Problem  string
}

func (e *ConfigError) Error() string {
	if strings.Contains(e.Problem, e.Variable) {
		return e.Problem
	}
	return e.Variable + ": " + e.Problem
}

// ErrNotFound reports a repository GitHub does not show to the token:
// missing, renamed away or private.
var ErrNotFound = errors.New("GitHub repository not found")

// ErrNetwork reports that GitHub could not be reached, after retries:
// a refused or reset connection, a DNS failure or a timeout. Clients
// wrap it around the cause.
var ErrNetwork = errors.New("GitHub could not be reached")

// validPage reports a page's problem, if it has one.
func validPage(stream string, p *Page) error {
	if p == nil {
		return nil
	}
	if p.First < 1 || p.First > MaxPageSize {
		return fmt.Errorf("%s page size %d: want 1 to %d", stream, p.First, MaxPageSize)
	}
	if p.Since.IsZero() && stream != "pull_request" {
		return fmt.Errorf("%s page: a lower time bound is required", stream)
	}
	return nil
}

// Validate reports the first problem with the query, naming it.
func (q ActivityQuery) Validate() error {
	if strings.TrimSpace(q.Owner) == "" || strings.TrimSpace(q.Name) == "" {
		return fmt.Errorf("repository %q/%q: owner and name are required", q.Owner, q.Name)
	}
	streams := []struct {
		name string
		page *Page
	}{{"commit", q.Commits}, {"pull_request", q.PullRequests}, {"issue", q.Issues}}
	for _, s := range streams {
		if err := validPage(s.name, s.page); err != nil {
			return err
		}
	}
	for _, d := range q.Docs {
		if err := validPage("doc_change", &d.Page); err != nil {
			return fmt.Errorf("%s: %w", d.Path, err)
		}
	}
	return nil
}

package githubtest

import (
	"fmt"
	"strings"
	"time"
)

// Repository is one repository the fake server serves. Change a
// repository that a running server holds only inside Server.Update.
type Repository struct {
	Owner string
	Name  string

	// OwnerType is the owner's GraphQL type, User or Organization;
	// empty means User.
	OwnerType string

	// DefaultBranch names the branch whose history is Commits.
	DefaultBranch string

	// Commits is the default branch's history, newest first along the
	// first-parent chain.
	Commits []Commit

	// Branches holds the histories of other branches, newest first,
	// keyed by branch name without "refs/heads/".
	Branches map[string][]Commit

	PullRequests []PullRequest
	Issues       []Issue
}

// Commit is a commit of a branch's history.
type Commit struct {
	OID             string
	Parents         []string
	MessageHeadline string
	MessageBody     string
	AuthoredDate    time.Time
	CommittedDate   time.Time
	Author          GitActor
	Additions       int
	Deletions       int
	Files           []ChangedFile
}

// Message returns the full commit message: the headline, and the body
// after a blank line when there is one.
func (c Commit) Message() string {
	if c.MessageBody == "" {
		return c.MessageHeadline
	}
	return c.MessageHeadline + "\n\n" + c.MessageBody
}

// GitActor is the author git recorded for a commit. Login is the GitHub
// account linked to Email, empty when none is. GraphQL reports the
// account under author.user only for a User: a login ending in "[bot]"
// is a bot, whose user is null as on GitHub.
type GitActor struct {
	Name  string
	Email string
	Login string
}

// ChangedFile is a file a commit changed. ChangeType is GraphQL's
// PatchStatus: ADDED, MODIFIED, DELETED, RENAMED, COPIED or CHANGED; the
// REST API reports it in lower case with DELETED as "removed".
// PreviousPath is the path before a rename or copy.
type ChangedFile struct {
	Path         string
	PreviousPath string
	ChangeType   string
	Additions    int
	Deletions    int
}

// Actor is the account that opened a pull request or issue. Type is its
// GraphQL type: User, Bot, Organization, Mannequin or
// EnterpriseUserAccount; empty means User. GitHub's GraphQL API reports
// a bot's login without the "[bot]" suffix that REST shows.
type Actor struct {
	Login string
	Type  string
}

// PullRequest is a pull request. A zero time is null in responses.
type PullRequest struct {
	// DatabaseID is GitHub's numeric id, served as fullDatabaseId. Values
	// above 2^31-1 make databaseId an error, as on GitHub.
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
	Labels []string
}

// Issue is an issue; pull requests are not issues here, because GitHub's
// issues connection leaves them out. A zero time is null in responses.
type Issue struct {
	DatabaseID int64
	Number     int
	Title      string
	State      string // OPEN or CLOSED
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ClosedAt   time.Time

	// Author is nil for a deleted account.
	Author *Actor
	Labels []string
}

// PullRequest returns the pull request with the number, or nil.
func (r *Repository) PullRequest(number int) *PullRequest {
	for i := range r.PullRequests {
		if r.PullRequests[i].Number == number {
			return &r.PullRequests[i]
		}
	}
	return nil
}

// Issue returns the issue with the number, or nil.
func (r *Repository) Issue(number int) *Issue {
	for i := range r.Issues {
		if r.Issues[i].Number == number {
			return &r.Issues[i]
		}
	}
	return nil
}

// NameWithOwner returns "owner/name".
func (r *Repository) NameWithOwner() string {
	return r.Owner + "/" + r.Name
}

// branch returns the history of a branch, given as a name or a fully
// qualified "refs/heads/" name, and whether the branch exists.
func (r *Repository) branch(name string) ([]Commit, bool) {
	name = strings.TrimPrefix(name, "refs/heads/")
	if name == r.DefaultBranch {
		return r.Commits, true
	}
	commits, ok := r.Branches[name]
	return commits, ok
}

// Clone returns a deep copy of the repository.
func (r *Repository) Clone() *Repository {
	c := *r
	c.Commits = cloneCommits(r.Commits)
	if r.Branches != nil {
		c.Branches = make(map[string][]Commit, len(r.Branches))
		for name, commits := range r.Branches {
			c.Branches[name] = cloneCommits(commits)
		}
	}
	c.PullRequests = make([]PullRequest, len(r.PullRequests))
	for i, pr := range r.PullRequests {
		pr.Author = cloneActor(pr.Author)
		pr.Labels = append([]string(nil), pr.Labels...)
		c.PullRequests[i] = pr
	}
	c.Issues = make([]Issue, len(r.Issues))
	for i, is := range r.Issues {
		is.Author = cloneActor(is.Author)
		is.Labels = append([]string(nil), is.Labels...)
		c.Issues[i] = is
	}
	return &c
}

func cloneCommits(in []Commit) []Commit {
	out := make([]Commit, len(in))
	for i, c := range in {
		c.Parents = append([]string(nil), c.Parents...)
		c.Files = append([]ChangedFile(nil), c.Files...)
		out[i] = c
	}
	return out
}

func cloneActor(a *Actor) *Actor {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// Database ids of converted recordings start above 2^31 so that clients
// meet ids that do not fit 32 bits, as on GitHub today.
const (
	recordedPullRequestIDBase = 3_000_000_000
	recordedIssueIDBase       = 4_000_000_000
)

// ShiftTo returns the offset that moves the recording's newest commit to
// t, for FromRecording.
func (rec *Recording) ShiftTo(t time.Time) time.Duration {
	if len(rec.Commits) == 0 {
		return t.Sub(rec.Window.End)
	}
	return t.Sub(rec.Commits[0].CommittedDate)
}

// FromRecording converts a recording into a repository, moving every
// time by shift. Recordings lack some of what GitHub serves, so:
//
//   - A pull request's createdAt is an hour before its merge (or close),
//     its updatedAt is its merge (or close) time, its base branch is the
//     default branch, and its head branch is "pr-N" when not recorded.
//     Database ids are 3,000,000,000 plus the number.
//   - Only threads of kind "issue" become issues. An issue's createdAt is
//     midnight UTC of the recorded date, its updatedAt the same, and a
//     closed issue's closedAt the same too. Database ids are
//     4,000,000,000 plus the number.
//   - A login ending in "[bot]" becomes a Bot with the suffix removed,
//     and a null login a deleted account.
func FromRecording(rec *Recording, shift time.Duration) (*Repository, error) {
	repo := &Repository{
		Owner:         rec.Repository.Owner,
		Name:          rec.Repository.Name,
		DefaultBranch: rec.Repository.DefaultBranch,
	}

	for _, c := range rec.Commits {
		repo.Commits = append(repo.Commits, convertCommit(c, shift))
	}

	for _, p := range rec.PullRequests {
		pr, err := convertPullRequest(p, repo.DefaultBranch, shift)
		if err != nil {
			return nil, fmt.Errorf("convert recording %s: %w", repo.NameWithOwner(), err)
		}
		repo.PullRequests = append(repo.PullRequests, pr)
	}

	for _, t := range rec.Issues {
		if t.Kind != "issue" {
			continue
		}
		issue, err := convertIssue(t, shift)
		if err != nil {
			return nil, fmt.Errorf("convert recording %s: %w", repo.NameWithOwner(), err)
		}
		repo.Issues = append(repo.Issues, issue)
	}
	return repo, nil
}

func convertCommit(c RecordedCommit, shift time.Duration) Commit {
	out := Commit{
		OID:             c.OID,
		Parents:         append([]string(nil), c.Parents...),
		MessageHeadline: c.MessageHeadline,
		MessageBody:     c.MessageBody,
		AuthoredDate:    c.AuthoredDate.Add(shift),
		CommittedDate:   c.CommittedDate.Add(shift),
		Author: GitActor{
			Name: c.Author.Name, Email: c.Author.Email, Login: c.Author.Login,
		},
		Additions: c.Additions,
		Deletions: c.Deletions,
	}
	for _, f := range c.Files {
		out.Files = append(out.Files, ChangedFile{
			Path:         f.Path,
			PreviousPath: f.PreviousPath,
			ChangeType:   f.ChangeType,
			Additions:    f.Additions,
			Deletions:    f.Deletions,
		})
	}
	return out
}

func convertPullRequest(p RecordedPullRequest, base string,
	shift time.Duration) (PullRequest, error) {
	pr := PullRequest{
		DatabaseID:  recordedPullRequestIDBase + int64(p.Number),
		Number:      p.Number,
		Title:       p.Title,
		State:       p.State,
		BaseRefName: base,
		HeadRefName: fmt.Sprintf("pr-%d", p.Number),
	}
	if p.HeadRefName != nil && *p.HeadRefName != "" {
		pr.HeadRefName = *p.HeadRefName
	}
	if p.Author != nil && p.Author.Login != "" {
		pr.Author = actorFromLogin(p.Author.Login)
	}

	var end time.Time
	switch {
	case p.MergedAt != nil:
		end = *p.MergedAt
	case p.ClosedAt != nil:
		end = *p.ClosedAt
	}
	if p.MergedAt != nil {
		pr.MergedAt = p.MergedAt.Add(shift)
	}
	if p.ClosedAt != nil {
		pr.ClosedAt = p.ClosedAt.Add(shift)
	}
	switch {
	case p.CreatedAt != nil:
		pr.CreatedAt = p.CreatedAt.Add(shift)
	case !end.IsZero():
		pr.CreatedAt = end.Add(shift - time.Hour)
	default:
		return PullRequest{}, fmt.Errorf("pull request %d: no creation, merge or close time",
			p.Number)
	}
	pr.UpdatedAt = pr.CreatedAt
	if !end.IsZero() {
		pr.UpdatedAt = end.Add(shift)
	}
	return pr, nil
}

func convertIssue(t RecordedIssue, shift time.Duration) (Issue, error) {
	if t.CreatedAt == nil {
		return Issue{}, fmt.Errorf("issue %d: no creation date", t.Number)
	}
	created, err := time.Parse(time.DateOnly, *t.CreatedAt)
	if err != nil {
		return Issue{}, fmt.Errorf("issue %d: creation date %q: %w", t.Number, *t.CreatedAt, err)
	}
	created = created.Add(shift)

	issue := Issue{
		DatabaseID: recordedIssueIDBase + int64(t.Number),
		Number:     t.Number,
		Title:      t.Title,
		State:      t.State,
		CreatedAt:  created,
		UpdatedAt:  created,
		Labels:     append([]string(nil), t.Labels...),
	}
	if t.State == "CLOSED" {
		issue.ClosedAt = created
	}
	if t.Author != nil && t.Author.Login != nil && *t.Author.Login != "" {
		issue.Author = actorFromLogin(*t.Author.Login)
	}
	return issue, nil
}

// actorFromLogin turns a REST-style login into GraphQL's view of the
// account.
func actorFromLogin(login string) *Actor {
	if name, ok := strings.CutSuffix(login, "[bot]"); ok {
		return &Actor{Login: name, Type: "Bot"}
	}
	return &Actor{Login: login, Type: "User"}
}

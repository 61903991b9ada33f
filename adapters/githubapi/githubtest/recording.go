package githubtest

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Recording is the recorded default-branch activity of one repository:
// commits with their changed files, pull requests derived from squash
// merges, and a few issue threads. Times keep their original offsets.
type Recording struct {
	Repository struct {
		Owner         string `json:"owner"`
		Name          string `json:"name"`
		DefaultBranch string `json:"defaultBranch"`
		HeadOID       string `json:"headOid"`
	} `json:"repository"`

	// Window is the span of committedDate the recording covers, both
	// ends included.
	Window struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"window"`

	// Commits run newest first along the first-parent chain.
	Commits      []RecordedCommit      `json:"commits"`
	PullRequests []RecordedPullRequest `json:"pullRequests"`
	Issues       []RecordedIssue       `json:"issues"`
}

// RecordedCommit is one recorded commit.
type RecordedCommit struct {
	OID             string    `json:"oid"`
	Parents         []string  `json:"parents"`
	MessageHeadline string    `json:"messageHeadline"`
	MessageBody     string    `json:"messageBody"`
	AuthoredDate    time.Time `json:"authoredDate"`
	CommittedDate   time.Time `json:"committedDate"`
	Author          struct {
		Name  string `json:"name"`
		Email string `json:"email"`
		Login string `json:"login"`
	} `json:"author"`
	Additions    int            `json:"additions"`
	Deletions    int            `json:"deletions"`
	ChangedFiles int            `json:"changedFiles"`
	Files        []RecordedFile `json:"files"`
}

// RecordedFile is a file a recorded commit changed, with GraphQL's
// change type: ADDED, MODIFIED, DELETED or RENAMED.
type RecordedFile struct {
	Path         string `json:"path"`
	Additions    int    `json:"additions"`
	Deletions    int    `json:"deletions"`
	ChangeType   string `json:"changeType"`
	PreviousPath string `json:"previousPath,omitempty"`
}

// RecordedPullRequest is a pull request derived from a squash-merge
// subject ending in "(#N)". Its creation time and usually its head
// branch are unknown.
type RecordedPullRequest struct {
	Number    int        `json:"number"`
	Title     string     `json:"title"`
	State     string     `json:"state"`
	CreatedAt *time.Time `json:"createdAt"`
	MergedAt  *time.Time `json:"mergedAt"`
	ClosedAt  *time.Time `json:"closedAt"`
	Author    *struct {
		Login string `json:"login"`
	} `json:"author"`
	HeadRefName *string `json:"headRefName"`
	MergeCommit *struct {
		OID string `json:"oid"`
	} `json:"mergeCommit"`
}

// RecordedIssue is a recorded issue or pull request thread. Kind is
// "issue" or "pull_request"; CreatedAt is a date without a time, empty
// when unknown.
type RecordedIssue struct {
	Number    int      `json:"number"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title"`
	State     string   `json:"state"`
	CreatedAt *string  `json:"createdAt"`
	Labels    []string `json:"labels"`
	Author    *struct {
		Login *string `json:"login"`
	} `json:"author"`
}

// LoadRecording reads a recording file.
func LoadRecording(path string) (*Recording, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read GitHub recording: %w", err)
	}
	var r Recording
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode GitHub recording %s: %w", path, err)
	}
	return &r, nil
}

// Message returns the commit's full message: the headline, and the body
// after a blank line when there is one.
func (c RecordedCommit) Message() string {
	if c.MessageBody == "" {
		return c.MessageHeadline
	}
	return c.MessageHeadline + "\n\n" + c.MessageBody
}

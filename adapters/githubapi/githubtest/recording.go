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
	Commits      []Commit      `json:"commits"`
	PullRequests []PullRequest `json:"pullRequests"`
	Issues       []Issue       `json:"issues"`
}

// Commit is one recorded commit.
type Commit struct {
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
	Additions    int           `json:"additions"`
	Deletions    int           `json:"deletions"`
	ChangedFiles int           `json:"changedFiles"`
	Files        []ChangedFile `json:"files"`
}

// ChangedFile is a file a commit changed.
type ChangedFile struct {
	Path         string `json:"path"`
	Additions    int    `json:"additions"`
	Deletions    int    `json:"deletions"`
	ChangeType   string `json:"changeType"`
	PreviousPath string `json:"previousPath,omitempty"`
}

// PullRequest is a pull request derived from a squash-merge subject
// ending in "(#N)". Its creation time is unknown.
type PullRequest struct {
	Number    int        `json:"number"`
	Title     string     `json:"title"`
	State     string     `json:"state"`
	CreatedAt *time.Time `json:"createdAt"`
	MergedAt  *time.Time `json:"mergedAt"`
	ClosedAt  *time.Time `json:"closedAt"`
	Author    *struct {
		Login string `json:"login"`
	} `json:"author"`
	MergeCommit *struct {
		OID string `json:"oid"`
	} `json:"mergeCommit"`
}

// Issue is a recorded issue or pull request thread. CreatedAt is a date
// without a time.
type Issue struct {
	Number    int      `json:"number"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title"`
	State     string   `json:"state"`
	CreatedAt string   `json:"createdAt"`
	Labels    []string `json:"labels"`
	Author    *struct {
		Login string `json:"login"`
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
func (c Commit) Message() string {
	if c.MessageBody == "" {
		return c.MessageHeadline
	}
	return c.MessageHeadline + "\n\n" + c.MessageBody
}

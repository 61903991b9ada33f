package silver

import (
	"encoding/json"
	"time"
)

// Event types that Silver turns into entity rows. Raw events of any other
// type get an event fact only.
const (
	EventCommit      = "github.commit"
	EventPullRequest = "github.pull_request"
	EventIssue       = "github.issue"
	EventDocChange   = "github.doc_change"
)

// Column widths that payload strings must fit, in characters. PostgreSQL
// rejects longer values, and SQLite would store them, so both databases
// are held to the same limits before anything is written.
const (
	maxSHA         = 64
	maxGitHubName  = 255
	maxEmail       = 320
	maxBranch      = 255
	maxLogin       = 255
	maxState       = 32
	maxPath        = 512
	maxChangeType  = 32
	maxAuthorName  = 255
	maxPostgresInt = 1<<31 - 1
)

// CommitPayload is the payload of a github.commit event. Pointer fields
// are nil when the key is absent or null.
type CommitPayload struct {
	SHA       string
	RepoOwner string
	RepoName  string

	Message       *string
	AuthorEmail   *string
	AuthorName    *string
	AuthoredAt    *time.Time
	CommittedAt   *time.Time
	DefaultBranch *string

	// Metadata is the metadata object as JSON text, or nil when the key
	// is absent or null.
	Metadata json.RawMessage
}

// PullRequestPayload is the payload of a github.pull_request event.
type PullRequestPayload struct {
	// ID is GitHub's database id of the pull request.
	ID         int64
	Number     int
	Title      string
	State      string
	BaseBranch string
	HeadBranch string
	RepoOwner  string
	RepoName   string
	CreatedAt  time.Time

	AuthorLogin *string
	MergedAt    *time.Time
	ClosedAt    *time.Time
	IsDraft     bool

	// Labels is nil when the key is absent or null, and an empty slice
	// for an empty array.
	Labels []string

	// Metadata is the metadata object as JSON text, or nil when the key
	// is absent or null.
	Metadata json.RawMessage
}

// IssuePayload is the payload of a github.issue event.
type IssuePayload struct {
	// ID is GitHub's database id of the issue.
	ID        int64
	Number    int
	Title     string
	State     string
	RepoOwner string
	RepoName  string
	CreatedAt time.Time

	AuthorLogin *string
	ClosedAt    *time.Time

	// Labels is nil when the key is absent or null, and an empty slice
	// for an empty array.
	Labels []string

	// Metadata is the metadata object as JSON text, or nil when the key
	// is absent or null.
	Metadata json.RawMessage
}

// DocChangePayload is the payload of a github.doc_change event: one
// documentation file changed by one commit.
type DocChangePayload struct {
	CommitSHA  string
	Path       string
	ChangeType string
	RepoOwner  string
	RepoName   string
	OccurredAt time.Time

	IsRoadmap bool
	IsADR     bool

	// Metadata is the metadata object as JSON text, or nil when the key
	// is absent or null.
	Metadata json.RawMessage
}

// DecodeCommit decodes a github.commit payload, as returned by
// bronze.DecodePayload. Required: sha, repo_owner and repo_name, non-empty
// strings. Optional, string or null: message, author_email, author_name,
// authored_at, committed_at and default_branch. Optional, object or null:
// metadata. Other keys are ignored.
//
// For every event type, a value of the wrong JSON type, a null where none
// is allowed, a string longer than its column or a timestamp without a UTC
// offset returns a *PayloadError naming the key.
func DecodeCommit(payload map[string]any) (CommitPayload, error) {
	r := fieldReader{payload: payload}
	p := CommitPayload{
		SHA:           r.requiredString("sha", maxSHA, true),
		RepoOwner:     r.repoOwner(),
		RepoName:      r.repoName(),
		Message:       r.optionalString("message", 0),
		AuthorEmail:   r.optionalString("author_email", maxEmail),
		AuthorName:    r.optionalString("author_name", maxAuthorName),
		AuthoredAt:    r.optionalTime("authored_at"),
		CommittedAt:   r.optionalTime("committed_at"),
		DefaultBranch: r.optionalString("default_branch", maxBranch),
		Metadata:      r.object("metadata"),
	}
	return p, r.err
}

// DecodePullRequest decodes a github.pull_request payload. Required: id
// and number, positive integers; title, state, base_branch, head_branch,
// repo_owner, repo_name and created_at, strings. Optional, string or null:
// author_login, merged_at and closed_at. Optional: labels, an array of
// strings or null; is_draft, a boolean (false when absent, null is
// invalid); metadata, an object or null. Other keys are ignored.
func DecodePullRequest(payload map[string]any) (PullRequestPayload, error) {
	r := fieldReader{payload: payload}
	p := PullRequestPayload{
		ID:          r.requiredID("id"),
		Number:      int(r.requiredNumber("number")),
		Title:       r.requiredString("title", 0, false),
		State:       r.requiredString("state", maxState, true),
		BaseBranch:  r.requiredString("base_branch", maxBranch, false),
		HeadBranch:  r.requiredString("head_branch", maxBranch, false),
		RepoOwner:   r.repoOwner(),
		RepoName:    r.repoName(),
		CreatedAt:   r.requiredTime("created_at"),
		AuthorLogin: r.optionalString("author_login", maxLogin),
		MergedAt:    r.optionalTime("merged_at"),
		ClosedAt:    r.optionalTime("closed_at"),
		Labels:      r.labels("labels"),
		IsDraft:     r.optionalBool("is_draft"),
		Metadata:    r.object("metadata"),
	}
	return p, r.err
}

// DecodeIssue decodes a github.issue payload. Required: id and number,
// positive integers; title, state, repo_owner, repo_name and created_at,
// strings. Optional, string or null: author_login and closed_at. Optional:
// labels, an array of strings or null; metadata, an object or null. Other
// keys are ignored.
func DecodeIssue(payload map[string]any) (IssuePayload, error) {
	r := fieldReader{payload: payload}
	p := IssuePayload{
		ID:          r.requiredID("id"),
		Number:      int(r.requiredNumber("number")),
		Title:       r.requiredString("title", 0, false),
		State:       r.requiredString("state", maxState, true),
		RepoOwner:   r.repoOwner(),
		RepoName:    r.repoName(),
		CreatedAt:   r.requiredTime("created_at"),
		AuthorLogin: r.optionalString("author_login", maxLogin),
		ClosedAt:    r.optionalTime("closed_at"),
		Labels:      r.labels("labels"),
		Metadata:    r.object("metadata"),
	}
	return p, r.err
}

// DecodeDocChange decodes a github.doc_change payload. Required:
// commit_sha and path, non-empty strings; change_type, repo_owner,
// repo_name and occurred_at, strings. Optional: is_roadmap and is_adr,
// booleans (false when absent, null is invalid); metadata, an object or
// null. Other keys are ignored.
func DecodeDocChange(payload map[string]any) (DocChangePayload, error) {
	r := fieldReader{payload: payload}
	p := DocChangePayload{
		CommitSHA:  r.requiredString("commit_sha", maxSHA, true),
		Path:       r.requiredString("path", maxPath, true),
		ChangeType: r.requiredString("change_type", maxChangeType, false),
		RepoOwner:  r.repoOwner(),
		RepoName:   r.repoName(),
		OccurredAt: r.requiredTime("occurred_at"),
		IsRoadmap:  r.optionalBool("is_roadmap"),
		IsADR:      r.optionalBool("is_adr"),
		Metadata:   r.object("metadata"),
	}
	return p, r.err
}

// hasEntities reports whether events of the type have entity rows.
func hasEntities(eventType string) bool {
	switch eventType {
	case EventCommit, EventPullRequest, EventIssue, EventDocChange:
		return true
	}
	return false
}

// decodeEntity decodes the payload of an event type that has entity rows.
// It returns nil and no error for other event types.
func decodeEntity(eventType string, payload map[string]any) (any, error) {
	switch eventType {
	case EventCommit:
		return DecodeCommit(payload)
	case EventPullRequest:
		return DecodePullRequest(payload)
	case EventIssue:
		return DecodeIssue(payload)
	case EventDocChange:
		return DecodeDocChange(payload)
	}
	return nil, nil
}

package evidence

import (
	"time"

	"github.com/ghillie/ghillie/gold"
)

// WorkType is the kind of work an event was, from its labels or title.
type WorkType string

// The work types, in the order groupings are listed.
const (
	WorkFeature       WorkType = "feature"
	WorkBug           WorkType = "bug"
	WorkRefactor      WorkType = "refactor"
	WorkChore         WorkType = "chore"
	WorkDocumentation WorkType = "documentation"
	WorkUnknown       WorkType = "unknown"
)

// WorkTypes lists every work type in grouping order.
var WorkTypes = []WorkType{WorkFeature, WorkBug, WorkRefactor, WorkChore, WorkDocumentation,
	WorkUnknown}

// Repository is the metadata of a bundle's repository.
type Repository struct {
	ID                 string   `json:"id"`
	Owner              string   `json:"owner"`
	Name               string   `json:"name"`
	DefaultBranch      string   `json:"default_branch"`
	EstateID           string   `json:"estate_id,omitempty"`
	DocumentationPaths []string `json:"documentation_paths"`
}

// Slug returns owner/name.
func (r Repository) Slug() string { return r.Owner + "/" + r.Name }

// PreviousReport is an earlier report of the same subject, for context.
type PreviousReport struct {
	ReportID    string      `json:"report_id"`
	WindowStart time.Time   `json:"window_start"`
	WindowEnd   time.Time   `json:"window_end"`
	Status      gold.Status `json:"status"`
	Highlights  []string    `json:"highlights"`
	Risks       []string    `json:"risks"`
	EventCount  int         `json:"event_count"`
}

// Commit is a commit in the window.
type Commit struct {
	SHA           string     `json:"sha"`
	Message       string     `json:"message,omitempty"`
	AuthorName    string     `json:"author_name,omitempty"`
	AuthorEmail   string     `json:"author_email,omitempty"`
	CommittedAt   *time.Time `json:"committed_at,omitempty"`
	WorkType      WorkType   `json:"work_type"`
	IsMergeCommit bool       `json:"is_merge_commit"`
}

// PullRequest is a pull request with activity in the window, in its
// latest known state.
type PullRequest struct {
	ID          int64      `json:"id"`
	Number      int        `json:"number"`
	Title       string     `json:"title"`
	AuthorLogin string     `json:"author_login,omitempty"`
	State       string     `json:"state"`
	Labels      []string   `json:"labels"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	MergedAt    *time.Time `json:"merged_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	WorkType    WorkType   `json:"work_type"`
	IsDraft     bool       `json:"is_draft"`
}

// Issue is an issue with activity in the window, in its latest known
// state.
type Issue struct {
	ID          int64      `json:"id"`
	Number      int        `json:"number"`
	Title       string     `json:"title"`
	AuthorLogin string     `json:"author_login,omitempty"`
	State       string     `json:"state"`
	Labels      []string   `json:"labels"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	WorkType    WorkType   `json:"work_type"`
}

// DocumentationChange is a change to a documentation path in the window.
type DocumentationChange struct {
	Path       string    `json:"path"`
	ChangeType string    `json:"change_type"`
	CommitSHA  string    `json:"commit_sha"`
	OccurredAt time.Time `json:"occurred_at"`
	IsRoadmap  bool      `json:"is_roadmap"`
	IsADR      bool      `json:"is_adr"`
}

// WorkTypeGroup counts the window's commits, pull requests and issues of
// one work type, with up to five of their titles.
type WorkTypeGroup struct {
	WorkType     WorkType `json:"work_type"`
	CommitCount  int      `json:"commit_count"`
	PRCount      int      `json:"pr_count"`
	IssueCount   int      `json:"issue_count"`
	SampleTitles []string `json:"sample_titles"`
}

// Total returns the number of items in the group.
func (g WorkTypeGroup) Total() int { return g.CommitCount + g.PRCount + g.IssueCount }

// RepositoryBundle is the evidence for one repository report: the
// events of the window [WindowStart, WindowEnd) that no earlier report
// of the repository covered, and up to two earlier reports, newest
// first.
type RepositoryBundle struct {
	Repository           Repository            `json:"repository"`
	WindowStart          time.Time             `json:"window_start"`
	WindowEnd            time.Time             `json:"window_end"`
	PreviousReports      []PreviousReport      `json:"previous_reports"`
	Commits              []Commit              `json:"commits"`
	PullRequests         []PullRequest         `json:"pull_requests"`
	Issues               []Issue               `json:"issues"`
	DocumentationChanges []DocumentationChange `json:"documentation_changes"`
	WorkTypeGroups       []WorkTypeGroup       `json:"work_type_groupings"`

	// EventFactIDs lists every uncovered event fact of the window, which
	// the report covers once stored.
	EventFactIDs []int64 `json:"event_fact_ids"`
}

// TotalEvents returns the number of commits, pull requests, issues and
// documentation changes in the bundle.
func (b *RepositoryBundle) TotalEvents() int {
	return len(b.Commits) + len(b.PullRequests) + len(b.Issues) + len(b.DocumentationChanges)
}

// Group returns the bundle's group of a work type, and whether it has
// one.
func (b *RepositoryBundle) Group(t WorkType) (WorkTypeGroup, bool) {
	for _, g := range b.WorkTypeGroups {
		if g.WorkType == t {
			return g, true
		}
	}
	return WorkTypeGroup{}, false
}

// Project is the catalogue metadata of a bundle's project.
type Project struct {
	Key                string   `json:"key"`
	Name               string   `json:"name"`
	Description        string   `json:"description,omitempty"`
	Programme          string   `json:"programme,omitempty"`
	DocumentationPaths []string `json:"documentation_paths"`
}

// RepositorySummary is the latest repository report of a component's
// repository.
type RepositorySummary struct {
	RepositorySlug string      `json:"repository_slug"`
	ReportID       string      `json:"report_id"`
	WindowStart    time.Time   `json:"window_start"`
	WindowEnd      time.Time   `json:"window_end"`
	Status         gold.Status `json:"status"`
	Summary        string      `json:"summary"`
	Highlights     []string    `json:"highlights"`
	Risks          []string    `json:"risks"`
	NextSteps      []string    `json:"next_steps"`
	GeneratedAt    time.Time   `json:"generated_at"`
}

// Component is a catalogue component of a project. A planned component
// may have no repository, and so no summary.
type Component struct {
	Key               string             `json:"key"`
	Name              string             `json:"name"`
	Type              string             `json:"component_type"`
	Lifecycle         string             `json:"lifecycle"`
	Description       string             `json:"description,omitempty"`
	RepositorySlug    string             `json:"repository_slug,omitempty"`
	RepositorySummary *RepositorySummary `json:"repository_summary,omitempty"`
	Notes             []string           `json:"notes"`
}

// Dependency is a relationship from a component of the project to
// another component. ToProject names the other component's project when
// it is not this one, as when another project's work blocks this one.
type Dependency struct {
	From         string `json:"from_component"`
	To           string `json:"to_component"`
	ToProject    string `json:"to_project,omitempty"`
	Relationship string `json:"relationship"`
	Kind         string `json:"kind"`
	Rationale    string `json:"rationale,omitempty"`
}

// ProjectBundle is the evidence for one project report over the window
// [WindowStart, WindowEnd).
type ProjectBundle struct {
	Project         Project          `json:"project"`
	EstateID        string           `json:"estate_id"`
	WindowStart     time.Time        `json:"window_start"`
	WindowEnd       time.Time        `json:"window_end"`
	Components      []Component      `json:"components"`
	Dependencies    []Dependency     `json:"dependencies"`
	PreviousReports []PreviousReport `json:"previous_reports"`
}

// ProjectSummary is the latest report of one project of an estate.
type ProjectSummary struct {
	ProjectKey  string      `json:"project_key"`
	ProjectName string      `json:"project_name"`
	ReportID    string      `json:"report_id"`
	WindowStart time.Time   `json:"window_start"`
	WindowEnd   time.Time   `json:"window_end"`
	Status      gold.Status `json:"status"`
	Summary     string      `json:"summary"`
	Highlights  []string    `json:"highlights"`
	Risks       []string    `json:"risks"`
	NextSteps   []string    `json:"next_steps"`
	GeneratedAt time.Time   `json:"generated_at"`
}

// EstateBundle is the evidence for one estate report over the window
// [WindowStart, WindowEnd): the latest report of each project, ordered
// by project key, and earlier estate reports.
type EstateBundle struct {
	EstateID        string           `json:"estate_id"`
	EstateKey       string           `json:"estate_key"`
	EstateName      string           `json:"estate_name"`
	WindowStart     time.Time        `json:"window_start"`
	WindowEnd       time.Time        `json:"window_end"`
	Projects        []ProjectSummary `json:"projects"`
	PreviousReports []PreviousReport `json:"previous_reports"`
}

// String returns the work type's name.
func (t WorkType) String() string { return string(t) }

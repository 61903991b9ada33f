package status

import (
	"fmt"
	"time"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
)

var (
	windowStart = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	windowEnd   = time.Date(2024, 7, 8, 0, 0, 0, 0, time.UTC)
)

// at returns a time inside the test window, day days and hour hours
// after its start.
func at(day, hour int) *time.Time {
	t := windowStart.Add(time.Duration(day*24+hour) * time.Hour)
	return &t
}

// repoBundle returns a bundle of acme/widget with c commits, p pull
// requests and i issues, and no groupings.
func repoBundle(c, p, i int) *evidence.RepositoryBundle {
	b := &evidence.RepositoryBundle{
		Repository: evidence.Repository{ID: "repo-1", Owner: "acme", Name: "widget",
			DefaultBranch: "main"},
		WindowStart: windowStart,
		WindowEnd:   windowEnd,
	}
	for n := range c {
		b.Commits = append(b.Commits, evidence.Commit{
			SHA: fmt.Sprintf("%040d", n+1), Message: fmt.Sprintf("chore: change %d", n+1),
			CommittedAt: at(n%7, n%24), WorkType: evidence.WorkChore,
		})
	}
	for n := range p {
		b.PullRequests = append(b.PullRequests, evidence.PullRequest{
			ID: int64(100 + n), Number: 10 + n, Title: fmt.Sprintf("Change %d", n+1),
			State: "merged", Labels: []string{}, WorkType: evidence.WorkChore,
		})
	}
	for n := range i {
		b.Issues = append(b.Issues, evidence.Issue{
			ID: int64(200 + n), Number: 50 + n, Title: fmt.Sprintf("Problem %d", n+1),
			State: "closed", Labels: []string{}, WorkType: evidence.WorkUnknown,
		})
	}
	return b
}

// richRepoBundle returns a repository bundle that exercises every part
// of the repository prompt.
func richRepoBundle() *evidence.RepositoryBundle {
	b := &evidence.RepositoryBundle{
		Repository: evidence.Repository{ID: "repo-1", Owner: "acme", Name: "widget",
			DefaultBranch: "main", DocumentationPaths: []string{"docs/"}},
		WindowStart: windowStart,
		WindowEnd:   windowEnd,
		PreviousReports: []evidence.PreviousReport{{
			ReportID: "rpt-0", WindowStart: windowStart.AddDate(0, 0, -7), WindowEnd: windowStart,
			Status: gold.StatusAtRisk, Highlights: []string{"Shipped login"},
			Risks: []string{"Flaky CI"}, EventCount: 4,
		}},
		Commits: []evidence.Commit{
			{SHA: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
				Message:     "feat: add dark mode\n\nLong body that the prompt leaves out.",
				AuthorName:  "Ada",
				CommittedAt: at(1, 9), WorkType: evidence.WorkFeature},
			{SHA: "ffffeeee0000111122223333444455556666777",
				Message:     "fix: resolve crash on start",
				CommittedAt: at(2, 10), WorkType: evidence.WorkBug},
			{SHA: "0000000000000000000000000000000000000001",
				Message:     "Merge pull request #12 from acme/dark",
				CommittedAt: at(2, 11), WorkType: evidence.WorkUnknown, IsMergeCommit: true},
		},
		PullRequests: []evidence.PullRequest{
			{ID: 1012, Number: 12, Title: "Add dark mode", State: "merged",
				Labels: []string{"feature"}, CreatedAt: at(0, 8), MergedAt: at(2, 11),
				ClosedAt: at(2, 11), WorkType: evidence.WorkFeature},
			{ID: 1013, Number: 13, Title: "Fix crash on start", State: "open",
				Labels: []string{"bug"}, CreatedAt: at(2, 12), WorkType: evidence.WorkBug,
				IsDraft: true},
		},
		Issues: []evidence.Issue{
			{ID: 2040, Number: 40, Title: "App crashes on start", State: "open",
				Labels: []string{"bug"}, CreatedAt: at(1, 15), WorkType: evidence.WorkBug},
		},
		DocumentationChanges: []evidence.DocumentationChange{
			{Path: "docs/roadmap.md", ChangeType: "modified", CommitSHA: "a1b2c3d4",
				OccurredAt: *at(1, 9), IsRoadmap: true},
		},
		WorkTypeGroups: []evidence.WorkTypeGroup{
			{WorkType: evidence.WorkFeature, CommitCount: 1, PRCount: 1,
				SampleTitles: []string{"feat: add dark mode", "Add dark mode"}},
			{WorkType: evidence.WorkBug, CommitCount: 1, PRCount: 1, IssueCount: 1,
				SampleTitles: []string{"fix: resolve crash on start", "Fix crash on start",
					"App crashes on start"}},
		},
		EventFactIDs: []int64{1, 2, 3, 4, 5, 6, 7},
	}
	return b
}

// summary returns a component's latest repository report.
func summary(slug string, status gold.Status,
	highlights, risks []string,
) *evidence.RepositorySummary {
	return &evidence.RepositorySummary{
		RepositorySlug: slug, ReportID: "rpt-" + slug, WindowStart: windowStart,
		WindowEnd: windowEnd, Status: status, Summary: slug + " " + statusPhrase(status) + ".",
		Highlights: highlights, Risks: risks, NextSteps: []string{"Keep going"},
		GeneratedAt: windowEnd,
	}
}

// projectBundle returns a project with an active reported component, a
// second active component without a report, and a planned component
// that the first is blocked by.
func projectBundle(apiStatus gold.Status) *evidence.ProjectBundle {
	return &evidence.ProjectBundle{
		Project: evidence.Project{Key: "wildside", Name: "Wildside",
			Description: "Route planning", DocumentationPaths: []string{}},
		EstateID:    "estate-1",
		WindowStart: windowStart,
		WindowEnd:   windowEnd,
		Components: []evidence.Component{
			{Key: "wildside-ui", Name: "Wildside UI", Type: "ui", Lifecycle: "active",
				RepositorySlug: "acme/ui", Notes: []string{},
				RepositorySummary: summary("acme/ui", gold.StatusOnTrack,
					[]string{"Shipped map view"}, nil)},
			{Key: "wildside-api", Name: "Wildside API", Type: "service", Lifecycle: "active",
				RepositorySlug: "acme/api", Notes: []string{"Owns routing"},
				RepositorySummary: summary("acme/api", apiStatus,
					[]string{"Added caching"}, []string{"Latency regressions"})},
			{Key: "wildside-engine", Name: "Wildside Engine", Type: "library",
				Lifecycle: "planned", Notes: []string{}},
			{Key: "wildside-jobs", Name: "Wildside Jobs", Type: "job", Lifecycle: "active",
				RepositorySlug: "acme/jobs", Notes: []string{}},
		},
		Dependencies: []evidence.Dependency{
			{From: "wildside-api", To: "wildside-engine", Relationship: "blocked_by",
				Kind: "runtime", Rationale: "Needs the routing engine"},
			{From: "wildside-ui", To: "wildside-api", Relationship: "depends_on",
				Kind: "runtime"},
		},
		PreviousReports: []evidence.PreviousReport{},
	}
}

// estateBundle returns an estate of projects with the given statuses,
// keyed p1, p2 and so on.
func estateBundle(statuses ...gold.Status) *evidence.EstateBundle {
	b := &evidence.EstateBundle{EstateID: "estate-1", EstateKey: "acme", EstateName: "Acme",
		WindowStart: windowStart, WindowEnd: windowEnd}
	for n, s := range statuses {
		key := fmt.Sprintf("p%d", n+1)
		b.Projects = append(b.Projects, evidence.ProjectSummary{
			ProjectKey: key, ProjectName: "Project " + key, ReportID: "rpt-" + key,
			WindowStart: windowStart, WindowEnd: windowEnd, Status: s,
			Summary:    "Project " + key + " " + statusPhrase(s) + ".",
			Highlights: []string{"Highlight of " + key}, Risks: []string{"Risk of " + key},
			NextSteps: []string{"Next step of " + key}, GeneratedAt: windowEnd,
		})
	}
	return b
}

package status

import (
	"context"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
)

func group(t evidence.WorkType, commits, prs, issues int, titles ...string) evidence.WorkTypeGroup {
	return evidence.WorkTypeGroup{WorkType: t, CommitCount: commits, PRCount: prs,
		IssueCount: issues, SampleTitles: titles}
}

func previous(status gold.Status, risks ...string) []evidence.PreviousReport {
	return []evidence.PreviousReport{{ReportID: "rpt-0", WindowStart: windowStart.AddDate(0, 0, -7),
		WindowEnd: windowStart, Status: status, Risks: risks, Highlights: []string{}}}
}

func TestMockRepositoryStatus(t *testing.T) {
	tests := []struct {
		name   string
		bundle func() *evidence.RepositoryBundle
		want   gold.Status
	}{
		{"no events", func() *evidence.RepositoryBundle { return repoBundle(0, 0, 0) },
			gold.StatusUnknown},
		{"no events beats risky previous", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 0, 0)
			b.PreviousReports = previous(gold.StatusBlocked, "r")
			return b
		}, gold.StatusUnknown},
		{"previous at risk with risk", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = previous(gold.StatusAtRisk, "r")
			return b
		}, gold.StatusAtRisk},
		{"previous blocked gives at risk", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = previous(gold.StatusBlocked, "r")
			return b
		}, gold.StatusAtRisk},
		{"previous at risk without risks", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = previous(gold.StatusAtRisk)
			return b
		}, gold.StatusOnTrack},
		{"previous on track with risk", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = previous(gold.StatusOnTrack, "r")
			return b
		}, gold.StatusOnTrack},
		{"older previous ignored", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = append(previous(gold.StatusOnTrack),
				previous(gold.StatusBlocked, "r")...)
			return b
		}, gold.StatusOnTrack},
		{"bugs outnumber features", func() *evidence.RepositoryBundle {
			b := repoBundle(3, 0, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkFeature, 1, 0, 0), group(evidence.WorkBug, 1, 0, 1)}
			return b
		}, gold.StatusAtRisk},
		{"bugs equal features", func() *evidence.RepositoryBundle {
			b := repoBundle(2, 0, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkFeature, 1, 0, 0), group(evidence.WorkBug, 0, 1, 0)}
			return b
		}, gold.StatusOnTrack},
		{"bugs without features", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{group(evidence.WorkBug, 0, 0, 1)}
			return b
		}, gold.StatusAtRisk},
		{"activity only", func() *evidence.RepositoryBundle { return repoBundle(2, 1, 1) },
			gold.StatusOnTrack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := NewMock().SummarizeRepository(context.Background(), tt.bundle())
			is.NoErr(err)
			is.Equal(r.Status, tt.want)
		})
	}
}

func TestMockRepositorySummary(t *testing.T) {
	tests := []struct {
		name   string
		bundle *evidence.RepositoryBundle
		want   string
	}{
		{"no activity", repoBundle(0, 0, 0),
			"acme/widget had no recorded activity during this period."},
		{"singular", repoBundle(1, 1, 1),
			"acme/widget is on track with 3 events including 1 commit, 1 pull request, " +
				"and 1 issue."},
		{"plural", repoBundle(2, 3, 0),
			"acme/widget is on track with 5 events including 2 commits, 3 pull requests, " +
				"and 0 issues."},
		{"documentation counts as events", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 0, 0)
			b.DocumentationChanges = []evidence.DocumentationChange{{Path: "docs/a.md"}}
			return b
		}(), "acme/widget is on track with 1 events including 0 commits, 0 pull requests, " +
			"and 0 issues."},
		{"at risk phrase", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = previous(gold.StatusAtRisk, "r")
			return b
		}(), "acme/widget is at risk with 1 events including 1 commit, 0 pull requests, " +
			"and 0 issues."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := NewMock().SummarizeRepository(context.Background(), tt.bundle)
			is.NoErr(err)
			is.Equal(r.Summary, tt.want)
		})
	}
}

func TestMockRepositoryLists(t *testing.T) {
	tests := []struct {
		name       string
		bundle     func() *evidence.RepositoryBundle
		highlights []string
		risks      []string
		nextSteps  []string
	}{
		{"empty", func() *evidence.RepositoryBundle { return repoBundle(0, 0, 0) },
			[]string{}, []string{}, []string{"Investigate lack of activity"}},
		{"one feature pr", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 1, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkFeature, 0, 1, 0, "Add login", "Add logout", "Add menu")}
			return b
		}, []string{"Delivered 1 feature PR", "Add login", "Add logout"}, []string{},
			[]string{}},
		{"feature prs plural", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 3, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{group(evidence.WorkFeature, 0, 3, 0)}
			return b
		}, []string{"Delivered 3 feature PRs"}, []string{}, []string{}},
		{"feature commits only", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkFeature, 1, 0, 0, "feat: x")}
			return b
		}, []string{"feat: x"}, []string{}, []string{}},
		{"documentation", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkDocumentation, 1, 0, 0, "docs: x")}
			return b
		}, []string{"Updated documentation"}, []string{}, []string{}},
		{"documentation issues only", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 0, 1)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkDocumentation, 0, 0, 1, "Docs wrong")}
			return b
		}, []string{}, []string{}, []string{}},
		{"highlights capped", func() *evidence.RepositoryBundle {
			b := repoBundle(4, 4, 0)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{
				group(evidence.WorkFeature, 0, 2, 0, "A", "B"),
				group(evidence.WorkDocumentation, 1, 0, 0),
				group(evidence.WorkFeature, 0, 1, 0, "C", "D"),
			}
			return b
		}, []string{"Delivered 2 feature PRs", "A", "B", "Updated documentation",
			"Delivered 1 feature PR"}, []string{}, []string{}},
		{"ongoing risks", func() *evidence.RepositoryBundle {
			b := repoBundle(1, 0, 0)
			b.PreviousReports = previous(gold.StatusOnTrack, "R1", "R2", "R3")
			return b
		}, []string{}, []string{"(Ongoing) R1", "(Ongoing) R2"}, []string{}},
		{"bug issue singular", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 0, 1)
			b.WorkTypeGroups = []evidence.WorkTypeGroup{group(evidence.WorkBug, 0, 0, 1)}
			return b
		}, []string{}, []string{"1 bug issue require attention"},
			[]string{"Review and address identified risks"}},
		{"bug issues plural", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 0, 2)
			b.PreviousReports = previous(gold.StatusAtRisk, "R1")
			b.WorkTypeGroups = []evidence.WorkTypeGroup{group(evidence.WorkBug, 0, 0, 2)}
			return b
		}, []string{}, []string{"(Ongoing) R1", "2 bug issues require attention"},
			[]string{"Review and address identified risks"}},
		{"open items singular", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 2, 2)
			b.PullRequests[0].State = "open"
			b.PullRequests[1].State = "open"
			b.PullRequests[1].IsDraft = true
			b.Issues[0].State = "open"
			return b
		}, []string{}, []string{}, []string{"Review 2 open PRs", "Triage 1 open issue"}},
		{"open items plural", func() *evidence.RepositoryBundle {
			b := repoBundle(0, 1, 3)
			b.PullRequests[0].State = "open"
			for i := range b.Issues {
				b.Issues[i].State = "open"
			}
			return b
		}, []string{}, []string{}, []string{"Review 1 open PR", "Triage 3 open issues"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := NewMock().SummarizeRepository(context.Background(), tt.bundle())
			is.NoErr(err)
			is.Equal(r.Highlights, tt.highlights)
			is.Equal(r.Risks, tt.risks)
			is.Equal(r.NextSteps, tt.nextSteps)
		})
	}
}

func TestMockRepositoryMetrics(t *testing.T) {
	is := is.New(t)

	r, err := NewMock().SummarizeRepository(context.Background(), repoBundle(1, 0, 0))
	is.NoErr(err)

	is.Equal(r.Metrics.Provider, ProviderMock)
	is.Equal(r.Metrics.Model, MockModelName)
	is.Equal(*r.Metrics.PromptTokens, int64(0))
	is.Equal(*r.Metrics.CompletionTokens, int64(0))
	is.Equal(*r.Metrics.TotalTokens, int64(0))
	is.Equal(r.Metrics.Latency, nil)
}

func TestMockRepositoryNeverBlocked(t *testing.T) {
	is := is.New(t)
	b := richRepoBundle()
	b.PreviousReports[0].Status = gold.StatusBlocked

	r, err := NewMock().SummarizeRepository(context.Background(), b)
	is.NoErr(err)

	is.Equal(r.Status, gold.StatusAtRisk)
}

func TestMockNilBundle(t *testing.T) {
	is := is.New(t)
	m := NewMock()

	_, err := m.SummarizeRepository(context.Background(), nil)
	is.True(err != nil)
	_, err = m.SummarizeProject(context.Background(), nil)
	is.True(err != nil)
	_, err = m.SummarizeEstate(context.Background(), nil)
	is.True(err != nil)
}

func TestMockProject(t *testing.T) {
	tests := []struct {
		name       string
		bundle     func() *evidence.ProjectBundle
		status     gold.Status
		summary    string
		highlights []string
		risks      []string
		nextSteps  []string
	}{
		{"worst is at risk", func() *evidence.ProjectBundle {
			return projectBundle(gold.StatusAtRisk)
		}, gold.StatusAtRisk,
			"Wildside is at risk: 2 of 4 components have a repository report; " +
				"1 component is planned (Wildside Engine).",
			[]string{"Wildside API: Added caching", "Wildside UI: Shipped map view"},
			[]string{"Wildside API is blocked by Wildside Engine: Needs the routing engine",
				"Wildside API is at risk: Latency regressions"},
			[]string{"Review and address identified risks", "Resolve 1 blocking dependency",
				"Report on 1 component without a repository report"}},
		{"blocked component", func() *evidence.ProjectBundle {
			return projectBundle(gold.StatusBlocked)
		}, gold.StatusBlocked,
			"Wildside is blocked: 2 of 4 components have a repository report; " +
				"1 component is planned (Wildside Engine).",
			[]string{"Wildside API: Added caching", "Wildside UI: Shipped map view"},
			[]string{"Wildside API is blocked by Wildside Engine: Needs the routing engine",
				"Wildside API is blocked: Latency regressions"},
			[]string{"Review and address identified risks", "Resolve 1 blocking dependency",
				"Report on 1 component without a repository report"}},
		{"unknown component ignored", func() *evidence.ProjectBundle {
			return projectBundle(gold.StatusUnknown)
		}, gold.StatusOnTrack,
			"Wildside is on track: 2 of 4 components have a repository report; " +
				"1 component is planned (Wildside Engine).",
			[]string{"Wildside API: Added caching", "Wildside UI: Shipped map view"},
			[]string{"Wildside API is blocked by Wildside Engine: Needs the routing engine"},
			[]string{"Resolve 1 blocking dependency",
				"Report on 1 component without a repository report"}},
		{"no reports", func() *evidence.ProjectBundle {
			b := projectBundle(gold.StatusOnTrack)
			for i := range b.Components {
				b.Components[i].RepositorySummary = nil
			}
			b.Dependencies = nil
			return b
		}, gold.StatusUnknown,
			"Wildside has unknown status: 0 of 4 components have a repository report; " +
				"1 component is planned (Wildside Engine).",
			[]string{}, []string{},
			[]string{"Report on 3 components without a repository report"}},
		{"planned report gives no highlight", func() *evidence.ProjectBundle {
			b := projectBundle(gold.StatusOnTrack)
			b.Components[2].RepositorySummary = summary("acme/engine", gold.StatusOnTrack,
				[]string{"Prototype merged"}, nil)
			b.Dependencies = nil
			return b
		}, gold.StatusOnTrack,
			"Wildside is on track: 3 of 4 components have a repository report; " +
				"1 component is planned (Wildside Engine).",
			[]string{"Wildside API: Added caching", "Wildside UI: Shipped map view"},
			[]string{}, []string{"Report on 1 component without a repository report"}},
		{"single component", func() *evidence.ProjectBundle {
			b := projectBundle(gold.StatusOnTrack)
			b.Components = b.Components[:1]
			b.Dependencies = nil
			return b
		}, gold.StatusOnTrack,
			"Wildside is on track: 1 of 1 component has a repository report.",
			[]string{"Wildside UI: Shipped map view"}, []string{}, []string{}},
		{"many planned", func() *evidence.ProjectBundle {
			b := projectBundle(gold.StatusOnTrack)
			b.Dependencies = nil
			for _, name := range []string{"B", "C", "D", "E"} {
				b.Components = append(b.Components, evidence.Component{
					Key: "z-" + name, Name: name, Lifecycle: "planned"})
			}
			return b
		}, gold.StatusOnTrack,
			"Wildside is on track: 2 of 8 components have a repository report; " +
				"5 components are planned (Wildside Engine, B, C and 2 more).",
			[]string{"Wildside API: Added caching", "Wildside UI: Shipped map view"},
			[]string{}, []string{"Report on 1 component without a repository report"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := NewMock().SummarizeProject(context.Background(), tt.bundle())
			is.NoErr(err)
			is.Equal(r.Status, tt.status)
			is.Equal(r.Summary, tt.summary)
			is.Equal(r.Highlights, tt.highlights)
			is.Equal(r.Risks, tt.risks)
			is.Equal(r.NextSteps, tt.nextSteps)
			is.Equal(r.Metrics.Provider, ProviderMock)
		})
	}
}

func TestMockProjectPlannedNeverDelivered(t *testing.T) {
	is := is.New(t)
	b := projectBundle(gold.StatusOnTrack)
	b.Components[2].RepositorySummary = summary("acme/engine", gold.StatusOnTrack,
		[]string{"Prototype merged"}, nil)

	r, err := NewMock().SummarizeProject(context.Background(), b)
	is.NoErr(err)

	for _, h := range r.Highlights {
		is.True(!strings.Contains(h, "Wildside Engine"))
	}
	is.True(strings.Contains(r.Summary, "planned (Wildside Engine)"))
}

func TestMockEstate(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []gold.Status
		status     gold.Status
		summary    string
		highlights []string
		risks      []string
		nextSteps  []string
	}{
		{"no projects", nil, gold.StatusUnknown,
			"Acme has no project reports for this period.",
			[]string{}, []string{}, []string{"Generate project reports for this estate"}},
		{"all on track", []gold.Status{gold.StatusOnTrack, gold.StatusOnTrack},
			gold.StatusOnTrack,
			"Acme is on track across 2 projects: 2 on track, 0 at risk, 0 blocked, 0 unknown.",
			[]string{"Project p1: Highlight of p1", "Project p2: Highlight of p2"},
			[]string{}, []string{}},
		{"one project", []gold.Status{gold.StatusAtRisk}, gold.StatusAtRisk,
			"Acme is at risk across 1 project: 0 on track, 1 at risk, 0 blocked, 0 unknown.",
			[]string{"Project p1: Highlight of p1"},
			[]string{"Project p1 is at risk: Risk of p1"},
			[]string{"Review and address identified risks"}},
		{"blocked first", []gold.Status{gold.StatusAtRisk, gold.StatusUnknown,
			gold.StatusBlocked, gold.StatusOnTrack}, gold.StatusBlocked,
			"Acme is blocked across 4 projects: 1 on track, 1 at risk, 1 blocked, 1 unknown.",
			[]string{"Project p1: Highlight of p1", "Project p2: Highlight of p2",
				"Project p3: Highlight of p3", "Project p4: Highlight of p4"},
			[]string{"Project p3 is blocked: Risk of p3", "Project p1 is at risk: Risk of p1"},
			[]string{"Review and address identified risks", "Unblock 1 blocked project",
				"Investigate 1 project with unknown status"}},
		{"only unknown", []gold.Status{gold.StatusUnknown, gold.Status("bogus")},
			gold.StatusUnknown,
			"Acme has unknown status across 2 projects: 0 on track, 0 at risk, 0 blocked, " +
				"2 unknown.",
			[]string{"Project p1: Highlight of p1", "Project p2: Highlight of p2"},
			[]string{}, []string{"Investigate 2 projects with unknown status"}},
		{"risks capped", []gold.Status{gold.StatusBlocked, gold.StatusBlocked,
			gold.StatusAtRisk, gold.StatusAtRisk, gold.StatusAtRisk, gold.StatusBlocked},
			gold.StatusBlocked,
			"Acme is blocked across 6 projects: 0 on track, 3 at risk, 3 blocked, 0 unknown.",
			[]string{"Project p1: Highlight of p1", "Project p2: Highlight of p2",
				"Project p3: Highlight of p3", "Project p4: Highlight of p4",
				"Project p5: Highlight of p5"},
			[]string{"Project p1 is blocked: Risk of p1", "Project p2 is blocked: Risk of p2",
				"Project p6 is blocked: Risk of p6", "Project p3 is at risk: Risk of p3",
				"Project p4 is at risk: Risk of p4"},
			[]string{"Review and address identified risks", "Unblock 3 blocked projects"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := NewMock().SummarizeEstate(context.Background(), estateBundle(tt.statuses...))
			is.NoErr(err)
			is.Equal(r.Status, tt.status)
			is.Equal(r.Summary, tt.summary)
			is.Equal(r.Highlights, tt.highlights)
			is.Equal(r.Risks, tt.risks)
			is.Equal(r.NextSteps, tt.nextSteps)
		})
	}
}

func TestResultMachineSummary(t *testing.T) {
	is := is.New(t)
	r := Result{Status: gold.StatusAtRisk, Summary: "s",
		Highlights: []string{"1", "2", "3", "4", "5", "6"}}

	ms := r.MachineSummary()

	is.Equal(ms.Status, gold.StatusAtRisk)
	is.Equal(ms.Summary, "s")
	is.Equal(len(ms.Highlights), 5)
	is.True(ms.Risks != nil)
	is.True(ms.NextSteps != nil)
}

func TestMockProjectNamesOtherProjectsBlockers(t *testing.T) {
	is := is.New(t)
	b := &evidence.ProjectBundle{
		Project:    evidence.Project{Key: "wildside", Name: "Wildside"},
		Components: []evidence.Component{{Key: "engine", Name: "Engine", Lifecycle: "active"}},
		Dependencies: []evidence.Dependency{{From: "engine", To: "ortho-config",
			ToProject: "df12-foundations", Relationship: "blocked_by", Kind: "runtime"}},
	}

	res, err := NewMock().SummarizeProject(context.Background(), b)
	is.NoErr(err)
	is.Equal(res.Risks[0], "Engine is blocked by ortho-config of project df12-foundations")
}

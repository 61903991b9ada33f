package status

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
)

// MockModelName is the model name the mock reports in its Metrics.
const MockModelName = "mock"

// Mock is a Model that derives reports from the evidence with fixed
// rules. It does no I/O, returns the same Result for the same bundle and
// reports zero tokens. The zero value is ready to use.
//
// For a repository, the first rule that applies sets the status. It is
// unknown when the bundle has no events. It is at_risk when the latest
// previous report was at_risk or blocked and listed a risk, or when the
// bug items (commits, pull requests and issues of the bug group)
// outnumber the feature items. Otherwise it is on_track, so the mock
// never returns blocked for a repository. Highlights name delivered
// feature pull requests, up to two feature titles and documentation
// updates. Risks carry up to two risks of the latest previous report,
// marked "(Ongoing)", and the number of bug issues. Next steps ask to
// review risks, investigate a silent repository, review open pull
// requests and triage open issues.
//
// For a project, the status is the worst of blocked, at_risk and
// on_track among the components' latest repository reports, so it never
// contradicts them. It is unknown when no report has one of those
// statuses. The summary names planned components as planned, and their
// reports give no highlights, so planned work never reads as delivered.
// Highlights are the first highlight of each other component's report.
// Risks are the blocked_by dependencies first, then each blocked or
// at_risk component with its first risk. Next steps ask to review risks,
// resolve blocking dependencies and report on active components that
// have no repository report.
//
// For an estate, the status is the worst of its projects' statuses in
// the same way. Highlights are the first highlight of each project.
// Risks name the blocked projects first and the at_risk projects next,
// each with its first risk, so neither list contradicts a project
// report. Next steps ask to review risks, unblock blocked projects and
// investigate projects of unknown status.
type Mock struct{}

// NewMock returns a Mock.
func NewMock() *Mock { return &Mock{} }

// SummarizeRepository applies the repository rules to b.
func (*Mock) SummarizeRepository(_ context.Context, b *evidence.RepositoryBundle) (Result, error) {
	if b == nil {
		return Result{}, fmt.Errorf("summarize repository: nil bundle")
	}

	status := mockRepositoryStatus(b)
	return Result{
		Status:     status,
		Summary:    mockRepositorySummary(b, status),
		Highlights: capList(mockRepositoryHighlights(b)),
		Risks:      capList(mockRepositoryRisks(b)),
		NextSteps:  capList(mockRepositoryNextSteps(b, status)),
		Metrics:    mockMetrics(),
	}, nil
}

// mockMetrics returns the metrics of a mock call: zero tokens and no
// latency.
func mockMetrics() Metrics {
	zero := func() *int64 { var n int64; return &n }
	return Metrics{
		Provider:         ProviderMock,
		Model:            MockModelName,
		PromptTokens:     zero(),
		CompletionTokens: zero(),
		TotalTokens:      zero(),
	}
}

func mockRepositoryStatus(b *evidence.RepositoryBundle) gold.Status {
	if b.TotalEvents() == 0 {
		return gold.StatusUnknown
	}

	if len(b.PreviousReports) > 0 {
		prev := b.PreviousReports[0]
		concerning := prev.Status == gold.StatusAtRisk || prev.Status == gold.StatusBlocked
		if len(prev.Risks) > 0 && concerning {
			return gold.StatusAtRisk
		}
	}

	bugs, features := 0, 0
	if g, ok := b.Group(evidence.WorkBug); ok {
		bugs = g.Total()
	}
	if g, ok := b.Group(evidence.WorkFeature); ok {
		features = g.Total()
	}
	if bugs > features && bugs > 0 {
		return gold.StatusAtRisk
	}
	return gold.StatusOnTrack
}

// statusPhrase returns the verb phrase of a status in a summary.
func statusPhrase(s gold.Status) string {
	switch s {
	case gold.StatusOnTrack:
		return "is on track"
	case gold.StatusAtRisk:
		return "is at risk"
	case gold.StatusBlocked:
		return "is blocked"
	}
	return "has unknown status"
}

func mockRepositorySummary(b *evidence.RepositoryBundle, status gold.Status) string {
	slug := b.Repository.Slug()
	total := b.TotalEvents()
	if total == 0 {
		return slug + " had no recorded activity during this period."
	}

	c, p, i := len(b.Commits), len(b.PullRequests), len(b.Issues)
	return fmt.Sprintf("%s %s with %d events including %d %s, %d %s, and %d %s.",
		slug, statusPhrase(status), total,
		c, plural(c, "commit", "commits"),
		p, plural(p, "pull request", "pull requests"),
		i, plural(i, "issue", "issues"))
}

func mockRepositoryHighlights(b *evidence.RepositoryBundle) []string {
	var out []string
	for _, g := range b.WorkTypeGroups {
		switch g.WorkType {
		case evidence.WorkFeature:
			if g.PRCount > 0 {
				out = append(out, fmt.Sprintf("Delivered %d feature %s",
					g.PRCount, plural(g.PRCount, "PR", "PRs")))
			}
			out = append(out, g.SampleTitles[:min(2, len(g.SampleTitles))]...)
		case evidence.WorkDocumentation:
			if g.CommitCount+g.PRCount > 0 {
				out = append(out, "Updated documentation")
			}
		}
	}
	return out
}

func mockRepositoryRisks(b *evidence.RepositoryBundle) []string {
	var out []string
	if len(b.PreviousReports) > 0 {
		prev := b.PreviousReports[0].Risks
		for _, r := range prev[:min(2, len(prev))] {
			out = append(out, "(Ongoing) "+r)
		}
	}

	for _, g := range b.WorkTypeGroups {
		if g.WorkType == evidence.WorkBug && g.IssueCount > 0 {
			out = append(out, fmt.Sprintf("%d bug %s require attention",
				g.IssueCount, plural(g.IssueCount, "issue", "issues")))
		}
	}
	return out
}

func mockRepositoryNextSteps(b *evidence.RepositoryBundle, status gold.Status) []string {
	var out []string
	switch status {
	case gold.StatusAtRisk:
		out = append(out, "Review and address identified risks")
	case gold.StatusUnknown:
		out = append(out, "Investigate lack of activity")
	}

	// NOTE: states compare exactly with "open", as the Python original
	// does, so a builder that stores "OPEN" would count no open items.
	openPRs := 0
	for _, pr := range b.PullRequests {
		if pr.State == "open" {
			openPRs++
		}
	}
	if openPRs > 0 {
		out = append(out, fmt.Sprintf("Review %d open %s", openPRs, plural(openPRs, "PR", "PRs")))
	}

	openIssues := 0
	for _, is := range b.Issues {
		if is.State == "open" {
			openIssues++
		}
	}
	if openIssues > 0 {
		out = append(out, fmt.Sprintf("Triage %d open %s",
			openIssues, plural(openIssues, "issue", "issues")))
	}
	return out
}

// severity orders the statuses a roll-up compares: higher is worse, and
// unknown or invalid statuses take no part.
func severity(s gold.Status) int {
	switch s {
	case gold.StatusOnTrack:
		return 1
	case gold.StatusAtRisk:
		return 2
	case gold.StatusBlocked:
		return 3
	}
	return 0
}

// worstStatus returns the worst of statuses by severity, or unknown when
// none is on_track, at_risk or blocked.
func worstStatus(statuses []gold.Status) gold.Status {
	worst := gold.StatusUnknown
	for _, s := range statuses {
		if severity(s) > severity(worst) {
			worst = s
		}
	}
	return worst
}

// SummarizeProject applies the project rules to b.
func (*Mock) SummarizeProject(_ context.Context, b *evidence.ProjectBundle) (Result, error) {
	if b == nil {
		return Result{}, fmt.Errorf("summarize project: nil bundle")
	}

	components := slices.Clone(b.Components)
	slices.SortStableFunc(components, func(x, y evidence.Component) int {
		return cmp.Compare(x.Key, y.Key)
	})
	names := map[string]string{}
	var statuses []gold.Status
	for _, c := range components {
		names[c.Key] = componentName(c)
		if c.RepositorySummary != nil {
			statuses = append(statuses, c.RepositorySummary.Status)
		}
	}
	status := worstStatus(statuses)

	return Result{
		Status:     status,
		Summary:    mockProjectSummary(b, components, status),
		Highlights: capList(mockProjectHighlights(components)),
		Risks:      capList(mockProjectRisks(b, components, names)),
		NextSteps:  capList(mockProjectNextSteps(b, components, status)),
		Metrics:    mockMetrics(),
	}, nil
}

func componentName(c evidence.Component) string {
	return cmp.Or(c.Name, c.Key)
}

func isPlanned(c evidence.Component) bool {
	return strings.EqualFold(c.Lifecycle, "planned")
}

func isBlockedBy(d evidence.Dependency) bool {
	return strings.EqualFold(d.Relationship, "blocked_by")
}

// nameList joins up to three names and counts the rest.
func nameList(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

func mockProjectSummary(b *evidence.ProjectBundle, components []evidence.Component,
	status gold.Status,
) string {
	project := cmp.Or(b.Project.Name, b.Project.Key)
	n := len(components)
	reported := 0
	var planned []string
	for _, c := range components {
		if c.RepositorySummary != nil {
			reported++
		}
		if isPlanned(c) {
			planned = append(planned, componentName(c))
		}
	}

	summary := fmt.Sprintf("%s %s: %d of %d %s %s a repository report",
		project, statusPhrase(status), reported, n, plural(n, "component", "components"),
		plural(reported, "has", "have"))
	if len(planned) > 0 {
		summary += fmt.Sprintf("; %d %s planned (%s)", len(planned),
			plural(len(planned), "component is", "components are"), nameList(planned))
	}
	return summary + "."
}

func mockProjectHighlights(components []evidence.Component) []string {
	var out []string
	for _, c := range components {
		s := c.RepositorySummary
		if s == nil || isPlanned(c) || len(s.Highlights) == 0 {
			continue
		}
		out = append(out, componentName(c)+": "+s.Highlights[0])
	}
	return out
}

func mockProjectRisks(b *evidence.ProjectBundle, components []evidence.Component,
	names map[string]string,
) []string {
	var out []string
	for _, d := range sortedDependencies(b.Dependencies) {
		if !isBlockedBy(d) {
			continue
		}
		blocker := cmp.Or(names[d.To], d.To)
		if d.ToProject != "" {
			blocker = fmt.Sprintf("%s of project %s", d.To, d.ToProject)
		}
		risk := fmt.Sprintf("%s is blocked by %s", cmp.Or(names[d.From], d.From), blocker)
		if d.Rationale != "" {
			risk += ": " + d.Rationale
		}
		out = append(out, risk)
	}

	for _, want := range []gold.Status{gold.StatusBlocked, gold.StatusAtRisk} {
		for _, c := range components {
			s := c.RepositorySummary
			if s == nil || s.Status != want {
				continue
			}
			risk := componentName(c) + " " + statusPhrase(want)
			if len(s.Risks) > 0 {
				risk += ": " + s.Risks[0]
			}
			out = append(out, risk)
		}
	}
	return out
}

// sortedDependencies returns the dependencies ordered by their from and
// to components, so output does not depend on database order.
func sortedDependencies(deps []evidence.Dependency) []evidence.Dependency {
	out := slices.Clone(deps)
	slices.SortStableFunc(out, func(x, y evidence.Dependency) int {
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To),
			cmp.Compare(x.Relationship, y.Relationship))
	})
	return out
}

func mockProjectNextSteps(b *evidence.ProjectBundle, components []evidence.Component,
	status gold.Status,
) []string {
	var out []string
	if status == gold.StatusAtRisk || status == gold.StatusBlocked {
		out = append(out, "Review and address identified risks")
	}

	blocking := 0
	for _, d := range b.Dependencies {
		if isBlockedBy(d) {
			blocking++
		}
	}
	if blocking > 0 {
		out = append(out, fmt.Sprintf("Resolve %d blocking %s", blocking,
			plural(blocking, "dependency", "dependencies")))
	}

	unreported := 0
	for _, c := range components {
		if c.RepositorySummary == nil && !isPlanned(c) {
			unreported++
		}
	}
	if unreported > 0 {
		out = append(out, fmt.Sprintf("Report on %d %s without a repository report", unreported,
			plural(unreported, "component", "components")))
	}
	return out
}

// SummarizeEstate applies the estate rules to b.
func (*Mock) SummarizeEstate(_ context.Context, b *evidence.EstateBundle) (Result, error) {
	if b == nil {
		return Result{}, fmt.Errorf("summarize estate: nil bundle")
	}

	projects := slices.Clone(b.Projects)
	slices.SortStableFunc(projects, func(x, y evidence.ProjectSummary) int {
		return cmp.Compare(x.ProjectKey, y.ProjectKey)
	})
	statuses := make([]gold.Status, len(projects))
	for i, p := range projects {
		statuses[i] = p.Status
	}
	status := worstStatus(statuses)

	return Result{
		Status:     status,
		Summary:    mockEstateSummary(b, projects, status),
		Highlights: capList(mockEstateHighlights(projects)),
		Risks:      capList(mockEstateRisks(projects)),
		NextSteps:  capList(mockEstateNextSteps(projects, status)),
		Metrics:    mockMetrics(),
	}, nil
}

func projectName(p evidence.ProjectSummary) string {
	return cmp.Or(p.ProjectName, p.ProjectKey)
}

func mockEstateSummary(b *evidence.EstateBundle, projects []evidence.ProjectSummary,
	status gold.Status,
) string {
	estate := cmp.Or(b.EstateName, b.EstateKey, b.EstateID)
	if len(projects) == 0 {
		return estate + " has no project reports for this period."
	}

	counts := map[gold.Status]int{}
	for _, p := range projects {
		if severity(p.Status) == 0 {
			counts[gold.StatusUnknown]++
			continue
		}
		counts[p.Status]++
	}
	n := len(projects)
	return fmt.Sprintf("%s %s across %d %s: %d on track, %d at risk, %d blocked, %d unknown.",
		estate, statusPhrase(status), n, plural(n, "project", "projects"),
		counts[gold.StatusOnTrack], counts[gold.StatusAtRisk], counts[gold.StatusBlocked],
		counts[gold.StatusUnknown])
}

func mockEstateHighlights(projects []evidence.ProjectSummary) []string {
	var out []string
	for _, p := range projects {
		if len(p.Highlights) > 0 {
			out = append(out, projectName(p)+": "+p.Highlights[0])
		}
	}
	return out
}

func mockEstateRisks(projects []evidence.ProjectSummary) []string {
	var out []string
	for _, want := range []gold.Status{gold.StatusBlocked, gold.StatusAtRisk} {
		for _, p := range projects {
			if p.Status != want {
				continue
			}
			risk := projectName(p) + " " + statusPhrase(want)
			if len(p.Risks) > 0 {
				risk += ": " + p.Risks[0]
			}
			out = append(out, risk)
		}
	}
	return out
}

func mockEstateNextSteps(projects []evidence.ProjectSummary, status gold.Status) []string {
	var out []string
	if status == gold.StatusAtRisk || status == gold.StatusBlocked {
		out = append(out, "Review and address identified risks")
	}

	blocked, unknown := 0, 0
	for _, p := range projects {
		switch {
		case p.Status == gold.StatusBlocked:
			blocked++
		case severity(p.Status) == 0:
			unknown++
		}
	}
	if blocked > 0 {
		out = append(out, fmt.Sprintf("Unblock %d blocked %s", blocked,
			plural(blocked, "project", "projects")))
	}
	if unknown > 0 {
		out = append(out, fmt.Sprintf("Investigate %d %s with unknown status", unknown,
			plural(unknown, "project", "projects")))
	}
	if len(projects) == 0 {
		out = append(out, "Generate project reports for this estate")
	}
	return out
}

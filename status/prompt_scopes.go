package status

import (
	"cmp"
	"slices"

	"github.com/ghillie/ghillie/evidence"
)

// projectEvidence is the evidence block of a project prompt.
type projectEvidence struct {
	Project         projectInfo      `json:"project"`
	Components      []componentItem  `json:"components"`
	Dependencies    []dependencyItem `json:"dependencies"`
	PreviousReports []previousReport `json:"previous_reports"`
}

type projectInfo struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Programme   string `json:"programme,omitempty"`
}

type componentItem struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Type        string      `json:"type"`
	Lifecycle   string      `json:"lifecycle"`
	Description string      `json:"description,omitempty"`
	Repository  string      `json:"repository,omitempty"`
	Notes       []string    `json:"notes"`
	Report      *reportItem `json:"latest_repository_report"`
}

// reportItem is the latest report of a component's repository or of a
// project.
type reportItem struct {
	WindowStart string   `json:"window_start"`
	WindowEnd   string   `json:"window_end"`
	Status      string   `json:"status"`
	Summary     string   `json:"summary"`
	Highlights  []string `json:"highlights"`
	Risks       []string `json:"risks"`
	NextSteps   []string `json:"next_steps"`
}

type dependencyItem struct {
	From         string `json:"from_component"`
	To           string `json:"to_component"`
	ToProject    string `json:"to_project,omitempty"`
	Relationship string `json:"relationship"`
	Kind         string `json:"kind"`
	Rationale    string `json:"rationale,omitempty"`
}

// ProjectSystemPrompt returns the system prompt of project reports.
func ProjectSystemPrompt() string {
	return systemPrompt("project", []string{
		"Each component carries its repository's latest report, or null when it has none. " +
			"The project's status must not contradict them: use the most serious of " +
			"blocked, at_risk and on_track among the component reports, and unknown when " +
			"no component report has one of those statuses.",
		"Components whose lifecycle is planned are planned work. Mention them as planned " +
			"and never describe them as delivered.",
		"Every dependency whose relationship is blocked_by is a risk.",
	})
}

// ProjectPrompt builds the prompt for a project report. Components and
// dependencies appear in key order. To fit the budget it leaves out the
// oldest previous reports first, then the notes, next steps and
// highlights of components from the last component back, and states how
// many of each it left out. Statuses, summaries and risks always stay.
// It returns an error when even the smallest prompt exceeds the budget.
func ProjectPrompt(b *evidence.ProjectBundle, opts PromptOptions) (Prompt, error) {
	components := slices.Clone(b.Components)
	slices.SortStableFunc(components, func(x, y evidence.Component) int {
		return cmp.Compare(x.Key, y.Key)
	})
	previous := previousReports(b.PreviousReports)

	var notes, nextSteps, highlights []int
	for _, c := range components {
		notes = append(notes, len(cleanList(c.Notes, maxItemRunes)))
		var s evidence.RepositorySummary
		if c.RepositorySummary != nil {
			s = *c.RepositorySummary
		}
		nextSteps = append(nextSteps, min(len(s.NextSteps), MaxListItems))
		highlights = append(highlights, min(len(s.Highlights), MaxListItems))
	}
	categories := []dropCategory{
		{"oldest previous reports", ones(len(previous))},
		{"component notes", notes},
		{"component next steps", nextSteps},
		{"component highlights", highlights},
	}

	ev := projectEvidence{
		Project: projectInfo{
			Key:         clean(b.Project.Key, maxNameRunes),
			Name:        clean(b.Project.Name, maxNameRunes),
			Description: clean(b.Project.Description, maxSummaryRunes),
			Programme:   clean(b.Project.Programme, maxNameRunes),
		},
		Dependencies: dependencyItems(b.Dependencies),
	}
	render := func(keep []int, leftOut string) string {
		ev.PreviousReports = previous[:keep[0]]
		ev.Components = []componentItem{}
		for i, c := range components {
			item := componentItem{
				Key:         clean(c.Key, maxNameRunes),
				Name:        clean(c.Name, maxNameRunes),
				Type:        clean(c.Type, maxNameRunes),
				Lifecycle:   clean(c.Lifecycle, maxNameRunes),
				Description: clean(c.Description, maxSummaryRunes),
				Repository:  clean(c.RepositorySlug, maxNameRunes),
				Notes:       []string{},
			}
			if i < keep[1] {
				item.Notes = cleanList(c.Notes, maxItemRunes)
			}
			if s := c.RepositorySummary; s != nil {
				item.Report = &reportItem{
					WindowStart: timestamp(s.WindowStart),
					WindowEnd:   timestamp(s.WindowEnd),
					Status:      statusText(s.Status),
					Summary:     clean(s.Summary, maxSummaryRunes),
					Highlights:  []string{},
					Risks:       cleanList(s.Risks, maxItemRunes),
					NextSteps:   []string{},
				}
				if i < keep[2] {
					item.Report.NextSteps = cleanList(s.NextSteps, maxItemRunes)
				}
				if i < keep[3] {
					item.Report.Highlights = cleanList(s.Highlights, maxItemRunes)
				}
			}
			ev.Components = append(ev.Components, item)
		}
		return userPrompt("project", b.WindowStart, b.WindowEnd, leftOut, ev)
	}
	return fitPrompt(ProjectSystemPrompt(), opts.TokenBudget, categories, render)
}

// dependencyItems returns the dependencies ordered by their components.
func dependencyItems(deps []evidence.Dependency) []dependencyItem {
	out := []dependencyItem{}
	for _, d := range sortedDependencies(deps) {
		out = append(out, dependencyItem{
			From:         clean(d.From, maxNameRunes),
			To:           clean(d.To, maxNameRunes),
			ToProject:    clean(d.ToProject, maxNameRunes),
			Relationship: clean(d.Relationship, maxNameRunes),
			Kind:         clean(d.Kind, maxNameRunes),
			Rationale:    clean(d.Rationale, maxItemRunes),
		})
	}
	return out
}

// estateEvidence is the evidence block of an estate prompt.
type estateEvidence struct {
	Estate          estateInfo       `json:"estate"`
	Projects        []projectItem    `json:"projects"`
	PreviousReports []previousReport `json:"previous_reports"`
}

type estateInfo struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

type projectItem struct {
	Key    string     `json:"key"`
	Name   string     `json:"name"`
	Report reportItem `json:"latest_report"`
}

// EstateSystemPrompt returns the system prompt of estate reports.
func EstateSystemPrompt() string {
	return systemPrompt("estate", []string{
		"Each project carries its latest report. The estate's status must not contradict " +
			"them: use the most serious of blocked, at_risk and on_track among the project " +
			"reports, and unknown when no project report has one of those statuses.",
		"Draw the top risks and achievements from the project reports, name the project " +
			"of each, and never contradict a project report.",
	})
}

// EstatePrompt builds the prompt for an estate report. Projects appear
// in key order. To fit the budget it leaves out the oldest previous
// reports first, then the next steps and highlights of projects from the
// last project back, and states how many of each it left out. Statuses,
// summaries and risks always stay. It returns an error when even the
// smallest prompt exceeds the budget.
func EstatePrompt(b *evidence.EstateBundle, opts PromptOptions) (Prompt, error) {
	projects := slices.Clone(b.Projects)
	slices.SortStableFunc(projects, func(x, y evidence.ProjectSummary) int {
		return cmp.Compare(x.ProjectKey, y.ProjectKey)
	})
	previous := previousReports(b.PreviousReports)

	var nextSteps, highlights []int
	for _, p := range projects {
		nextSteps = append(nextSteps, min(len(p.NextSteps), MaxListItems))
		highlights = append(highlights, min(len(p.Highlights), MaxListItems))
	}
	categories := []dropCategory{
		{"oldest previous reports", ones(len(previous))},
		{"project next steps", nextSteps},
		{"project highlights", highlights},
	}

	ev := estateEvidence{
		Estate: estateInfo{
			Key:  clean(b.EstateKey, maxNameRunes),
			Name: clean(b.EstateName, maxNameRunes),
		},
	}
	render := func(keep []int, leftOut string) string {
		ev.PreviousReports = previous[:keep[0]]
		ev.Projects = []projectItem{}
		for i, p := range projects {
			item := projectItem{
				Key:  clean(p.ProjectKey, maxNameRunes),
				Name: clean(p.ProjectName, maxNameRunes),
				Report: reportItem{
					WindowStart: timestamp(p.WindowStart),
					WindowEnd:   timestamp(p.WindowEnd),
					Status:      statusText(p.Status),
					Summary:     clean(p.Summary, maxSummaryRunes),
					Highlights:  []string{},
					Risks:       cleanList(p.Risks, maxItemRunes),
					NextSteps:   []string{},
				},
			}
			if i < keep[1] {
				item.Report.NextSteps = cleanList(p.NextSteps, maxItemRunes)
			}
			if i < keep[2] {
				item.Report.Highlights = cleanList(p.Highlights, maxItemRunes)
			}
			ev.Projects = append(ev.Projects, item)
		}
		return userPrompt("estate", b.WindowStart, b.WindowEnd, leftOut, ev)
	}
	return fitPrompt(EstateSystemPrompt(), opts.TokenBudget, categories, render)
}

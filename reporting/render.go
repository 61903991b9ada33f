package reporting

import (
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
)

// StatusLabel returns the label a report shows for a status: "On Track",
// "At Risk", "Blocked" or "Unknown". An empty status is Unknown, and any
// other text is shown unchanged.
func StatusLabel(s gold.Status) string {
	switch s {
	case gold.StatusOnTrack:
		return "On Track"
	case gold.StatusAtRisk:
		return "At Risk"
	case gold.StatusBlocked:
		return "Blocked"
	case gold.StatusUnknown, "":
		return "Unknown"
	}
	return string(s)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// markdown builds a document line by line.
type markdown struct {
	lines []string
}

func (m *markdown) add(lines ...string) { m.lines = append(m.lines, lines...) }

func (m *markdown) section(title string, items []string) {
	if len(items) == 0 {
		return
	}
	m.add("## "+title, "")
	for _, item := range items {
		m.add("- " + oneLine(item))
	}
	m.add("")
}

// oneLine makes model, evidence or catalogue text safe to place in the
// document.
// It keeps the text on one line, so it cannot start a heading, rule or
// status line of its own. It drops control characters, which a terminal
// would act on, and escapes HTML and link syntax, so a viewer renders
// it as text.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		// Bidirectional controls would let a name reorder the text
		// around it when shown.
		if (unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r') ||
			unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
	s = markdownEscaper.Replace(strings.Join(strings.Fields(s), " "))
	if s != "" && strings.ContainsRune("#>-*+=|`~", rune(s[0])) {
		s = "\\" + s // a block marker at the start would change the structure
	}
	return s
}

var markdownEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]")

func (m *markdown) summary(ms gold.MachineSummary) {
	m.add("**Status:** "+StatusLabel(ms.Status), "")
	if strings.TrimSpace(ms.Summary) != "" {
		m.add("## Summary", "", oneLine(ms.Summary), "")
	}
	m.section("Highlights", ms.Highlights)
	m.section("Risks", ms.Risks)
	m.section("Next steps", ms.NextSteps)
}

func (m *markdown) footer(r gold.Report) string {
	model := r.Model
	if model == "" {
		model = "unknown"
	}
	m.add("---", "", fmt.Sprintf("*Generated at %s UTC by %s | Window: %s to %s | Report ID: %s*",
		r.GeneratedAt.UTC().Format("2006-01-02 15:04"), model, day(r.WindowStart),
		day(r.WindowEnd), r.ID), "")
	return strings.Join(m.lines, "\n")
}

// RenderRepository renders a repository report as Markdown, from its
// machine summary.
func RenderRepository(r gold.Report, owner, name string) string {
	var m markdown
	m.add(fmt.Sprintf("# %s/%s — Status report (%s to %s)", owner, name,
		day(r.WindowStart), day(r.WindowEnd)), "")
	m.summary(r.Summary)
	return m.footer(r)
}

// RenderProject renders a project report as Markdown: the summary, then
// each component with its lifecycle and the status of its repository's
// report, linked relative to the project's folder of a FilesystemSink.
// Planned components are listed as planned.
func RenderProject(r gold.Report, b *evidence.ProjectBundle) string {
	var m markdown
	m.add(fmt.Sprintf("# %s — Project status report (%s to %s)", oneLine(b.Project.Name),
		day(r.WindowStart), day(r.WindowEnd)), "")
	m.summary(r.Summary)

	if len(b.Components) > 0 {
		m.add("## Components", "")
		for _, c := range b.Components {
			m.add("- " + componentLine(c))
		}
		m.add("")
	}
	return m.footer(r)
}

func componentLine(c evidence.Component) string {
	switch {
	case c.Lifecycle == "planned":
		return fmt.Sprintf("%s: planned, no delivered work yet", oneLine(c.Name))
	case c.RepositorySummary == nil && c.RepositorySlug == "":
		return fmt.Sprintf("%s (%s): no repository", oneLine(c.Name), oneLine(c.Lifecycle))
	case c.RepositorySummary == nil:
		return fmt.Sprintf("%s (%s): %s, not reported yet", oneLine(c.Name), oneLine(c.Lifecycle),
			oneLine(c.RepositorySlug))
	}
	s := c.RepositorySummary
	link := path.Join("..", "..", "..", "..", s.RepositorySlug, ArchiveName(s.WindowEnd, s.ReportID))
	return fmt.Sprintf("%s (%s): [%s](%s): %s", oneLine(c.Name), oneLine(c.Lifecycle),
		oneLine(s.RepositorySlug), link,
		StatusLabel(s.Status))
}

// RenderEstate renders an estate report as Markdown: the summary, then
// the status of each project's report.
func RenderEstate(r gold.Report, b *evidence.EstateBundle) string {
	var m markdown
	name := b.EstateName
	if name == "" {
		name = b.EstateKey
	}
	m.add(fmt.Sprintf("# %s — Estate status report (%s to %s)", oneLine(name),
		day(r.WindowStart), day(r.WindowEnd)), "")
	m.summary(r.Summary)

	if len(b.Projects) > 0 {
		m.add("## Projects", "")
		for _, p := range b.Projects {
			link := path.Join("projects", p.ProjectKey, ArchiveName(p.WindowEnd, p.ReportID))
			m.add(fmt.Sprintf("- [%s](%s): %s", oneLine(p.ProjectName), link, StatusLabel(p.Status)))
		}
		m.add("")
	}
	return m.footer(r)
}

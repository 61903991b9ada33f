package reporting_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/reporting"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	start = time.Date(2024, 7, 7, 0, 0, 0, 0, time.UTC)
	end   = time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)
)

func golden(t *testing.T, name, got string) {
	t.Helper()

	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output:\n%s", path, got)
	}
}

func report(scope gold.Scope, ms gold.MachineSummary) gold.Report {
	return gold.Report{ID: "rpt-001", Subject: gold.Subject{Scope: scope, ID: "x"},
		WindowStart: start, WindowEnd: end, GeneratedAt: end.Add(12 * time.Hour),
		Model: "gpt-5.1-thinking", Summary: ms}
}

var full = gold.MachineSummary{
	Status:     gold.StatusOnTrack,
	Summary:    "The repository saw steady feature work and documentation improvements.",
	Highlights: []string{"Implemented new authentication flow", "Added comprehensive API documentation"},
	Risks:      []string{"CI pipeline flakiness increasing"},
	NextSteps:  []string{"Address CI stability", "Begin database migration\nplanning"},
}

func TestRenderRepository(t *testing.T) {
	golden(t, "repository.md", reporting.RenderRepository(report(gold.ScopeRepository, full),
		"acme", "widget"))
}

func TestRenderRepositoryEmptySections(t *testing.T) {
	is := is.New(t)
	for _, ms := range []gold.MachineSummary{{Status: gold.StatusUnknown}, {}} {
		md := reporting.RenderRepository(report(gold.ScopeRepository, ms), "acme", "widget")
		is.True(strings.Contains(md, "**Status:** Unknown"))
		for _, heading := range []string{"## Summary", "## Highlights", "## Risks", "## Next steps"} {
			is.True(!strings.Contains(md, heading)) // empty sections are left out
		}
		is.True(strings.HasSuffix(md, "Report ID: rpt-001*\n"))
	}
	md := reporting.RenderRepository(report(gold.ScopeRepository, gold.MachineSummary{
		Status: gold.StatusAtRisk, Summary: "Slow."}), "acme", "widget")
	is.True(strings.Contains(md, "**Status:** At Risk"))
	is.True(strings.Contains(md, "## Summary\n\nSlow.\n"))
	is.Equal(reporting.StatusLabel("custom"), "custom")
}

func projectBundle() *evidence.ProjectBundle {
	return &evidence.ProjectBundle{
		Project: evidence.Project{Key: "wildside", Name: "Wildside"},
		Components: []evidence.Component{
			{Key: "core", Name: "Core", Lifecycle: "active", RepositorySlug: "leynos/wildside",
				RepositorySummary: &evidence.RepositorySummary{RepositorySlug: "leynos/wildside",
					ReportID: "rpt-000", WindowEnd: end, Status: gold.StatusOnTrack}},
			{Key: "engine", Name: "Engine", Lifecycle: "active", RepositorySlug: "leynos/engine"},
			{Key: "ingestion", Name: "Ingestion", Lifecycle: "planned"},
		},
	}
}

func TestRenderProject(t *testing.T) {
	golden(t, "project.md", reporting.RenderProject(report(gold.ScopeProject, full), projectBundle()))
}

func TestRenderEstate(t *testing.T) {
	b := &evidence.EstateBundle{EstateKey: "wildside", EstateName: "Wildside estate",
		Projects: []evidence.ProjectSummary{{ProjectKey: "wildside", ProjectName: "Wildside",
			ReportID: "rpt-010", WindowEnd: end, Status: gold.StatusBlocked}}}
	golden(t, "estate.md", reporting.RenderEstate(report(gold.ScopeEstate, full), b))
}

func TestFilesystemSink(t *testing.T) {
	is := is.New(t)
	base := t.TempDir()
	sink := reporting.FilesystemSink{Base: base}
	ctx := context.Background()

	is.NoErr(sink.Write(ctx, reporting.Document{Folder: []string{"acme", "widget"},
		ReportID: "rpt-001", WindowEnd: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), Markdown: "one",
		Latest: true}))
	is.NoErr(sink.Write(ctx, reporting.Document{Folder: []string{"acme", "widget"},
		ReportID: "rpt-002", WindowEnd: time.Date(2024, 7, 8, 0, 0, 0, 0, time.UTC), Markdown: "two",
		Latest: true}))

	// An older report run again leaves latest.md alone and does not
	// change its dated copy.
	is.NoErr(sink.Write(ctx, reporting.Document{Folder: []string{"acme", "widget"},
		ReportID: "rpt-001", WindowEnd: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC),
		Markdown: "one, rendered again", Rewrite: true}))

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(base, "acme", "widget", name))
		is.NoErr(err)
		return string(b)
	}
	is.Equal(read("latest.md"), "two")
	is.Equal(read("2024-07-01-rpt-001.md"), "one")
	is.Equal(read("2024-07-08-rpt-002.md"), "two")
	entries, err := os.ReadDir(filepath.Join(base, "acme", "widget"))
	is.NoErr(err)
	is.Equal(len(entries), 3) // no temporary files left

	for _, folder := range [][]string{{"..", "x"}, {"acme", "."}, {"a/b", "c"}, {"", "c"},
		{"acme", "wid get"}} {
		err := sink.Write(ctx, reporting.Document{Folder: folder, ReportID: "r", Markdown: "x"})
		is.True(err != nil) // a path that could leave the base is rejected
	}
	err = sink.Write(ctx, reporting.Document{Folder: []string{"a"}, ReportID: "../r"})
	is.True(err != nil)
}

func TestRenderEscapesHostileText(t *testing.T) {
	is := is.New(t)
	md := reporting.RenderRepository(report(gold.ScopeRepository, gold.MachineSummary{
		Status:     gold.StatusOnTrack,
		Summary:    "# Fine\n---\n**Status:** Blocked <script>alert(1)</script>",
		Highlights: []string{"[click](javascript:alert(1))", "bell\a and \x1b[31mred"},
	}), "acme", "widget")

	is.True(strings.Contains(md, "\n\\# Fine --- **Status:** Blocked &lt;script&gt;"))
	is.True(!strings.Contains(md, "<script>"))
	is.True(strings.Contains(md, "- \\[click\\](javascript:alert(1))"))
	is.True(!strings.ContainsAny(md, "\a\x1b"))   // no control characters
	is.Equal(strings.Count(md, "**Status:**"), 2) // the real line, and the escaped text
	is.Equal(strings.Count(md, "\n**Status:**"), 1)
}

func TestRenderEscapesCatalogueNames(t *testing.T) {
	is := is.New(t)
	hostile := "Evil <b>project</b> [x](javascript:alert(1))\u202e ## H"
	b := projectBundle()
	b.Project.Name = hostile
	b.Components[0].Name = hostile

	doc := reporting.RenderProject(report(gold.ScopeProject, gold.MachineSummary{Status: gold.StatusOnTrack,
		Summary: "Fine."}), b)
	is.True(!strings.Contains(doc, "<b>"))
	is.True(!strings.Contains(doc, "[x]"))
	is.True(!strings.Contains(doc, "\u202e"))
	is.True(strings.HasPrefix(doc, "# Evil &lt;b&gt;project&lt;/b&gt; \\[x\\](javascript:alert(1)) ## H — "))
}

package ingest_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

func TestClassifyDocPath(t *testing.T) {
	tests := []struct {
		path         string
		roadmap, adr bool
	}{
		{"docs/roadmap.md", true, false},
		{`docs\roadmap.md`, true, false},
		{"docs/adr/001-design.md", false, true},
		{`docs\ADR\001-design.md`, false, true},
		{"docs/adr/roadmap.md", true, true},
		{"docs/architecture-decision/0001.md", false, true},
		{`docs\architecture-decision\0002.md`, false, true},
		{"docs/adr.v2/001.md", false, true},
		{"docs/adr", false, true},
		{"docs/adr.md", false, false},
		{"docs/architecture-decision.md", false, false},
		{"/docs/adr/001.md", false, true},
		{`C:\docs\adr\001.md`, false, true},
		{"docs/adr-0001-use-go.md", false, true}, // single-file ADRs
		{"docs/ADR_0002_storage.md", false, true},
		{"docs/adrenaline.md", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			is := is.New(t)
			is.Equal(ingest.IsRoadmap(tt.path), tt.roadmap)
			is.Equal(ingest.IsADR(tt.path), tt.adr)
		})
	}
}

func TestDocPathsMatch(t *testing.T) {
	is := is.New(t)
	d, err := ingest.CompileDocPaths([]string{"docs/roadmap.md", "docs/adr/", "docs/adr-*.md", " ", "docs/adr"})
	is.NoErr(err)
	is.Equal(d.Len(), 3) // blank and repeated paths dropped

	tests := []struct {
		file, want string
		ok         bool
	}{
		{"docs/roadmap.md", "docs/roadmap.md", true},
		{"docs/adr/0001-record.md", "docs/adr", true},
		{"docs/adr-0007-queues.md", "docs/adr-*.md", true},
		{"docs/guide.md", "", false},
		{"src/main.go", "", false},
	}
	for _, tt := range tests {
		got, ok := d.Match(tt.file)
		is.Equal(ok, tt.ok)
		is.Equal(got, tt.want)
	}
}

func TestCompileDocPathsInvalid(t *testing.T) {
	is := is.New(t)

	_, err := ingest.CompileDocPaths([]string{"docs/**x"})
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), `documentation path: invalid path pattern "docs/**x"`))
}

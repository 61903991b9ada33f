package catalogue_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"docs/**", "docs/generated/index.md", true},
		{"docs/**", "docs", true},
		{"docs/**", "docsx/a.md", false},
		{"docs/generated/**", "docs/generated/a/b/c.md", true},
		{"docs/adr-*.md", "docs/adr-001.md", true},
		{"docs/adr-*.md", "docs/old/adr-001.md", false}, // * stays inside one directory
		{"docs/*/index.md", "docs/api/index.md", true},
		{"docs/*/index.md", "docs/a/b/index.md", false},
		{"**/*.md", "README.md", true},
		{"**/*.md", "a/b/c.md", true},
		{"**/*.md", "a/b/c.txt", false},
		{"docs/**/adr-*.md", "docs/adr-1.md", true},
		{"docs/**/adr-*.md", "docs/x/y/adr-1.md", true},
		{"docs/adr-00?.md", "docs/adr-001.md", true},
		{"docs/adr-00?.md", "docs/adr-0010.md", false},
		{"docs/adr-[0-9]*.md", "docs/adr-7-x.md", true},
		{"docs/adr-[!0-9]*.md", "docs/adr-7.md", false},
		{"docs/adr-[!0-9]*.md", "docs/adr-x.md", true},
		{"docs", "docs/roadmap.md", true}, // a plain path is a directory too
		{"docs", "docs", true},
		{"docs", "docs2/roadmap.md", false},
		{"docs/roadmap.md", "docs/roadmap.md", true},
		{"docs/roadmap.md", "docs/roadmap.md.bak", false},
		{"docs/", "docs/a.md", true},
		{"./docs//adr", `docs\adr\001.md`, true}, // both sides normalized
		{"Docs", "docs/a.md", false},             // case-sensitive, as Git paths are
		{"a+b/(c)", "a+b/(c)/d", true},           // regexp characters are literal
		{"**", "anything/at/all", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			is := is.New(t)
			g, err := catalogue.CompileGlob(tt.pattern)
			is.NoErr(err)
			is.Equal(g.Match(tt.path), tt.want)
		})
	}
}

func TestCompileGlobErrors(t *testing.T) {
	tests := []struct {
		pattern, want string
	}{
		{"", "it is empty"},
		{"  ./  ", "it is empty"},
		{"docs/a**b", `"**" must be a whole segment`},
		{"docs/[abc", "is not closed"},
		{"docs/[!]x", "is empty"},
		{"/docs/roadmap.md", "drop the leading '/'"},
		{"../x", "'..' leaves the repository"},
		{"docs/../../x", "'..' leaves the repository"},
		{"docs/{a,b}.md", "braces are not expanded"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			is := is.New(t)
			_, err := catalogue.CompileGlob(tt.pattern)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want)) // message names the problem
			is.True(strings.Contains(err.Error(), "invalid path pattern"))
		})
	}
}

func TestNormalizePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"docs/", "docs"},
		{" ./docs//adr/ ", "docs/adr"},
		{`docs\adr`, "docs/adr"},
		{"/docs", "/docs"},
		{"a/../b", "a/../b"},
		{"", ""},
		{"./", "."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			is := is.New(t)
			is.Equal(catalogue.NormalizePath(tt.in), tt.want)
		})
	}
}

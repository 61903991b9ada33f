package ingest_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
)

// noise returns enabled settings with every toggle on.
func noise(edit func(n *catalogue.NoiseFilters)) catalogue.NoiseFilters {
	n := catalogue.NoiseFilters{
		Enabled: true,
		Toggles: catalogue.NoiseFilterToggles{
			IgnoreAuthors: true, IgnoreLabels: true, IgnorePaths: true, IgnoreTitlePrefixes: true,
		},
	}
	edit(&n)
	return n
}

func compile(t *testing.T, settings ...catalogue.NoiseFilters) *ingest.NoiseFilter {
	t.Helper()

	f, err := ingest.CompileNoiseFilter(settings...)
	if err != nil {
		t.Fatalf("compile noise filter: %v", err)
	}
	return f
}

func TestNoiseFilterDrops(t *testing.T) {
	authors := noise(func(n *catalogue.NoiseFilters) { n.IgnoreAuthors = []string{"dependabot[bot]"} })
	labels := noise(func(n *catalogue.NoiseFilters) { n.IgnoreLabels = []string{"chore/deps"} })
	prefixes := noise(func(n *catalogue.NoiseFilters) { n.IgnoreTitlePrefixes = []string{"chore:"} })
	paths := noise(func(n *catalogue.NoiseFilters) { n.IgnorePaths = []string{"docs/generated/**"} })
	authorsOff := noise(func(n *catalogue.NoiseFilters) {
		n.IgnoreAuthors = []string{"dependabot[bot]"}
		n.Toggles.IgnoreAuthors = false
	})
	everything := func(n *catalogue.NoiseFilters) {
		n.IgnoreAuthors = []string{"human"}
		n.IgnoreLabels = []string{"ci"}
		n.IgnorePaths = []string{"docs/**"}
		n.IgnoreTitlePrefixes = []string{"fix"}
	}
	disabled := noise(func(n *catalogue.NoiseFilters) { everything(n); n.Enabled = false })
	togglesOff := noise(func(n *catalogue.NoiseFilters) {
		everything(n)
		n.IgnoreAuthors = nil
		n.Toggles = catalogue.NoiseFilterToggles{IgnoreAuthors: true}
	})

	tests := []struct {
		name     string
		settings []catalogue.NoiseFilters
		payload  map[string]any
		want     bool
	}{
		{"bot author", []catalogue.NoiseFilters{authors}, map[string]any{"author_login": "dependabot[bot]"}, true},
		{"author toggle off", []catalogue.NoiseFilters{authorsOff},
			map[string]any{"author_login": "dependabot[bot]"}, false},
		{"title prefix any case", []catalogue.NoiseFilters{prefixes},
			map[string]any{"title": "Chore: bump dependencies"}, true},
		{"label", []catalogue.NoiseFilters{labels}, map[string]any{"labels": []any{"chore/deps", "ci"}}, true},
		{"generated docs", []catalogue.NoiseFilters{paths}, map[string]any{"path": "docs/generated/index.md"}, true},
		{"other docs", []catalogue.NoiseFilters{paths}, map[string]any{"path": "docs/roadmap.md"}, false},
		{"merged labels", []catalogue.NoiseFilters{authors, labels},
			map[string]any{"author_login": "human", "labels": []any{"chore/deps"}}, true},
		{"merged authors", []catalogue.NoiseFilters{authors, labels},
			map[string]any{"author_login": "dependabot[bot]", "labels": []any{"ci"}}, true},
		{"merged prefix", []catalogue.NoiseFilters{prefixes, paths}, map[string]any{"title": "chore: bump deps"}, true},
		{"merged path", []catalogue.NoiseFilters{prefixes, paths},
			map[string]any{"path": "docs/generated/index.md"}, true},
		{"disabled project", []catalogue.NoiseFilters{disabled, noise(func(*catalogue.NoiseFilters) {})},
			map[string]any{"author_login": "human", "labels": []any{"ci"}, "path": "docs/a.md",
				"title": "fix it"}, false},
		{"toggles off", []catalogue.NoiseFilters{togglesOff},
			map[string]any{"author_login": "human", "labels": []any{"ci"}, "path": "docs/a.md",
				"title": "fix it"}, false},
		{"commit message", []catalogue.NoiseFilters{prefixes}, map[string]any{"message": "chore: tidy\n\nbody"}, true},
		{"doc change commit message", []catalogue.NoiseFilters{prefixes},
			map[string]any{"path": "docs/a.md", "metadata": map[string]any{"message": "chore: regen"}}, true},
		{"git author email", []catalogue.NoiseFilters{noise(func(n *catalogue.NoiseFilters) {
			n.IgnoreAuthors = []string{"49699333+dependabot[bot]@users.noreply.github.com"}
		})}, map[string]any{"author_email": "49699333+dependabot[bot]@users.noreply.github.com"}, true},
		{"null author", []catalogue.NoiseFilters{authors}, map[string]any{"author_login": nil}, false},
		{"no settings", nil, map[string]any{"author_login": "dependabot[bot]"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(compile(t, tt.settings...).Drops(tt.payload), tt.want)
		})
	}
}

func TestNoiseFilterNormalizes(t *testing.T) {
	is := is.New(t)
	f := compile(t, noise(func(n *catalogue.NoiseFilters) {
		n.IgnoreAuthors = []string{"Dependabot[bot]", " dependabot[bot]  ", "DEPENDABOT[BOT]"}
		n.IgnoreLabels = []string{"Dependencies", "dependencies", " dependencies "}
		n.IgnorePaths = []string{"docs/", "docs", "src/**", "docs"}
		n.IgnoreTitlePrefixes = []string{"chore:", "Chore:", "fix:", "fix:", "  "}
	}))

	is.Equal(f.Paths(), []string{"docs", "src/**"})
	is.Equal(f.TitlePrefixes(), []string{"chore:", "fix:"})
	is.True(f.Drops(map[string]any{"author_login": "DEPENDABOT[BOT] "}))
	is.True(f.Drops(map[string]any{"labels": []string{" dependencies", "DEpendencies"}}))
	is.True(f.Drops(map[string]any{"path": "docs/README.md"}))
	is.True(f.Drops(map[string]any{"title": "  Chore: normalise and dedupe  "}))
}

func TestNoiseFilterInvalidPath(t *testing.T) {
	is := is.New(t)

	_, err := ingest.CompileNoiseFilter(noise(func(n *catalogue.NoiseFilters) {
		n.IgnorePaths = []string{"docs/[abc"}
	}))
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), `noise filter ignore_paths: invalid path pattern "docs/[abc"`))
}

func TestNilNoiseFilterDropsNothing(t *testing.T) {
	is := is.New(t)

	var f *ingest.NoiseFilter
	is.True(!f.Drops(map[string]any{"author_login": "dependabot[bot]"}))
}

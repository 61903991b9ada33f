package ingest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ghillie/ghillie/catalogue"
)

// NoiseFilter decides which events ingestion drops. It merges the noise
// settings of every project that catalogues a repository. The zero value
// drops nothing.
type NoiseFilter struct {
	authors  map[string]bool
	labels   map[string]bool
	prefixes []string
	paths    []*catalogue.Glob
}

// CompileNoiseFilter merges project noise settings. A project with
// noise disabled contributes nothing, and a list whose toggle is off is
// ignored. Authors, labels and title prefixes are compared trimmed and
// without regard to case; paths are globs (see Glob). An invalid path
// pattern is an error naming it.
func CompileNoiseFilter(settings ...catalogue.NoiseFilters) (*NoiseFilter, error) {
	f := &NoiseFilter{authors: map[string]bool{}, labels: map[string]bool{}}

	for _, s := range settings {
		if !s.Enabled {
			continue
		}
		if s.Toggles.IgnoreAuthors {
			addFolded(f.authors, s.IgnoreAuthors)
		}
		if s.Toggles.IgnoreLabels {
			addFolded(f.labels, s.IgnoreLabels)
		}
		if s.Toggles.IgnoreTitlePrefixes {
			for _, p := range s.IgnoreTitlePrefixes {
				if p = fold(p); p != "" && !slices.Contains(f.prefixes, p) {
					f.prefixes = append(f.prefixes, p)
				}
			}
		}
		if s.Toggles.IgnorePaths {
			if err := f.addPaths(s.IgnorePaths); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

func (f *NoiseFilter) addPaths(patterns []string) error {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			continue
		}
		g, err := catalogue.CompileGlob(p)
		if err != nil {
			return fmt.Errorf("noise filter ignore_paths: %w", err)
		}
		duplicate := slices.ContainsFunc(f.paths, func(old *catalogue.Glob) bool { return old.String() == g.String() })
		if !duplicate {
			f.paths = append(f.paths, g)
		}
	}
	return nil
}

func addFolded(set map[string]bool, values []string) {
	for _, v := range values {
		if v = fold(v); v != "" {
			set[v] = true
		}
	}
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Paths returns the normalized path patterns, in first-seen order.
func (f *NoiseFilter) Paths() []string {
	out := make([]string, len(f.paths))
	for i, g := range f.paths {
		out[i] = g.String()
	}
	return out
}

// TitlePrefixes returns the folded title prefixes, in first-seen order.
func (f *NoiseFilter) TitlePrefixes() []string { return slices.Clone(f.prefixes) }

// Drops reports whether an event with this payload is noise. The payload
// uses the keys of Ghillie's GitHub events. author_login, author_name and
// author_email are matched against the authors, and labels against the
// labels. The first non-blank of title, message and metadata.message is
// matched against the title prefixes, and path against the patterns.
func (f *NoiseFilter) Drops(payload map[string]any) bool {
	if f == nil {
		return false
	}

	for _, key := range []string{"author_login", "author_name", "author_email"} {
		if v, ok := payload[key].(string); ok && f.authors[fold(v)] {
			return true
		}
	}

	if labels, ok := payload["labels"].([]any); ok {
		for _, l := range labels {
			if s, ok := l.(string); ok && f.labels[fold(s)] {
				return true
			}
		}
	}
	if labels, ok := payload["labels"].([]string); ok {
		for _, l := range labels {
			if f.labels[fold(l)] {
				return true
			}
		}
	}

	if title := fold(firstText(payload)); title != "" {
		for _, p := range f.prefixes {
			if strings.HasPrefix(title, p) {
				return true
			}
		}
	}

	if p, ok := payload["path"].(string); ok && strings.TrimSpace(p) != "" {
		for _, g := range f.paths {
			if g.Match(p) {
				return true
			}
		}
	}
	return false
}

// firstText returns the text that title prefixes are matched against.
func firstText(payload map[string]any) string {
	for _, key := range []string{"title", "message"} {
		if s, ok := payload[key].(string); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	if meta, ok := payload["metadata"].(map[string]any); ok {
		if s, ok := meta["message"].(string); ok {
			return s
		}
	}
	return ""
}

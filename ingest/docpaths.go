package ingest

import (
	"fmt"
	"strings"

	"github.com/ghillie/ghillie/catalogue"
)

// IsRoadmap reports whether a documentation path is a roadmap: its name
// contains "roadmap" in any case.
func IsRoadmap(p string) bool {
	return strings.Contains(strings.ToLower(p), "roadmap")
}

// IsADR reports whether a documentation path holds architecture decision
// records. A directory on the path named "adr", starting with "adr." or
// containing "architecture-decision" makes every file below it an ADR,
// and so does a file name starting with "adr-" or "adr_", the common
// naming of single ADR files (docs/adr-0001-use-go.md). The final segment
// counts as a directory unless it has a file extension, so "docs/adr" is
// an ADR directory and "docs/adr.md" is not an ADR. Case does not matter,
// and Windows separators and drive letters are accepted.
func IsADR(p string) bool {
	var segments []string
	for _, seg := range strings.Split(strings.ReplaceAll(strings.ToLower(p), `\`, "/"), "/") {
		if seg != "" && seg != "." {
			segments = append(segments, seg)
		}
	}
	if len(segments) == 0 {
		return false
	}

	dirs := segments
	if last := segments[len(segments)-1]; hasExtension(last) {
		dirs = segments[:len(segments)-1]
		if strings.HasPrefix(last, "adr-") || strings.HasPrefix(last, "adr_") {
			return true
		}
	}
	for _, d := range dirs {
		if d == "adr" || strings.HasPrefix(d, "adr.") || strings.Contains(d, "architecture-decision") {
			return true
		}
	}
	return false
}

// hasExtension reports whether a file name has an extension: a dot after
// its first character.
func hasExtension(name string) bool {
	return strings.LastIndexByte(name, '.') > 0
}

// DocPaths matches changed files against a repository's documentation
// paths: exact files, directories and globs (see Glob).
type DocPaths struct {
	globs []*catalogue.Glob
}

// CompileDocPaths compiles documentation paths, skipping blank ones and
// repeats. An invalid pattern is an error naming it.
func CompileDocPaths(paths []string) (*DocPaths, error) {
	d := &DocPaths{}
	seen := map[string]bool{}
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			continue
		}
		g, err := catalogue.CompileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("documentation path: %w", err)
		}
		if !seen[g.String()] {
			seen[g.String()] = true
			d.globs = append(d.globs, g)
		}
	}
	return d, nil
}

// Match returns the first documentation path that the changed file
// matches, in configured order, and whether there is one.
func (d *DocPaths) Match(file string) (pattern string, ok bool) {
	for _, g := range d.globs {
		if g.Match(file) {
			return g.String(), true
		}
	}
	return "", false
}

// Len returns the number of distinct documentation paths.
func (d *DocPaths) Len() int { return len(d.globs) }

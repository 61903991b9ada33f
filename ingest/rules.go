package ingest

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/store"
)

// rules are the catalogue's settings for ingesting one repository: the
// noise to drop and the documentation paths to watch.
type rules struct {
	noise *NoiseFilter
	docs  []docPattern
}

// docPattern is a documentation path with the history that finds its
// commits: the path itself when it has no wildcard, else the folder
// before the first one (empty for the whole history).
type docPattern struct {
	glob    *catalogue.Glob
	history string

	// file reports a path without wildcards whose last segment has an
	// extension: a file, whose history commits change it. For folders
	// and globs the commits' file lists tell which files changed.
	file bool
}

// loadRules reads the noise settings and documentation paths of every
// project whose components live in the repository, and adds the
// repository's own documentation paths. The projects are read from
// db.Catalogue().
func loadRules(ctx context.Context, db *store.DB, owner, name string, repoDocs []string) (*rules, error) {
	db = db.Catalogue()
	type projectRow struct {
		Key   string                             `db:"key"`
		Noise store.JSON[catalogue.NoiseFilters] `db:"noise"`
		Docs  store.JSON[[]string]               `db:"documentation_paths"`
	}
	var rows []projectRow
	err := db.SelectContext(ctx, &rows, db.Rebind(`
		SELECT DISTINCT p.key, p.noise, p.documentation_paths
		FROM projects p
		JOIN components c ON c.project_id = p.id
		JOIN catalogue_repositories cr ON cr.id = c.repository_id
		WHERE lower(cr.owner) = lower(?) AND lower(cr.name) = lower(?)
		ORDER BY p.key`), owner, name)
	if err != nil {
		return nil, fmt.Errorf("read the catalogue's rules for %s/%s: %w",
			owner, name, store.Classify(err))
	}

	settings := make([]catalogue.NoiseFilters, 0, len(rows))
	paths := slices.Clone(repoDocs)
	for _, r := range rows {
		settings = append(settings, r.Noise.V)
		paths = append(paths, r.Docs.V...)
	}

	noise, err := CompileNoiseFilter(settings...)
	if err != nil {
		return nil, fmt.Errorf("noise filters of %s/%s: %w", owner, name, err)
	}
	docs, err := compileDocPatterns(paths)
	if err != nil {
		return nil, fmt.Errorf("documentation paths of %s/%s: %w", owner, name, err)
	}
	return &rules{noise: noise, docs: docs}, nil
}

// compileDocPatterns compiles documentation paths, dropping blanks and
// repeats.
func compileDocPatterns(paths []string) ([]docPattern, error) {
	var out []docPattern
	seen := map[string]bool{}
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			continue
		}
		g, err := catalogue.CompileGlob(p)
		if err != nil {
			return nil, err
		}
		if seen[g.String()] {
			continue
		}
		seen[g.String()] = true

		prefix, exact := literalPrefix(g.String())
		file := exact && hasExtension(path.Base(g.String()))
		out = append(out, docPattern{glob: g, history: prefix, file: file})
	}
	return out, nil
}

// literalPrefix returns the part of a normalized pattern GitHub's history
// can filter on, and whether that is the whole pattern.
func literalPrefix(pattern string) (string, bool) {
	i := strings.IndexAny(pattern, "*?[")
	if i < 0 {
		return pattern, true
	}
	slash := strings.LastIndexByte(pattern[:i], '/')
	if slash < 0 {
		return "", false
	}
	return pattern[:slash], false
}

// histories returns the distinct history paths of the patterns, in order.
func (r *rules) histories() []string {
	var out []string
	for _, d := range r.docs {
		if !slices.Contains(out, d.history) {
			out = append(out, d.history)
		}
	}
	return out
}

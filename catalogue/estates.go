package catalogue

import (
	"context"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/store"
)

// EstateSummary describes a stored estate and its most recent import.
type EstateSummary struct {
	Key          string `json:"key" yaml:"key"`
	Name         string `json:"name" yaml:"name"`
	Projects     int    `json:"projects" yaml:"projects"`
	Components   int    `json:"components" yaml:"components"`
	Repositories int    `json:"repositories" yaml:"repositories"`

	// LastCommitSHA and LastImportedAt describe the latest recorded
	// import; they are empty when every import ran without a commit.
	LastCommitSHA  string     `json:"last_commit_sha,omitempty" yaml:"last_commit_sha,omitempty"`
	LastImportedAt *time.Time `json:"last_imported_at,omitempty" yaml:"last_imported_at,omitempty"`
}

// ListEstates returns every stored estate, ordered by key, with the number
// of projects, components and distinct repositories it catalogues. It
// reads db.Catalogue().
func ListEstates(ctx context.Context, db *store.DB) ([]EstateSummary, error) {
	db = db.Catalogue()
	var rows []struct {
		Key          string      `db:"key"`
		Name         string      `db:"name"`
		Projects     int         `db:"projects"`
		Components   int         `db:"components"`
		Repositories int         `db:"repositories"`
		CommitSHA    *string     `db:"commit_sha"`
		ImportedAt   *store.Time `db:"imported_at"`
	}
	err := db.SelectContext(ctx, &rows, `
		SELECT e.key, e.name,
			(SELECT count(*) FROM projects p WHERE p.estate_id = e.id) AS projects,
			(SELECT count(*) FROM components c JOIN projects p ON p.id = c.project_id
				WHERE p.estate_id = e.id) AS components,
			(SELECT count(DISTINCT c.repository_id) FROM components c
				JOIN projects p ON p.id = c.project_id WHERE p.estate_id = e.id) AS repositories,
			latest.commit_sha, latest.imported_at
		FROM estates e
		LEFT JOIN catalogue_imports latest ON latest.id = (
			SELECT i.id FROM catalogue_imports i WHERE i.estate_id = e.id
			ORDER BY i.imported_at DESC, i.id DESC LIMIT 1)
		ORDER BY e.key`)
	if err != nil {
		return nil, fmt.Errorf("list estates: %w", store.Classify(err))
	}

	estates := make([]EstateSummary, 0, len(rows))
	for _, r := range rows {
		s := EstateSummary{
			Key: r.Key, Name: r.Name,
			Projects: r.Projects, Components: r.Components, Repositories: r.Repositories,
		}
		if r.CommitSHA != nil {
			s.LastCommitSHA = *r.CommitSHA
		}
		if r.ImportedAt != nil {
			at := r.ImportedAt.Time
			s.LastImportedAt = &at
		}
		estates = append(estates, s)
	}
	return estates, nil
}

// HasProject reports whether the estate with the id catalogues a project
// with the key. It reads db.Catalogue().
func HasProject(ctx context.Context, db *store.DB, estateID, key string) (bool, error) {
	db = db.Catalogue()
	var known int
	err := db.GetContext(ctx, &known, db.Rebind(`SELECT count(*) FROM projects
		WHERE estate_id = ? AND key = ?`), estateID, key)
	if err != nil {
		return false, fmt.Errorf("look up project %q: %w", key, store.Classify(err))
	}
	return known > 0, nil
}

package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ghillie/ghillie/store"
)

// The functions in this file are the registry's only reads of the
// catalogue tables (estates, projects, components and
// catalogue_repositories). Each takes the queryer to read them through:
// store.DB.Catalogue(), or the sync's transaction when the catalogue
// shares the Silver database. No query joins them with Silver tables.

// catalogueRepository is a catalogue_repositories row.
type catalogueRepository struct {
	ID                 string               `db:"id"`
	Owner              string               `db:"owner"`
	Name               string               `db:"name"`
	DefaultBranch      string               `db:"default_branch"`
	IsActive           bool                 `db:"is_active"`
	DocumentationPaths store.JSON[[]string] `db:"documentation_paths"`
}

func (r catalogueRepository) slug() string { return r.Owner + "/" + r.Name }

// findEstateID returns the id of the estate with the key, or an error
// wrapping ErrEstateNotFound.
func findEstateID(ctx context.Context, q queryer, key string) (string, error) {
	var id string
	err := getRow(ctx, q, &id, `SELECT id FROM estates WHERE key = ?`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &detailedError{
			message: fmt.Sprintf("estate %q not found: import the estate's catalogue first, "+
				"or check the key", key),
			sentinel: ErrEstateNotFound,
		}
	}
	if err != nil {
		return "", fmt.Errorf("look up estate %q: %w", key, err)
	}
	return id, nil
}

// findEstateRepositories returns each catalogue repository that a
// component of the estate links, once, ordered by owner and name.
func findEstateRepositories(
	ctx context.Context, q queryer, estateID string,
) ([]catalogueRepository, error) {
	var repos []catalogueRepository
	err := selectRows(ctx, q, &repos, `
		SELECT cr.id, cr.owner, cr.name, cr.default_branch, cr.is_active, cr.documentation_paths
		FROM catalogue_repositories cr
		WHERE cr.id IN (
			SELECT c.repository_id FROM components c
			JOIN projects p ON p.id = c.project_id
			WHERE p.estate_id = ?)
		ORDER BY lower(cr.owner), lower(cr.name), cr.id`, estateID)
	if err != nil {
		return nil, fmt.Errorf("read catalogue repositories of estate %s: %w", estateID, err)
	}
	return repos, nil
}

// isCatalogued reports whether a component of any estate links the
// repository, matched by owner and name without regard to case.
func isCatalogued(ctx context.Context, q queryer, owner, name string) (bool, error) {
	var linked bool
	err := getRow(ctx, q, &linked, `
		SELECT EXISTS (
			SELECT 1 FROM catalogue_repositories cr
			JOIN components c ON c.repository_id = cr.id
			WHERE lower(cr.owner) = lower(?) AND lower(cr.name) = lower(?))`, owner, name)
	if err != nil {
		return false, fmt.Errorf("check whether a catalogue lists %s/%s: %w", owner, name, err)
	}
	return linked, nil
}

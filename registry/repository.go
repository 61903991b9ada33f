package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Repository is a Silver repository row as the registry reports it.
type Repository struct {
	ID            string `json:"id" yaml:"id"`
	Owner         string `json:"owner" yaml:"owner"`
	Name          string `json:"name" yaml:"name"`
	DefaultBranch string `json:"default_branch" yaml:"default_branch"`

	// IngestionEnabled reports whether GitHub ingestion processes the
	// repository.
	IngestionEnabled bool `json:"ingestion_enabled" yaml:"ingestion_enabled"`

	// IngestionOverride is an operator's choice set with SetIngestion, or
	// nil when ingestion follows the catalogue.
	IngestionOverride *bool `json:"ingestion_override" yaml:"ingestion_override"`

	// DocumentationPaths lists the paths, copied from the catalogue, whose
	// changes count as documentation changes. It is never nil.
	DocumentationPaths []string `json:"documentation_paths" yaml:"documentation_paths"`

	// EstateID is the catalogue id of one estate that lists the
	// repository: the first to list it, for as long as it does. When no
	// estate lists the repository any more, it is the last one that did.
	// It is empty for an ad hoc repository.
	EstateID string `json:"estate_id,omitempty" yaml:"estate_id,omitempty"`

	// CatalogueRepositoryID is the catalogue_repositories id the last sync
	// linked, empty for an ad hoc repository.
	CatalogueRepositoryID string `json:"catalogue_repository_id,omitempty" yaml:"catalogue_repository_id,omitempty"`

	// LastSyncedAt is when a sync last changed the row, in UTC, or nil when
	// no sync has.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty" yaml:"last_synced_at,omitempty"`
}

// Slug returns the repository's "owner/name" form.
func (r Repository) Slug() string {
	return r.Owner + "/" + r.Name
}

// repositoryColumns are the columns that repositoryRow scans, for a query
// that names the repositories table r.
const repositoryColumns = `r.id, r.estate_id, r.github_owner, r.github_name, r.default_branch,
	r.catalogue_repository_id, r.catalogue_default_branch, r.ingestion_enabled,
	r.ingestion_override, r.documentation_paths, r.last_synced_at, r.default_branch_observed_at`

// repositoryRow is a row of the Silver repositories table.
type repositoryRow struct {
	ID                     string               `db:"id"`
	EstateID               *string              `db:"estate_id"`
	Owner                  string               `db:"github_owner"`
	Name                   string               `db:"github_name"`
	DefaultBranch          string               `db:"default_branch"`
	CatalogueRepositoryID  *string              `db:"catalogue_repository_id"`
	CatalogueDefaultBranch *string              `db:"catalogue_default_branch"`
	IngestionEnabled       bool                 `db:"ingestion_enabled"`
	IngestionOverride      *bool                `db:"ingestion_override"`
	DocumentationPaths     store.JSON[[]string] `db:"documentation_paths"`
	LastSyncedAt           *store.Time          `db:"last_synced_at"`

	// BranchObservedAt is when the stored default branch was reported,
	// by a commit event or a sync; nil when neither reported it.
	BranchObservedAt *store.Time `db:"default_branch_observed_at"`
}

func (r *repositoryRow) slug() string { return r.Owner + "/" + r.Name }

func (r *repositoryRow) repository() Repository {
	repo := Repository{
		ID:                 r.ID,
		Owner:              r.Owner,
		Name:               r.Name,
		DefaultBranch:      r.DefaultBranch,
		IngestionEnabled:   r.IngestionEnabled,
		IngestionOverride:  r.IngestionOverride,
		DocumentationPaths: nonNil(r.DocumentationPaths.V),
	}
	if r.EstateID != nil {
		repo.EstateID = *r.EstateID
	}
	if r.CatalogueRepositoryID != nil {
		repo.CatalogueRepositoryID = *r.CatalogueRepositoryID
	}
	if r.LastSyncedAt != nil {
		at := r.LastSyncedAt.Time
		repo.LastSyncedAt = &at
	}
	return repo
}

// findRepository returns the row whose owner and name match without regard
// to case, or nil when there is none.
func findRepository(ctx context.Context, q queryer, owner, name string) (*repositoryRow, error) {
	var row repositoryRow
	err := getRow(ctx, q, &row, `SELECT `+repositoryColumns+` FROM repositories r
		WHERE lower(r.github_owner) = lower(?) AND lower(r.github_name) = lower(?)`, owner, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up repository %s/%s: %w", owner, name, err)
	}
	return &row, nil
}

func repositoryNotFound(owner, name string) error {
	return &detailedError{
		message: fmt.Sprintf("repository %s/%s not found: check the owner and name, "+
			"or sync the estate whose catalogue lists it", owner, name),
		sentinel: ErrRepositoryNotFound,
	}
}

// Get returns the repository whose owner and name match without regard to
// case. An unknown repository returns an error wrapping
// ErrRepositoryNotFound, and an empty owner or name, or one containing
// "/", an error wrapping ErrInvalidSlug.
func (s *Service) Get(ctx context.Context, owner, name string) (Repository, error) {
	if err := checkOwnerName(owner, name); err != nil {
		return Repository{}, err
	}

	row, err := findRepository(ctx, s.db, owner, name)
	if err != nil {
		return Repository{}, err
	}
	if row == nil {
		return Repository{}, repositoryNotFound(owner, name)
	}
	return row.repository(), nil
}

// GetBySlug is Get for a slug of the form "owner/name" (see ParseSlug).
func (s *Service) GetBySlug(ctx context.Context, slug string) (Repository, error) {
	owner, name, err := ParseSlug(slug)
	if err != nil {
		return Repository{}, err
	}
	return s.Get(ctx, owner, name)
}

// ListOptions selects and pages the repositories that List returns.
type ListOptions struct {
	// EstateKey keeps only the repositories that the estate's catalogue
	// listed at its last sync. Empty means every repository, ad hoc ones
	// included.
	EstateKey string

	// Ingestion keeps only the repositories whose ingestion_enabled flag
	// has this value. Nil means both.
	Ingestion *bool

	// Limit is the maximum number of repositories returned. Zero means no
	// limit.
	Limit int

	// Offset is the number of repositories skipped before the first one
	// returned.
	Offset int
}

// List returns the repositories that opts selects, ordered by owner and
// then name without regard to case, and by id among equal names, so pages
// follow the same order on SQLite and PostgreSQL.
//
// A negative limit or offset is rejected before any query, and an unknown
// estate key returns an error wrapping ErrEstateNotFound.
func (s *Service) List(ctx context.Context, opts ListOptions) ([]Repository, error) {
	if opts.Limit < 0 {
		return nil, fmt.Errorf("invalid limit %d: must be non-negative, with 0 for no limit", opts.Limit)
	}
	if opts.Offset < 0 {
		return nil, fmt.Errorf("invalid offset %d: must be non-negative", opts.Offset)
	}

	var conditions []string
	var args []any
	if opts.EstateKey != "" {
		estateID, err := findEstateID(ctx, s.db.Catalogue(), opts.EstateKey)
		if err != nil {
			return nil, err
		}
		conditions = append(conditions, `EXISTS (SELECT 1 FROM repository_estates m
			WHERE m.repository_id = r.id AND m.estate_id = ?)`)
		args = append(args, estateID)
	}
	if opts.Ingestion != nil {
		conditions = append(conditions, "r.ingestion_enabled = ?")
		args = append(args, *opts.Ingestion)
	}

	query := "SELECT " + repositoryColumns + " FROM repositories r"
	if len(conditions) > 0 {
		query += " WHERE " + strings.Join(conditions, " AND ")
	}
	query += " ORDER BY " + s.orderBy()
	page, pageArgs := s.pageClause(opts.Limit, opts.Offset)
	query += page
	args = append(args, pageArgs...)

	var rows []repositoryRow
	if err := selectRows(ctx, s.db, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}

	repos := make([]Repository, len(rows))
	for i := range rows {
		repos[i] = rows[i].repository()
	}
	return repos, nil
}

// orderBy sorts by lower-cased owner and name byte by byte. PostgreSQL
// would otherwise compare text with the database's collation, which may
// ignore punctuation and so order pages differently from SQLite.
func (s *Service) orderBy() string {
	collate := ""
	if s.db.Dialect() == store.Postgres {
		collate = ` COLLATE "C"`
	}
	return "lower(r.github_owner)" + collate + ", lower(r.github_name)" + collate + ", r.id"
}

// pageClause returns the LIMIT and OFFSET clause and its arguments. SQLite
// accepts OFFSET only after a LIMIT, where -1 means no limit.
func (s *Service) pageClause(limit, offset int) (string, []any) {
	switch {
	case limit > 0 && offset > 0:
		return " LIMIT ? OFFSET ?", []any{limit, offset}
	case limit > 0:
		return " LIMIT ?", []any{limit}
	case offset > 0 && s.db.Dialect() == store.SQLite:
		return " LIMIT -1 OFFSET ?", []any{offset}
	case offset > 0:
		return " OFFSET ?", []any{offset}
	}
	return "", nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

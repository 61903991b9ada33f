package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/store"
)

// ErrProjectNotFound reports a bundle asked for a project the estate's
// catalogue does not have.
var ErrProjectNotFound = errors.New("project not found")

// ErrEstateNotFound reports a bundle asked for an estate that was never
// imported.
var ErrEstateNotFound = errors.New("estate not found")

// Project builds the bundle of a project of an estate for the window
// [start, end). It holds the project's catalogue metadata, its
// components ordered by key and their dependencies, on components of
// this project or of others. Each
// component carries the latest report of its repository that ended by
// end, and the bundle up to two earlier project reports.
func (b *Builder) Project(ctx context.Context, estateID, projectKey string,
	start, end time.Time) (*ProjectBundle, error) {
	if !end.After(start) {
		return nil, fmt.Errorf("window %s to %s: the end must follow the start",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}

	var p struct {
		ID          string               `db:"id"`
		Key         string               `db:"key"`
		Name        string               `db:"name"`
		Description sql.NullString       `db:"description"`
		Programme   sql.NullString       `db:"programme"`
		Docs        store.JSON[[]string] `db:"documentation_paths"`
	}
	cat := b.db.Catalogue()
	err := cat.GetContext(ctx, &p, cat.Rebind(`SELECT id, key, name, description, programme,
		documentation_paths FROM projects WHERE estate_id = ? AND key = ?`), estateID, projectKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("project %q of estate %s: %w", projectKey, estateID, ErrProjectNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read project %q: %w", projectKey, store.Classify(err))
	}

	bundle := &ProjectBundle{
		Project: Project{Key: p.Key, Name: p.Name, Description: p.Description.String,
			Programme: p.Programme.String, DocumentationPaths: nonNil(p.Docs.V)},
		EstateID: estateID, WindowStart: start.UTC(), WindowEnd: end.UTC(),
		Components: []Component{}, Dependencies: []Dependency{}, PreviousReports: []PreviousReport{},
	}
	if err := b.components(ctx, p.ID, estateID, end, bundle); err != nil {
		return nil, err
	}
	if err := b.dependencies(ctx, p.ID, bundle); err != nil {
		return nil, err
	}

	ref, err := b.gold.ProjectID(ctx, estateID, projectKey)
	if err != nil || ref == "" {
		return bundle, err
	}
	bundle.PreviousReports, err = b.previous(ctx, gold.Subject{Scope: gold.ScopeProject, ID: ref}, start)
	if err != nil {
		return nil, err
	}
	return bundle, nil
}

func (b *Builder) components(ctx context.Context, projectID, estateID string, end time.Time,
	bundle *ProjectBundle) error {
	var rows []struct {
		Key         string               `db:"key"`
		Name        string               `db:"name"`
		Type        string               `db:"type"`
		Lifecycle   string               `db:"lifecycle"`
		Description sql.NullString       `db:"description"`
		Notes       store.JSON[[]string] `db:"notes"`
		RepoID      sql.NullString       `db:"repository_id"`
		Owner       sql.NullString       `db:"owner"`
		RepoName    sql.NullString       `db:"repo_name"`
	}
	cat := b.db.Catalogue()
	err := cat.SelectContext(ctx, &rows, cat.Rebind(`
		SELECT c.key, c.name, c.type, c.lifecycle, c.description, c.notes,
			cr.id AS repository_id, cr.owner, cr.name AS repo_name
		FROM components c
		LEFT JOIN catalogue_repositories cr ON cr.id = c.repository_id
		WHERE c.project_id = ?
		ORDER BY c.key`), projectID)
	if err != nil {
		return fmt.Errorf("read components of project %s: %w", bundle.Project.Key, store.Classify(err))
	}

	var catalogueIDs []string
	for _, r := range rows {
		if r.RepoID.Valid {
			catalogueIDs = append(catalogueIDs, r.RepoID.String)
		}
	}
	silverIDs, err := b.silverRepositoryIDs(ctx, estateID, catalogueIDs)
	if err != nil {
		return fmt.Errorf("read repositories of project %s: %w", bundle.Project.Key, err)
	}

	for _, r := range rows {
		comp := Component{Key: r.Key, Name: r.Name, Type: r.Type, Lifecycle: r.Lifecycle,
			Description: r.Description.String, Notes: nonNil(r.Notes.V)}
		if r.Owner.Valid {
			comp.RepositorySlug = r.Owner.String + "/" + r.RepoName.String
		}
		if silverID, ok := silverIDs[r.RepoID.String]; ok && r.RepoID.Valid {
			summary, err := b.repositorySummary(ctx, silverID, comp.RepositorySlug, end)
			if err != nil {
				return err
			}
			comp.RepositorySummary = summary
		}
		bundle.Components = append(bundle.Components, comp)
	}
	return nil
}

// idBatchSize is the max number of ids in one query, far below the parameter
// limits of SQLite (32766) and PostgreSQL (65535).
const idBatchSize = 500

// silverRepositoryIDs maps catalogue repository ids to the id of the
// Silver repository of the estate linked to each, the smallest when
// several are. The catalogue may live in another database, so the two
// sides are matched here rather than in SQL.
func (b *Builder) silverRepositoryIDs(ctx context.Context, estateID string,
	catalogueIDs []string) (map[string]string, error) {
	ids := make(map[string]string, len(catalogueIDs))
	for batch := range slices.Chunk(catalogueIDs, idBatchSize) {
		query, args, err := sqlx.In(`SELECT r.catalogue_repository_id, min(r.id) AS id
			FROM repositories r
			JOIN repository_estates re ON re.repository_id = r.id AND re.estate_id = ?
			WHERE r.catalogue_repository_id IN (?)
			GROUP BY r.catalogue_repository_id`, estateID, batch)
		if err != nil {
			return nil, err
		}

		var rows []struct {
			CatalogueID string `db:"catalogue_repository_id"`
			SilverID    string `db:"id"`
		}
		if err := b.db.SelectContext(ctx, &rows, b.db.Rebind(query), args...); err != nil {
			return nil, store.Classify(err)
		}
		for _, r := range rows {
			ids[r.CatalogueID] = r.SilverID
		}
	}
	return ids, nil
}

// repositorySummary returns the latest report of a repository whose
// window ended by end, or nil.
func (b *Builder) repositorySummary(ctx context.Context, repoID, slug string,
	end time.Time) (*RepositorySummary, error) {
	reports, err := b.gold.History(ctx, gold.Subject{Scope: gold.ScopeRepository, ID: repoID}, end, 1, 0)
	if err != nil || len(reports) == 0 {
		return nil, err
	}

	r := reports[0]
	return &RepositorySummary{RepositorySlug: slug, ReportID: r.ID, WindowStart: r.WindowStart,
		WindowEnd: r.WindowEnd, Status: r.Summary.Status, Summary: r.Summary.Summary,
		Highlights: r.Summary.Highlights, Risks: r.Summary.Risks, NextSteps: r.Summary.NextSteps,
		GeneratedAt: r.GeneratedAt}, nil
}

// dependencies reads the edges from components of the project, to its
// own components and to other projects' components, whose project they
// name: a blocker in another project is still a blocker.
func (b *Builder) dependencies(ctx context.Context, projectID string, bundle *ProjectBundle) error {
	var rows []struct {
		From         string         `db:"from_key"`
		To           string         `db:"to_key"`
		ToProject    string         `db:"to_project"`
		Relationship string         `db:"relationship"`
		Kind         string         `db:"kind"`
		Rationale    sql.NullString `db:"rationale"`
	}
	cat := b.db.Catalogue()
	err := cat.SelectContext(ctx, &rows, cat.Rebind(`
		SELECT f.key AS from_key, t.key AS to_key,
			CASE WHEN t.project_id = f.project_id THEN '' ELSE tp.key END AS to_project,
			e.relationship, e.kind, e.rationale
		FROM component_edges e
		JOIN components f ON f.id = e.from_component_id
		JOIN components t ON t.id = e.to_component_id
		JOIN projects tp ON tp.id = t.project_id
		WHERE f.project_id = ?
		ORDER BY f.key, t.key, e.relationship`), projectID)
	if err != nil {
		return fmt.Errorf("read dependencies of project %s: %w", bundle.Project.Key, store.Classify(err))
	}

	for _, r := range rows {
		bundle.Dependencies = append(bundle.Dependencies, Dependency{From: r.From, To: r.To,
			ToProject: r.ToProject, Relationship: r.Relationship, Kind: r.Kind,
			Rationale: r.Rationale.String})
	}
	return nil
}

// Estate builds the bundle of an estate for the window [start, end): the
// latest report of each of its projects that ended by end, ordered by
// project key, and up to two earlier estate reports. Projects never
// reported are left out.
func (b *Builder) Estate(ctx context.Context, estateID string, start, end time.Time) (*EstateBundle, error) {
	if !end.After(start) {
		return nil, fmt.Errorf("window %s to %s: the end must follow the start",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}

	var e struct {
		Key  string `db:"key"`
		Name string `db:"name"`
	}
	cat := b.db.Catalogue()
	err := cat.GetContext(ctx, &e, cat.Rebind(`SELECT key, name FROM estates WHERE id = ?`), estateID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("estate %s: %w", estateID, ErrEstateNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read estate %s: %w", estateID, store.Classify(err))
	}

	bundle := &EstateBundle{EstateID: estateID, EstateKey: e.Key, EstateName: e.Name,
		WindowStart: start.UTC(), WindowEnd: end.UTC(), Projects: []ProjectSummary{}}
	var projects []struct {
		Key  string `db:"key"`
		Name string `db:"name"`
	}
	err = cat.SelectContext(ctx, &projects, cat.Rebind(`SELECT key, name FROM projects
		WHERE estate_id = ? ORDER BY key`), estateID)
	if err != nil {
		return nil, fmt.Errorf("read projects of estate %s: %w", e.Key, store.Classify(err))
	}

	for _, p := range projects {
		ref, err := b.gold.ProjectID(ctx, estateID, p.Key)
		if err != nil {
			return nil, err
		}
		if ref == "" {
			continue
		}
		reports, err := b.gold.History(ctx, gold.Subject{Scope: gold.ScopeProject, ID: ref}, end, 1, 0)
		if err != nil {
			return nil, err
		}
		if len(reports) == 0 {
			continue
		}
		r := reports[0]
		bundle.Projects = append(bundle.Projects, ProjectSummary{ProjectKey: p.Key,
			ProjectName: p.Name, ReportID: r.ID, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd,
			Status: r.Summary.Status, Summary: r.Summary.Summary, Highlights: r.Summary.Highlights,
			Risks: r.Summary.Risks, NextSteps: r.Summary.NextSteps, GeneratedAt: r.GeneratedAt})
	}

	bundle.PreviousReports, err = b.previous(ctx, gold.Subject{Scope: gold.ScopeEstate, ID: estateID}, start)
	if err != nil {
		return nil, err
	}
	return bundle, nil
}

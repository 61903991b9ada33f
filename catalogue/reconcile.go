package catalogue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ghillie/ghillie/store"
)

// importRun is the state of one import inside its transaction: the rows
// the estate had before, loaded once, and the tallies of what changed.
type importRun struct {
	tx      *store.Tx
	catalog *Catalogue
	now     store.Time
	result  *ImportResult

	estateID string

	projects   map[string]*projectRow   // by key
	components map[string]*componentRow // by key, across the estate
	surplus    []*componentRow          // rows repeating a key, from older data
	edges      map[edgeKey]*edgeRow
	repos      map[string]*repoRow // by lower-case slug

	// priorRepoIDs are the repositories the estate's components linked
	// before the import: the only ones the import may prune.
	priorRepoIDs map[string]bool
}

type projectRow struct {
	ID          string                     `db:"id"`
	Key         string                     `db:"key"`
	Name        string                     `db:"name"`
	Description *string                    `db:"description"`
	Programme   *string                    `db:"programme"`
	Noise       store.JSON[NoiseFilters]   `db:"noise"`
	Status      store.JSON[StatusSettings] `db:"status_preferences"`
	DocPaths    store.JSON[[]string]       `db:"documentation_paths"`
	kept        bool
}

type componentRow struct {
	ID           string               `db:"id"`
	ProjectID    string               `db:"project_id"`
	RepositoryID *string              `db:"repository_id"`
	Key          string               `db:"key"`
	Name         string               `db:"name"`
	Type         string               `db:"type"`
	Lifecycle    string               `db:"lifecycle"`
	Description  *string              `db:"description"`
	Notes        store.JSON[[]string] `db:"notes"`
	kept         bool
}

type edgeKey struct {
	from, to     string
	relationship Relationship
}

type edgeRow struct {
	ID           int64   `db:"id"`
	From         string  `db:"from_component_id"`
	To           string  `db:"to_component_id"`
	Relationship string  `db:"relationship"`
	Kind         string  `db:"kind"`
	Rationale    *string `db:"rationale"`
	kept         bool
}

type repoRow struct {
	ID            string               `db:"id"`
	Owner         string               `db:"owner"`
	Name          string               `db:"name"`
	DefaultBranch string               `db:"default_branch"`
	DocPaths      store.JSON[[]string] `db:"documentation_paths"`
}

func (r *importRun) apply(ctx context.Context, estate Estate, commitSHA string) error {
	if err := r.tx.Lock(ctx, importLock); err != nil {
		return err
	}

	err := r.upsertEstate(ctx, estate, commitSHA)
	if errors.Is(err, errSkipped) {
		r.result.Skipped = true
		return nil
	}
	if err != nil {
		return err
	}

	if err := r.load(ctx); err != nil {
		return err
	}

	repoIDs, err := r.syncRepositories(ctx)
	if err != nil {
		return err
	}
	if err := r.syncProjects(ctx); err != nil {
		return err
	}
	if err := r.syncComponents(ctx, repoIDs); err != nil {
		return err
	}
	if err := r.syncEdges(ctx); err != nil {
		return err
	}
	if err := r.deleteStale(ctx); err != nil {
		return err
	}
	if err := r.pruneRepositories(ctx, repoIDs); err != nil {
		return err
	}

	if commitSHA == "" {
		return nil
	}

	// A commit imported before (and since replaced) keeps one row, whose
	// time moves to this import.
	record := store.Upsert{
		Table:      "catalogue_imports",
		Columns:    []string{"estate_id", "commit_sha", "imported_at"},
		ConflictOn: []string{"estate_id", "commit_sha"},
		Update:     []string{"imported_at"},
	}
	_, err = r.tx.ExecContext(ctx, record.SQL(r.tx.Dialect()), r.estateID, commitSHA, r.now)
	if err != nil {
		return storeErr("record import", err)
	}
	return nil
}

// upsertEstate finds or creates the estate and returns errSkipped when
// the commit was imported before; a skipped import renames nothing.
func (r *importRun) upsertEstate(ctx context.Context, estate Estate, commitSHA string) error {
	var row struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	err := r.tx.GetContext(ctx, &row, r.tx.Rebind("SELECT id, name FROM estates WHERE key = ?"), estate.Key)
	if errors.Is(err, sql.ErrNoRows) {
		name := estate.Name
		if name == "" {
			name = estate.Key
		}
		r.estateID = store.NewID()
		return r.exec(ctx, "create estate",
			"INSERT INTO estates (id, key, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			r.estateID, estate.Key, name, r.now, r.now)
	}
	if err != nil {
		return storeErr("load estate", err)
	}
	r.estateID = row.ID

	if commitSHA != "" {
		var latest []string
		err := r.tx.SelectContext(ctx, &latest, r.tx.Rebind(`
			SELECT commit_sha FROM catalogue_imports
			WHERE estate_id = ? AND commit_sha IS NOT NULL
			ORDER BY imported_at DESC, id DESC LIMIT 1`), r.estateID)
		if err != nil {
			return storeErr("check earlier imports", err)
		}
		if len(latest) == 1 && latest[0] == commitSHA {
			return errSkipped
		}
	}

	if estate.Name == "" || estate.Name == row.Name {
		return nil
	}
	return r.exec(ctx, "rename estate",
		"UPDATE estates SET name = ?, updated_at = ? WHERE id = ?", estate.Name, r.now, r.estateID)
}

// load reads the estate's projects, components and edges, and the
// repositories that the catalogue names or the estate links.
func (r *importRun) load(ctx context.Context) error {
	var projects []*projectRow
	err := r.tx.SelectContext(ctx, &projects, r.tx.Rebind(`
		SELECT id, key, name, description, programme, noise, status_preferences, documentation_paths
		FROM projects WHERE estate_id = ? ORDER BY created_at, id`), r.estateID)
	if err != nil {
		return storeErr("load projects", err)
	}
	r.projects = make(map[string]*projectRow, len(projects))
	for _, p := range projects {
		r.projects[p.Key] = p
	}

	var components []*componentRow
	err = r.tx.SelectContext(ctx, &components, r.tx.Rebind(`
		SELECT c.id, c.project_id, c.repository_id, c.key, c.name, c.type, c.lifecycle,
			c.description, c.notes
		FROM components c JOIN projects p ON p.id = c.project_id
		WHERE p.estate_id = ? ORDER BY c.created_at, c.id`), r.estateID)
	if err != nil {
		return storeErr("load components", err)
	}
	r.components = make(map[string]*componentRow, len(components))
	r.priorRepoIDs = map[string]bool{}
	for _, c := range components {
		if c.RepositoryID != nil {
			r.priorRepoIDs[*c.RepositoryID] = true
		}
		// Keys were once unique per project only; keep the oldest row.
		if _, dup := r.components[c.Key]; dup {
			r.surplus = append(r.surplus, c)
			continue
		}
		r.components[c.Key] = c
	}

	var edges []*edgeRow
	err = r.tx.SelectContext(ctx, &edges, r.tx.Rebind(`
		SELECT e.id, e.from_component_id, e.to_component_id, e.relationship, e.kind, e.rationale
		FROM component_edges e
		JOIN components c ON c.id = e.from_component_id
		JOIN projects p ON p.id = c.project_id
		WHERE p.estate_id = ?`), r.estateID)
	if err != nil {
		return storeErr("load component edges", err)
	}
	r.edges = make(map[edgeKey]*edgeRow, len(edges))
	for _, e := range edges {
		r.edges[edgeKey{e.From, e.To, Relationship(e.Relationship)}] = e
	}

	return r.loadRepositories(ctx)
}

// loadRepositories reads the stored repositories whose slugs the
// catalogue names, compared without regard to case.
func (r *importRun) loadRepositories(ctx context.Context) error {
	r.repos = map[string]*repoRow{}

	var pairs [][2]string
	seen := map[string]bool{}
	for _, p := range r.catalog.Projects {
		for _, c := range p.Components {
			if c.Repository == nil {
				continue
			}
			slug := slugKey(c.Repository.Owner, c.Repository.Name)
			if !seen[slug] {
				seen[slug] = true
				pairs = append(pairs, [2]string{strings.ToLower(c.Repository.Owner),
					strings.ToLower(c.Repository.Name)})
			}
		}
	}

	// Bound the number of parameters per statement, which SQLite limits.
	const chunk = 200
	for start := 0; start < len(pairs); start += chunk {
		part := pairs[start:min(start+chunk, len(pairs))]
		values := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(part)), ", ")
		args := make([]any, 0, 2*len(part))
		for _, pair := range part {
			args = append(args, pair[0], pair[1])
		}

		var rows []*repoRow
		err := r.tx.SelectContext(ctx, &rows, r.tx.Rebind(`
			SELECT id, owner, name, default_branch, documentation_paths
			FROM catalogue_repositories
			WHERE (lower(owner), lower(name)) IN (VALUES `+values+`)`), args...)
		if err != nil {
			return storeErr("load repositories", err)
		}
		for _, row := range rows {
			r.repos[slugKey(row.Owner, row.Name)] = row
		}
	}
	return nil
}

// desiredRepository merges every component's view of one repository:
// the first spelling and branch (validation rejects disagreement) and the
// documentation paths of all of them, first occurrence first.
type desiredRepository struct {
	Repository
	slug string
}

func (r *importRun) desiredRepositories() []*desiredRepository {
	var order []*desiredRepository
	bySlug := map[string]*desiredRepository{}
	for _, p := range r.catalog.Projects {
		for _, c := range p.Components {
			if c.Repository == nil {
				continue
			}
			slug := slugKey(c.Repository.Owner, c.Repository.Name)
			d, ok := bySlug[slug]
			if !ok {
				d = &desiredRepository{Repository: *c.Repository, slug: slug}
				d.DocumentationPaths = nil
				bySlug[slug] = d
				order = append(order, d)
			}
			d.DocumentationPaths = appendUnique(d.DocumentationPaths, c.Repository.DocumentationPaths...)
		}
	}
	return order
}

// syncRepositories creates and updates the catalogue's repositories and
// returns their ids by lower-case slug.
func (r *importRun) syncRepositories(ctx context.Context) (map[string]string, error) {
	ids := map[string]string{}
	for _, d := range r.desiredRepositories() {
		paths := nonNil(d.DocumentationPaths)

		existing, ok := r.repos[d.slug]
		if !ok {
			id := store.NewID()
			err := r.exec(ctx, "create repository "+d.Slug(), `
				INSERT INTO catalogue_repositories
					(id, owner, name, default_branch, is_active, documentation_paths, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				id, d.Owner, d.Name, d.DefaultBranch, true, store.NewJSON(paths), r.now, r.now)
			if err != nil {
				return nil, err
			}
			ids[d.slug] = id
			r.result.Repositories.Created++
			continue
		}

		ids[d.slug] = existing.ID
		changed := repositoryChanges(existing, d, paths)
		if len(changed) == 0 {
			continue
		}
		if err := r.warnIfShared(ctx, existing, changed); err != nil {
			return nil, err
		}
		err := r.exec(ctx, "update repository "+d.Slug(), `
			UPDATE catalogue_repositories
			SET owner = ?, name = ?, default_branch = ?, documentation_paths = ?, updated_at = ?
			WHERE id = ?`,
			d.Owner, d.Name, d.DefaultBranch, store.NewJSON(paths), r.now, existing.ID)
		if err != nil {
			return nil, err
		}
		r.result.Repositories.Updated++
	}
	return ids, nil
}

// repositoryChanges describes each stored value that the catalogue
// changes, as "field from -> to".
func repositoryChanges(stored *repoRow, d *desiredRepository, paths []string) []string {
	var changes []string
	if stored.Owner+"/"+stored.Name != d.Slug() {
		changes = append(changes, fmt.Sprintf("spelling %s -> %s", stored.Owner+"/"+stored.Name, d.Slug()))
	}
	if stored.DefaultBranch != d.DefaultBranch {
		changes = append(changes, fmt.Sprintf("default_branch %s -> %s", stored.DefaultBranch, d.DefaultBranch))
	}
	if !sameStrings(stored.DocPaths.V, paths) {
		changes = append(changes, fmt.Sprintf("documentation_paths %q -> %q", nonNil(stored.DocPaths.V), paths))
	}
	return changes
}

// warnIfShared records a warning when other estates link a repository
// that this import changes.
//
// NOTE: a repository row is shared by every estate that catalogues it, so
// the last import wins for its branch, spelling and documentation paths.
// Rejecting the change instead would leave no way to change a shared
// repository one catalogue at a time.
func (r *importRun) warnIfShared(ctx context.Context, repo *repoRow, changes []string) error {
	var others []string
	err := r.tx.SelectContext(ctx, &others, r.tx.Rebind(`
		SELECT DISTINCT e.key FROM components c
		JOIN projects p ON p.id = c.project_id
		JOIN estates e ON e.id = p.estate_id
		WHERE c.repository_id = ? AND p.estate_id <> ?
		ORDER BY e.key`), repo.ID, r.estateID)
	if err != nil {
		return storeErr("find estates sharing repository "+repo.Owner+"/"+repo.Name, err)
	}
	if len(others) == 0 {
		return nil
	}

	r.result.Warnings = append(r.result.Warnings, fmt.Sprintf(
		"repository %s/%s is also catalogued by estate %s; this import changed its %s for them too",
		repo.Owner, repo.Name, strings.Join(others, ", "), strings.Join(changes, ", ")))
	return nil
}

func (r *importRun) syncProjects(ctx context.Context) error {
	for i := range r.catalog.Projects {
		p := &r.catalog.Projects[i]
		paths := appendUnique(nil, p.DocumentationPaths...)
		programme := blankToNil(p.Programme)

		existing, ok := r.projects[p.Key]
		if !ok {
			row := &projectRow{ID: store.NewID(), Key: p.Key, kept: true}
			err := r.exec(ctx, "create project "+p.Key, `
				INSERT INTO projects (id, estate_id, key, name, description, programme, noise,
					status_preferences, documentation_paths, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				row.ID, r.estateID, p.Key, p.Name, p.Description, programme, store.NewJSON(p.Noise),
				store.NewJSON(p.Status), store.NewJSON(paths), r.now, r.now)
			if err != nil {
				return err
			}
			r.projects[p.Key] = row
			r.result.Projects.Created++
			continue
		}

		existing.kept = true
		unchanged := existing.Name == p.Name &&
			equalPtr(existing.Description, p.Description) &&
			equalPtr(existing.Programme, programme) &&
			equalNoise(existing.Noise.V, p.Noise) &&
			existing.Status.V == p.Status &&
			sameStrings(existing.DocPaths.V, paths)
		if unchanged {
			continue
		}
		err := r.exec(ctx, "update project "+p.Key, `
			UPDATE projects SET name = ?, description = ?, programme = ?, noise = ?,
				status_preferences = ?, documentation_paths = ?, updated_at = ?
			WHERE id = ?`,
			p.Name, p.Description, programme, store.NewJSON(p.Noise), store.NewJSON(p.Status),
			store.NewJSON(paths), r.now, existing.ID)
		if err != nil {
			return err
		}
		r.result.Projects.Updated++
	}
	return nil
}

func (r *importRun) syncComponents(ctx context.Context, repoIDs map[string]string) error {
	for _, p := range r.catalog.Projects {
		projectID := r.projects[p.Key].ID

		for _, c := range p.Components {
			var repoID *string
			if c.Repository != nil {
				id := repoIDs[slugKey(c.Repository.Owner, c.Repository.Name)]
				repoID = &id
			}
			notes := nonNil(c.Notes)

			existing, ok := r.components[c.Key]
			if !ok {
				row := &componentRow{ID: store.NewID(), Key: c.Key, kept: true}
				err := r.exec(ctx, "create component "+c.Key, `
					INSERT INTO components (id, project_id, repository_id, key, name, type, lifecycle,
						description, notes, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					row.ID, projectID, repoID, c.Key, c.Name, string(c.Type), string(c.Lifecycle),
					c.Description, store.NewJSON(notes), r.now, r.now)
				if err != nil {
					return err
				}
				r.components[c.Key] = row
				r.result.Components.Created++
				continue
			}

			existing.kept = true
			unchanged := existing.ProjectID == projectID &&
				equalPtr(existing.RepositoryID, repoID) &&
				existing.Name == c.Name &&
				existing.Type == string(c.Type) &&
				existing.Lifecycle == string(c.Lifecycle) &&
				equalPtr(existing.Description, c.Description) &&
				sameStrings(existing.Notes.V, notes)
			if unchanged {
				continue
			}
			err := r.exec(ctx, "update component "+c.Key, `
				UPDATE components SET project_id = ?, repository_id = ?, name = ?, type = ?,
					lifecycle = ?, description = ?, notes = ?, updated_at = ?
				WHERE id = ?`,
				projectID, repoID, c.Name, string(c.Type), string(c.Lifecycle), c.Description,
				store.NewJSON(notes), r.now, existing.ID)
			if err != nil {
				return err
			}
			r.result.Components.Updated++
		}
	}
	return nil
}

func (r *importRun) syncEdges(ctx context.Context) error {
	for _, p := range r.catalog.Projects {
		for ci := range p.Components {
			c := &p.Components[ci]
			from := r.components[c.Key].ID

			for _, rel := range Relationships {
				for _, link := range c.Links(rel) {
					if err := r.syncEdge(ctx, from, rel, link); err != nil {
						return err
					}
				}
			}
		}
	}

	for _, e := range r.edges {
		if e.kept {
			continue
		}
		if err := r.exec(ctx, "delete component edge", "DELETE FROM component_edges WHERE id = ?", e.ID); err != nil {
			return err
		}
		r.result.Edges.Deleted++
	}
	return nil
}

func (r *importRun) syncEdge(ctx context.Context, from string, rel Relationship, link ComponentLink) error {
	target, ok := r.components[link.Component]
	if !ok {
		// Validate rejects unknown targets before the transaction starts.
		return errors.New("link to unknown component " + link.Component)
	}
	key := edgeKey{from, target.ID, rel}

	existing, ok := r.edges[key]
	if !ok {
		var id int64
		err := r.tx.GetContext(ctx, &id, r.tx.Rebind(`
			INSERT INTO component_edges (from_component_id, to_component_id, relationship, kind, rationale)
			VALUES (?, ?, ?, ?, ?) RETURNING id`),
			from, target.ID, string(rel), string(link.Kind), link.Rationale)
		if err != nil {
			return storeErr("create component edge", err)
		}
		r.edges[key] = &edgeRow{ID: id, Kind: string(link.Kind), Rationale: link.Rationale, kept: true}
		r.result.Edges.Created++
		return nil
	}

	existing.kept = true
	if existing.Kind == string(link.Kind) && equalPtr(existing.Rationale, link.Rationale) {
		return nil
	}
	err := r.exec(ctx, "update component edge",
		"UPDATE component_edges SET kind = ?, rationale = ? WHERE id = ?",
		string(link.Kind), link.Rationale, existing.ID)
	if err != nil {
		return err
	}
	existing.Kind, existing.Rationale = string(link.Kind), link.Rationale
	r.result.Edges.Updated++
	return nil
}

// deleteStale deletes the components and projects that the catalogue no
// longer lists. Components go first, so that a component moved out of a
// deleted project survives it.
func (r *importRun) deleteStale(ctx context.Context) error {
	stale := slices.Clone(r.surplus)
	for _, c := range r.components {
		if !c.kept {
			stale = append(stale, c)
		}
	}
	for _, c := range stale {
		if err := r.exec(ctx, "delete component "+c.Key, "DELETE FROM components WHERE id = ?", c.ID); err != nil {
			return err
		}
		r.result.Components.Deleted++
	}

	for _, p := range r.projects {
		if p.kept {
			continue
		}
		if err := r.exec(ctx, "delete project "+p.Key, "DELETE FROM projects WHERE id = ?", p.ID); err != nil {
			return err
		}
		r.result.Projects.Deleted++
	}
	return nil
}

// pruneRepositories deletes the repositories that this estate linked
// before the import and that no component of any estate links now.
func (r *importRun) pruneRepositories(ctx context.Context, linked map[string]string) error {
	current := make(map[string]bool, len(linked))
	for _, id := range linked {
		current[id] = true
	}

	for id := range r.priorRepoIDs {
		if current[id] {
			continue
		}
		res, err := r.tx.ExecContext(ctx, r.tx.Rebind(`
			DELETE FROM catalogue_repositories
			WHERE id = ? AND NOT EXISTS (
				SELECT 1 FROM components WHERE components.repository_id = catalogue_repositories.id)`), id)
		if err != nil {
			return storeErr("prune repository", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return storeErr("prune repository", err)
		}
		r.result.Repositories.Deleted += int(n)
	}
	return nil
}

func (r *importRun) exec(ctx context.Context, op, query string, args ...any) error {
	if _, err := r.tx.ExecContext(ctx, r.tx.Rebind(query), args...); err != nil {
		return storeErr(op, err)
	}
	return nil
}

func storeErr(op string, err error) error {
	return fmt.Errorf("%s: %w", op, store.Classify(err))
}

func slugKey(owner, name string) string {
	return strings.ToLower(owner) + "/" + strings.ToLower(name)
}

func appendUnique(dst []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return nonNil(dst)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sameStrings(a, b []string) bool {
	return slices.Equal(nonNil(a), nonNil(b))
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func equalNoise(a, b NoiseFilters) bool {
	return a.Enabled == b.Enabled && a.Toggles == b.Toggles &&
		sameStrings(a.IgnoreAuthors, b.IgnoreAuthors) &&
		sameStrings(a.IgnoreLabels, b.IgnoreLabels) &&
		sameStrings(a.IgnorePaths, b.IgnorePaths) &&
		sameStrings(a.IgnoreTitlePrefixes, b.IgnoreTitlePrefixes)
}

func blankToNil(s *string) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	return s
}

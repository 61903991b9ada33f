package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ghillie/ghillie/store"
)

// SyncResult counts the Silver repositories that a sync changed.
type SyncResult struct {
	// EstateKey is the key of the synced estate.
	EstateKey string `json:"estate_key" yaml:"estate_key"`

	// Created counts repositories inserted into Silver.
	Created int `json:"created" yaml:"created"`

	// Updated counts existing repositories whose row or estate membership
	// changed, and that were not disabled.
	Updated int `json:"updated" yaml:"updated"`

	// Disabled counts repositories whose ingestion the sync turned off
	// because no catalogue lists them any more.
	Disabled int `json:"disabled" yaml:"disabled"`
}

// Sync makes the Silver repositories table match the repositories that the
// estate's catalogue lists, in one transaction.
//
// A listed repository without a Silver row is inserted, with ingestion
// enabled when the catalogue marks it active. An existing row, matched by
// owner and name without regard to case and whatever estate it belongs
// to, is linked to the catalogue repository and joins the estate. Its
// documentation paths follow the catalogue, and so does its ingestion
// unless an operator set it with SetIngestion. Its default branch follows
// the catalogue only when the catalogue's branch changed since the last
// sync, so a branch learnt from GitHub events is otherwise kept.
//
// A repository that the estate listed at its last sync and lists no longer
// leaves the estate. When no estate's catalogue lists it any more, its
// ingestion is disabled and any operator's choice is cleared. Rows are
// never deleted, ad hoc rows are never disabled, and repositories of other
// estates are left alone.
//
// An unknown estate key returns an error wrapping ErrEstateNotFound.
func (s *Service) Sync(ctx context.Context, estateKey string) (SyncResult, error) {
	started := time.Now()
	result := SyncResult{EstateKey: estateKey}

	estateID, err := findEstateID(ctx, s.db.Catalogue(), estateKey)
	if err != nil {
		return result, err
	}
	listed, err := findEstateRepositories(ctx, s.db.Catalogue(), estateID)
	if err != nil {
		return result, fmt.Errorf("sync estate %q: %w", estateKey, err)
	}

	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, registryLock); err != nil {
			return err
		}
		run := &syncRun{tx: tx, catalogue: tx, estateID: estateID, now: store.Now(), result: &result}

		// A separate catalogue database is read outside the transaction.
		// In one database the reads stay in it, because an in-memory
		// SQLite database has only the connection the transaction holds.
		if s.db.SeparateCatalogue() {
			run.catalogue = s.db.Catalogue()
		}
		return run.apply(ctx, listed)
	})
	if err != nil {
		return SyncResult{EstateKey: estateKey}, fmt.Errorf("sync estate %q: %w", estateKey, err)
	}

	s.logger.LogAttrs(ctx, slog.LevelInfo, "registry.sync.completed",
		slog.String("estate_key", estateKey),
		slog.Int("catalogue_repositories", len(listed)),
		slog.Int("created", result.Created),
		slog.Int("updated", result.Updated),
		slog.Int("disabled", result.Disabled),
		slog.Duration("duration", time.Since(started)))
	return result, nil
}

// syncRun is the state of one sync's transaction.
type syncRun struct {
	tx        *store.Tx
	catalogue queryer
	estateID  string
	now       store.Time
	result    *SyncResult
}

func (r *syncRun) apply(ctx context.Context, listed []catalogueRepository) error {
	members, err := r.loadMembers(ctx)
	if err != nil {
		return err
	}
	isMember := make(map[string]bool, len(members))
	for _, row := range members {
		isMember[row.ID] = true
	}

	existing, err := r.loadBySlug(ctx, listed)
	if err != nil {
		return err
	}

	listedSlugs := make(map[string]bool, len(listed))
	for _, repo := range listed {
		key := slugKey(repo.Owner, repo.Name)
		listedSlugs[key] = true

		row, ok := existing[key]
		if !ok {
			row, err = r.create(ctx, repo)
			if err != nil {
				return err
			}
			if row == nil {
				continue
			}
		}
		if err := r.update(ctx, row, repo, isMember[row.ID]); err != nil {
			return err
		}
	}

	for _, row := range members {
		if listedSlugs[slugKey(row.Owner, row.Name)] {
			continue
		}
		if err := r.leave(ctx, row); err != nil {
			return err
		}
	}
	return nil
}

// loadMembers returns the rows that the estate's last sync listed.
func (r *syncRun) loadMembers(ctx context.Context) ([]*repositoryRow, error) {
	var rows []*repositoryRow
	err := selectRows(ctx, r.tx, &rows, `SELECT `+repositoryColumns+` FROM repositories r
		JOIN repository_estates m ON m.repository_id = r.id
		WHERE m.estate_id = ?
		ORDER BY r.id`, r.estateID)
	if err != nil {
		return nil, fmt.Errorf("read repositories of estate %s: %w", r.estateID, err)
	}
	return rows, nil
}

// slugBatchSize bounds the owner and name pairs matched by one query, so
// that its 2 parameters per pair stay far below the limits of both
// databases (32766 on SQLite, 65535 on PostgreSQL).
const slugBatchSize = 500

// loadBySlug returns the rows that match the catalogue repositories by
// owner and name without regard to case, whatever estate they belong to,
// keyed by slugKey.
func (r *syncRun) loadBySlug(
	ctx context.Context, listed []catalogueRepository,
) (map[string]*repositoryRow, error) {
	rows := make(map[string]*repositoryRow, len(listed))
	for batch := range slices.Chunk(listed, slugBatchSize) {
		values := strings.TrimSuffix(strings.Repeat("(lower(?), lower(?)), ", len(batch)), ", ")
		args := make([]any, 0, 2*len(batch))
		for _, repo := range batch {
			args = append(args, repo.Owner, repo.Name)
		}

		var found []*repositoryRow
		err := selectRows(ctx, r.tx, &found, `SELECT `+repositoryColumns+` FROM repositories r
			WHERE (lower(r.github_owner), lower(r.github_name)) IN (VALUES `+values+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read Silver repositories by owner and name: %w", err)
		}
		for _, row := range found {
			rows[slugKey(row.Owner, row.Name)] = row
		}
	}
	return rows, nil
}

// create inserts a Silver row for the catalogue repository and adds it to
// the estate. When a writer outside the sync, such as Silver recording an
// event for the repository, inserted a row since loadBySlug, create
// returns that row for the caller to update, and nil otherwise.
func (r *syncRun) create(ctx context.Context, repo catalogueRepository) (*repositoryRow, error) {
	id := store.NewID()
	paths := nonNil(repo.DocumentationPaths.V)
	inserted, err := execRows(ctx, r.tx, `INSERT INTO repositories
		(id, estate_id, github_owner, github_name, default_branch, catalogue_default_branch,
		 catalogue_repository_id, ingestion_enabled, documentation_paths, last_synced_at,
		 created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		id, r.estateID, repo.Owner, repo.Name, repo.DefaultBranch, repo.DefaultBranch,
		repo.ID, repo.IsActive, store.NewJSON(paths), r.now, r.now, r.now)
	if err != nil {
		return nil, fmt.Errorf("insert repository %s: %w", repo.slug(), err)
	}

	if inserted == 0 {
		row, err := findRepository(ctx, r.tx, repo.Owner, repo.Name)
		if err != nil {
			return nil, err
		}
		if row == nil {
			return nil, fmt.Errorf("insert repository %s: the insert conflicted with a row "+
				"that cannot be found by owner and name", repo.slug())
		}
		return row, nil
	}

	if _, err := r.join(ctx, id); err != nil {
		return nil, err
	}
	r.result.Created++
	return nil, nil
}

// update brings an existing row in line with the catalogue repository and
// adds it to the estate when it is not a member yet.
func (r *syncRun) update(
	ctx context.Context, row *repositoryRow, repo catalogueRepository, member bool,
) error {
	var set assignments
	if row.CatalogueRepositoryID == nil || *row.CatalogueRepositoryID != repo.ID {
		set.add("catalogue_repository_id", repo.ID)
	}

	paths := nonNil(repo.DocumentationPaths.V)
	if !slices.Equal(nonNil(row.DocumentationPaths.V), paths) {
		set.add("documentation_paths", store.NewJSON(paths))
	}

	takeEstate, err := r.needsEstate(ctx, row)
	if err != nil {
		return err
	}
	if takeEstate {
		set.add("estate_id", r.estateID)
	}

	// Silver also learns the default branch from GitHub events. Comparing
	// with the branch the catalogue gave last time, not with the stored
	// branch, keeps a learnt branch until the catalogue itself changes.
	// The catalogue's change is observed now, so commit events older
	// than this sync cannot bring the old branch back.
	//
	// A row that events created before its first sync may hold a branch
	// that a commit event reported. The catalogue's first branch is no
	// change of the catalogue's own, so that branch stays too.
	if row.CatalogueDefaultBranch == nil || *row.CatalogueDefaultBranch != repo.DefaultBranch {
		set.add("catalogue_default_branch", repo.DefaultBranch)
		learnt := row.CatalogueDefaultBranch == nil && row.BranchObservedAt != nil
		if row.DefaultBranch != repo.DefaultBranch && !learnt {
			set.add("default_branch", repo.DefaultBranch)
			set.add("default_branch_observed_at", r.now)
		}
	}

	enabled := repo.IsActive
	if row.IngestionOverride != nil {
		enabled = *row.IngestionOverride
	}
	if row.IngestionEnabled != enabled {
		set.add("ingestion_enabled", enabled)
	}

	joined := false
	if !member {
		if joined, err = r.join(ctx, row.ID); err != nil {
			return err
		}
	}
	if set.empty() && !joined {
		return nil
	}

	if err := r.touch(ctx, row, set); err != nil {
		return err
	}
	r.result.Updated++
	return nil
}

// leave removes the row from the estate, and disables its ingestion when
// no estate's catalogue lists it any more.
func (r *syncRun) leave(ctx context.Context, row *repositoryRow) error {
	_, err := execRows(ctx, r.tx,
		`DELETE FROM repository_estates WHERE repository_id = ? AND estate_id = ?`, row.ID, r.estateID)
	if err != nil {
		return fmt.Errorf("remove repository %s from estate %s: %w", row.slug(), r.estateID, err)
	}

	// estate_id names one estate that lists the repository. When that is
	// this estate, it passes to the remaining member estate with the
	// smallest id, which for UUIDv7 ids is the oldest, or stays when none
	// is left.
	if row.EstateID != nil && *row.EstateID == r.estateID {
		_, err := execRows(ctx, r.tx, `UPDATE repositories SET estate_id = coalesce(
			(SELECT min(m.estate_id) FROM repository_estates m WHERE m.repository_id = ?),
			estate_id) WHERE id = ?`, row.ID, row.ID)
		if err != nil {
			return fmt.Errorf("update estate of repository %s: %w", row.slug(), err)
		}
	}

	var set assignments
	disabled := false
	if row.CatalogueRepositoryID != nil {
		catalogued, err := isCatalogued(ctx, r.catalogue, row.Owner, row.Name)
		if err != nil {
			return err
		}
		// Removal from every catalogue outranks an operator's earlier
		// choice to ingest, so that choice is cleared too. A choice not
		// to ingest is kept, so that a repository that leaves the
		// catalogues and comes back, as after a typo in a catalogue,
		// stays disabled until an operator enables it.
		if !catalogued {
			set.add("ingestion_enabled", false)
			if row.IngestionOverride == nil || *row.IngestionOverride {
				set.add("ingestion_override", nil)
			}
			disabled = row.IngestionEnabled
		}
	}

	if err := r.touch(ctx, row, set); err != nil {
		return err
	}
	if disabled {
		r.result.Disabled++
	} else {
		r.result.Updated++
	}
	return nil
}

// needsEstate reports whether the row's estate_id should name this
// estate: when it names no estate, or one that no longer lists the
// repository, as after every estate dropped it.
func (r *syncRun) needsEstate(ctx context.Context, row *repositoryRow) (bool, error) {
	if row.EstateID == nil {
		return true, nil
	}
	if *row.EstateID == r.estateID {
		return false, nil
	}

	var listed bool
	err := getRow(ctx, r.tx, &listed, `SELECT EXISTS (SELECT 1 FROM repository_estates
		WHERE repository_id = ? AND estate_id = ?)`, row.ID, *row.EstateID)
	if err != nil {
		return false, fmt.Errorf("read estates of repository %s: %w", row.slug(), err)
	}
	return !listed, nil
}

// join adds the row to the estate and reports whether it was not a member
// already.
func (r *syncRun) join(ctx context.Context, repositoryID string) (bool, error) {
	n, err := execRows(ctx, r.tx, `INSERT INTO repository_estates (repository_id, estate_id)
		VALUES (?, ?) ON CONFLICT DO NOTHING`, repositoryID, r.estateID)
	if err != nil {
		return false, fmt.Errorf("add repository %s to estate %s: %w", repositoryID, r.estateID, err)
	}
	return n > 0, nil
}

// touch applies the assignments to the row and records the sync's time.
// Only the changed columns are written, so a concurrent change to another
// column, such as Silver updating the default branch, is not overwritten.
func (r *syncRun) touch(ctx context.Context, row *repositoryRow, set assignments) error {
	set.add("last_synced_at", r.now)
	set.add("updated_at", r.now)
	args := append(set.values, row.ID)
	_, err := execRows(ctx, r.tx, `UPDATE repositories SET `+set.sql()+` WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("update repository %s: %w", row.slug(), err)
	}
	return nil
}

// assignments collects the columns of an UPDATE's SET clause.
type assignments struct {
	columns []string
	values  []any
}

func (a *assignments) add(column string, value any) {
	a.columns = append(a.columns, column)
	a.values = append(a.values, value)
}

func (a *assignments) empty() bool { return len(a.columns) == 0 }

func (a *assignments) sql() string {
	return strings.Join(a.columns, " = ?, ") + " = ?"
}

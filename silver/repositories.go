package silver

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ghillie/ghillie/store"
)

// adHocDefaultBranch is the default branch of a repository created from
// events when no commit event has named one.
const adHocDefaultBranch = "main"

// repoRef is a repository as a payload spells it.
type repoRef struct {
	owner, name string
}

func (r repoRef) String() string { return r.owner + "/" + r.name }

// foldedKey groups spellings of one repository, as the unique index on
// (lower(github_owner), lower(github_name)) does for ASCII names.
func (r repoRef) foldedKey() string { return strings.ToLower(r.owner) + "/" + strings.ToLower(r.name) }

// storedRepository is a row of repositories.
type storedRepository struct {
	id            string
	defaultBranch string
}

// selectRepositoriesSQL finds repositories by owner and name, ignoring
// case as GitHub does. It returns each spelling it was given next to the
// row, so the caller matches rows to spellings by the database's own case
// folding. VALUES columns are named column1 and column2 on both
// databases.
func selectRepositoriesSQL(d store.Dialect, refs int) string {
	return d.Rebind(`SELECT v.column1, v.column2, r.id, r.default_branch
		FROM (VALUES ` + valuesRows(refs, 2) + `) AS v
		JOIN repositories r ON lower(r.github_owner) = lower(v.column1)
			AND lower(r.github_name) = lower(v.column2)`)
}

// insertRepositoriesSQL creates ad hoc repositories: not in the catalogue
// and with ingestion disabled. A repository that another transformer or
// the registry created first is left as it is.
func insertRepositoriesSQL(d store.Dialect, rows int) string {
	return d.Rebind(`INSERT INTO repositories (id, github_owner, github_name, default_branch,
		ingestion_enabled, created_at, updated_at) VALUES ` + valuesRows(rows, 7) +
		" ON CONFLICT DO NOTHING")
}

// updateDefaultBranchSQL stores the default branch that a commit event
// reported.
const updateDefaultBranchSQL = `UPDATE repositories SET default_branch = ?, updated_at = ?
	WHERE id = ? AND default_branch <> ?`

// entityRepo returns the repository that an entity event's payload names.
func entityRepo(ev *event) repoRef {
	switch p := ev.entity.(type) {
	case CommitPayload:
		return repoRef{p.RepoOwner, p.RepoName}
	case PullRequestPayload:
		return repoRef{p.RepoOwner, p.RepoName}
	case IssuePayload:
		return repoRef{p.RepoOwner, p.RepoName}
	case DocChangePayload:
		return repoRef{p.RepoOwner, p.RepoName}
	}
	panic(fmt.Sprintf("silver: raw event %d has no entity payload", ev.raw.id))
}

// reportedBranch returns the non-empty default branch of a commit event.
func reportedBranch(ev *event) (string, bool) {
	p, ok := ev.entity.(CommitPayload)
	if !ok || p.DefaultBranch == nil || *p.DefaultBranch == "" {
		return "", false
	}
	return *p.DefaultBranch, true
}

// resolveRepositories sets the repository id of every event, creating
// missing repositories, and stores the default branch that the last
// commit event of each repository reported. Applying all events at once
// leaves the same branch as applying them in order, because only the last
// reported branch survives.
func resolveRepositories(ctx context.Context, tx *store.Tx, events []*event, now store.Time) error {
	var refs []repoRef
	seen := map[repoRef]bool{}
	lastBranch := map[string]string{}
	for _, ev := range events {
		ref := entityRepo(ev)
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
		if branch, ok := reportedBranch(ev); ok {
			lastBranch[ref.foldedKey()] = branch
		}
	}

	found, err := selectRepositories(ctx, tx, refs)
	if err != nil {
		return err
	}

	var missing []repoRef
	for _, ref := range refs {
		if _, ok := found[ref]; !ok {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		if err := insertRepositories(ctx, tx, missing, lastBranch, now); err != nil {
			return err
		}
		created, err := selectRepositories(ctx, tx, missing)
		if err != nil {
			return err
		}
		for _, ref := range missing {
			repo, ok := created[ref]
			if !ok {
				// Another transaction deleted it meanwhile, and running the
				// batch again settles it.
				return fmt.Errorf("repository %s is missing right after it was inserted: %w",
					ref, store.ErrConflict)
			}
			found[ref] = repo
		}
	}

	branches := map[string]string{}
	for _, ev := range events {
		repo := found[entityRepo(ev)]
		ev.repoID = repo.id
		if branch, ok := reportedBranch(ev); ok {
			branches[repo.id] = branch
		}
	}
	return updateDefaultBranches(ctx, tx, found, branches, now)
}

func selectRepositories(ctx context.Context, tx *store.Tx, refs []repoRef,
) (map[repoRef]storedRepository, error) {
	found := make(map[repoRef]storedRepository, len(refs))
	for _, chunk := range chunks(refs, maxIDsPerStatement/2) {
		args := make([]any, 0, 2*len(chunk))
		for _, ref := range chunk {
			args = append(args, ref.owner, ref.name)
		}

		rows, err := tx.QueryContext(ctx, selectRepositoriesSQL(tx.Dialect(), len(chunk)), args...)
		if err != nil {
			return nil, fmt.Errorf("find repositories: %w", store.Classify(err))
		}
		for rows.Next() {
			var ref repoRef
			var repo storedRepository
			if err := rows.Scan(&ref.owner, &ref.name, &repo.id, &repo.defaultBranch); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find repositories: %w", store.Classify(err))
			}
			found[ref] = repo
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("find repositories: %w", store.Classify(err))
		}
	}
	return found, nil
}

// insertRepositories creates ad hoc repositories, with the last default
// branch that a commit event reported for them, or adHocDefaultBranch.
// Spellings that differ only in case are all offered: the unique index
// keeps the first, by the database's own case folding.
func insertRepositories(ctx context.Context, tx *store.Tx, refs []repoRef, lastBranch map[string]string,
	now store.Time,
) error {
	sorted := slices.Clone(refs)

	// Inserting in one order keeps concurrent transformers from waiting
	// on each other's new rows in a cycle.
	slices.SortFunc(sorted, func(a, b repoRef) int {
		return cmp.Or(cmp.Compare(a.foldedKey(), b.foldedKey()), cmp.Compare(a.String(), b.String()))
	})

	for _, chunk := range chunks(sorted, maxRowsPerStatement) {
		args := make([]any, 0, 7*len(chunk))
		for _, ref := range chunk {
			branch, ok := lastBranch[ref.foldedKey()]
			if !ok {
				branch = adHocDefaultBranch
			}
			args = append(args, store.NewID(), ref.owner, ref.name, branch, false, now, now)
		}
		query := insertRepositoriesSQL(tx.Dialect(), len(chunk))
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("create repositories: %w", store.Classify(err))
		}
	}
	return nil
}

// updateDefaultBranches stores reported branches that differ from the
// stored ones, bumping updated_at.
func updateDefaultBranches(ctx context.Context, tx *store.Tx, found map[repoRef]storedRepository,
	branches map[string]string, now store.Time,
) error {
	stored := map[string]string{}
	for _, repo := range found {
		stored[repo.id] = repo.defaultBranch
	}

	ids := make([]string, 0, len(branches))
	for id, branch := range branches {
		if stored[id] != branch {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)

	for _, id := range ids {
		branch := branches[id]
		_, err := tx.ExecContext(ctx, tx.Rebind(updateDefaultBranchSQL), branch, now, id, branch)
		if err != nil {
			return fmt.Errorf("update default branch of repository %s: %w", id, store.Classify(err))
		}
	}
	return nil
}

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

	// slug is the stored spelling of owner/name.
	slug string
}

// selectRepositoriesSQL finds repositories by owner and name, ignoring
// case as GitHub does. It returns each spelling it was given next to the
// row, so the caller matches rows to spellings by the database's own case
// folding. VALUES columns are named column1 and column2 on both
// databases.
func selectRepositoriesSQL(d store.Dialect, refs int) string {
	return d.Rebind(`SELECT v.column1, v.column2, r.id, r.default_branch, r.github_owner,
			r.github_name
		FROM (VALUES ` + valuesRows(refs, 2) + `) AS v
		JOIN repositories r ON lower(r.github_owner) = lower(v.column1)
			AND lower(r.github_name) = lower(v.column2)`)
}

// insertRepositoriesSQL creates ad hoc repositories: not in the catalogue
// and with ingestion disabled. A repository that another transformer or
// the registry created first is left as it is.
func insertRepositoriesSQL(d store.Dialect, rows int) string {
	return d.Rebind(`INSERT INTO repositories (id, github_owner, github_name, default_branch,
		default_branch_observed_at, ingestion_enabled, created_at, updated_at) VALUES ` +
		valuesRows(rows, 8) +
		" ON CONFLICT DO NOTHING")
}

// updateDefaultBranchSQL stores the default branch that a commit event
// reported, unless a newer observation already set the stored one. An
// equally old observation with another branch wins, as the later
// processed of two simultaneous reports.
const updateDefaultBranchSQL = `UPDATE repositories
	SET default_branch = ?, default_branch_observed_at = ?, updated_at = ?
	WHERE id = ? AND (default_branch_observed_at IS NULL OR default_branch_observed_at < ?
		OR (default_branch_observed_at = ? AND default_branch <> ?))`

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

// branchReport is a default branch and when a commit event reported it.
type branchReport struct {
	branch     string
	observedAt store.Time
}

// newer reports whether r should replace the report old: it was observed
// later, or at the same time and processed later.
func (r branchReport) newer(old branchReport, exists bool) bool {
	return !exists || !r.observedAt.Before(old.observedAt.Time)
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
// missing repositories with the default branch that their newest commit
// event reported. storeDefaultBranches updates the branches of the
// others.
func resolveRepositories(ctx context.Context, tx *store.Tx, events []*event, now store.Time) error {
	var refs []repoRef
	seen := map[repoRef]bool{}
	lastBranch := map[string]branchReport{}
	for _, ev := range events {
		ref := entityRepo(ev)
		if !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
		if branch, ok := reportedBranch(ev); ok {
			report := branchReport{branch, ev.raw.occurredAt}
			old, exists := lastBranch[ref.foldedKey()]
			if report.newer(old, exists) {
				lastBranch[ref.foldedKey()] = report
			}
		}
	}

	found, err := selectRepositories(ctx, tx, refs)
	if err != nil {
		return err
	}

	// A new repository takes the spelling of its first event, whatever
	// the batch size, so only that spelling is offered for insertion.
	var missing, offered []repoRef
	firstSpelling := map[string]bool{}
	for _, ref := range refs {
		if _, ok := found[ref]; ok {
			continue
		}
		missing = append(missing, ref)
		if !firstSpelling[ref.foldedKey()] {
			firstSpelling[ref.foldedKey()] = true
			offered = append(offered, ref)
		}
	}
	if len(missing) > 0 {
		if err := insertRepositories(ctx, tx, offered, lastBranch, now); err != nil {
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

	respelt := map[int64]string{}
	for _, ev := range events {
		repo := found[entityRepo(ev)]
		ev.repoID = repo.id

		if *ev.raw.repoExternalID != repo.slug {
			respelt[ev.raw.id] = repo.slug
		}
	}
	return respellFacts(ctx, tx, respelt)
}

// respellFacts gives event facts the stored spelling of their repository.
// Reports select a repository's facts by that spelling, so a fact of an
// event that spelt its repository otherwise would never be reported.
// Such events are rare, so each takes a statement of its own.
func respellFacts(ctx context.Context, tx *store.Tx, slugs map[int64]string) error {
	ids := make([]int64, 0, len(slugs))
	for id := range slugs {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	for _, id := range ids {
		_, err := tx.ExecContext(ctx, tx.Rebind(
			"UPDATE event_facts SET repo_external_id = ? WHERE raw_event_id = ?"), slugs[id], id)
		if err != nil {
			return fmt.Errorf("respell the event fact of raw event %d: %w", id, store.Classify(err))
		}
	}
	return nil
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
			var owner, name string
			if err := rows.Scan(&ref.owner, &ref.name, &repo.id, &repo.defaultBranch,
				&owner, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find repositories: %w", store.Classify(err))
			}
			repo.slug = owner + "/" + name
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

// insertRepositories creates ad hoc repositories, with the newest default
// branch that a commit event reported for them, or adHocDefaultBranch. A
// repository that exists by then, in any spelling, is left as it is.
func insertRepositories(ctx context.Context, tx *store.Tx, refs []repoRef, lastBranch map[string]branchReport,
	now store.Time,
) error {
	sorted := slices.Clone(refs)

	// Inserting in one order keeps concurrent transformers from waiting
	// on each other's new rows in a cycle.
	slices.SortFunc(sorted, func(a, b repoRef) int {
		return cmp.Or(cmp.Compare(a.foldedKey(), b.foldedKey()), cmp.Compare(a.String(), b.String()))
	})

	for _, chunk := range chunks(sorted, maxRowsPerStatement) {
		args := make([]any, 0, 8*len(chunk))
		for _, ref := range chunk {
			branch, observed := adHocDefaultBranch, (*store.Time)(nil)
			if report, ok := lastBranch[ref.foldedKey()]; ok {
				branch, observed = report.branch, &report.observedAt
			}
			args = append(args, store.NewID(), ref.owner, ref.name, branch, observed, false, now, now)
		}
		query := insertRepositoriesSQL(tx.Dialect(), len(chunk))
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("create repositories: %w", store.Classify(err))
		}
	}
	return nil
}

// storeDefaultBranches stores the default branch that the newest commit
// event of each repository reported, when it is newer than the stored
// one, and bumps updated_at. The stored branch keeps the time of its
// observation, so an older report processed later does not replace a
// newer branch. Failed events report nothing.
//
// It runs last in a batch because the updates lock the repositories'
// rows until the batch commits. Every batch of an active estate updates
// the same few rows, so when the updates ran first, a concurrent batch
// waited for all of this one's work.
func storeDefaultBranches(ctx context.Context, tx *store.Tx, events []*event, now store.Time) error {
	branches := map[string]branchReport{}
	for _, ev := range events {
		branch, ok := reportedBranch(ev)
		if !ok || ev.failure != nil || ev.repoID == "" {
			continue
		}
		report := branchReport{branch, ev.raw.occurredAt}
		old, exists := branches[ev.repoID]
		if report.newer(old, exists) {
			branches[ev.repoID] = report
		}
	}

	ids := make([]string, 0, len(branches))
	for id := range branches {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	for _, id := range ids {
		r := branches[id]
		_, err := tx.ExecContext(ctx, tx.Rebind(updateDefaultBranchSQL),
			r.branch, r.observedAt, now, id, r.observedAt, r.observedAt, r.branch)
		if err != nil {
			return fmt.Errorf("update default branch of repository %s: %w", id, store.Classify(err))
		}
	}
	return nil
}

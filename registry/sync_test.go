package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestSyncCreatesRepositories(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")

		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Created: 6})

		repo := getRepo(t, svc, "leynos/wildside")
		is.True(repo.IngestionEnabled)
		is.Equal(repo.IngestionOverride, nil)
		is.Equal(repo.DefaultBranch, "main")
		is.Equal(repo.CatalogueRepositoryID, catalogueRepositoryID(t, db, "leynos", "wildside"))
		is.Equal(repo.EstateID, estateID(t, db, "test"))
		is.True(repo.LastSyncedAt != nil)
		is.Equal(memberEstates(t, db, repo.ID), []string{"test"})
		is.Equal(count(t, db, "repositories"), 6)
		is.Equal(count(t, db, "repository_estates"), 6)
	})
}

func TestSyncTwiceChangesNothing(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")
		first := getRepo(t, svc, "leynos/wildside")

		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test"})

		again := getRepo(t, svc, "leynos/wildside")
		is.Equal(again, first) // last_synced_at included
		is.Equal(count(t, db, "repositories"), 6)
	})
}

func TestSyncUpdatesExistingRow(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		id := insertRepository(t, db, "leynos", "wildside", "develop", false)
		importExample(t, db, "test")

		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Created: 5, Updated: 1})

		repo := getRepo(t, svc, "leynos/wildside")
		is.Equal(repo.ID, id)
		is.Equal(repo.DefaultBranch, "main") // no catalogue branch was recorded before
		is.True(repo.IngestionEnabled)
		is.Equal(repo.EstateID, estateID(t, db, "test"))
		is.Equal(repo.CatalogueRepositoryID, catalogueRepositoryID(t, db, "leynos", "wildside"))
		is.Equal(repo.DocumentationPaths, []string{"docs/roadmap.md", "docs/adr/"})
		is.True(repo.LastSyncedAt != nil)
		is.Equal(memberEstates(t, db, id), []string{"test"})
	})
}

func TestSyncAdoptsAdHocRowIgnoringCase(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		id := insertRepository(t, db, "Leynos", "WildSide", "main", false)
		importExample(t, db, "test")

		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Created: 5, Updated: 1})
		is.Equal(count(t, db, "repositories"), 6)

		repo := getRepo(t, svc, "leynos/wildside")
		is.Equal(repo.ID, id)
		is.Equal(repo.Slug(), "Leynos/WildSide") // the stored spelling is kept
		is.True(repo.IngestionEnabled)
		is.Equal(repo.CatalogueRepositoryID, catalogueRepositoryID(t, db, "leynos", "wildside"))
		is.Equal(repo.EstateID, estateID(t, db, "test"))
	})
}

func TestSyncPropagatesCatalogueInactive(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")

		exec(t, db.Catalogue(), "UPDATE catalogue_repositories SET is_active = ? WHERE name = ?", false, "wildside")
		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Updated: 1})
		is.True(!getRepo(t, svc, "leynos/wildside").IngestionEnabled)
		is.Equal(getRepo(t, svc, "leynos/wildside").IngestionOverride, nil)

		exec(t, db.Catalogue(), "UPDATE catalogue_repositories SET is_active = ? WHERE name = ?", true, "wildside")
		res = syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Updated: 1})
		is.True(getRepo(t, svc, "leynos/wildside").IngestionEnabled)
	})
}

func TestSyncDisablesDeletedCatalogueRepository(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")
		catalogueID := catalogueRepositoryID(t, db, "leynos", "wildside-engine")

		exec(t, db.Catalogue(), "DELETE FROM catalogue_repositories WHERE id = ?", catalogueID)
		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Disabled: 1})

		engine := getRepo(t, svc, "leynos/wildside-engine") // the row is kept
		is.True(!engine.IngestionEnabled)
		is.Equal(engine.CatalogueRepositoryID, catalogueID)
		is.Equal(engine.EstateID, estateID(t, db, "test"))
		is.Equal(memberEstates(t, db, engine.ID), []string{})
		is.Equal(count(t, db, "repositories"), 6)

		res = syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test"})
	})
}

func TestSyncDisablesRepositoryDroppedFromCatalogue(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a", "org/b"))
		syncEstate(t, svc, "alpha")

		importYAML(t, db, "alpha", catalogueYAML("org/a"))
		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Disabled: 1})
		is.True(getRepo(t, svc, "org/a").IngestionEnabled)
		is.True(!getRepo(t, svc, "org/b").IngestionEnabled)
	})
}

func TestSyncLeavesOtherEstatesAlone(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "beta", catalogueYAML("org/beta-repo"))
		syncEstate(t, svc, "beta")
		importYAML(t, db, "alpha", catalogueYAML())

		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha"})

		repo := getRepo(t, svc, "org/beta-repo")
		is.True(repo.IngestionEnabled)
		is.Equal(repo.EstateID, estateID(t, db, "beta"))
		is.Equal(memberEstates(t, db, repo.ID), []string{"beta"})
	})
}

func TestSyncIgnoresRowsWithoutEstate(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		// A row linked to a catalogue repository but to no estate, such as
		// one written before estate membership was recorded.
		id := insertRepository(t, db, "org", "orphan", "main", true)
		exec(t, db, "UPDATE repositories SET catalogue_repository_id = ? WHERE id = ?", store.NewID(), id)
		importYAML(t, db, "alpha", catalogueYAML("org/a"))

		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Created: 1})

		orphan := getRepo(t, svc, "org/orphan")
		is.True(orphan.IngestionEnabled)
		is.Equal(orphan.LastSyncedAt, nil)
	})
}

func TestSyncNeverDisablesAdHocRows(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		insertRepository(t, db, "org", "adhoc", "main", false)
		changed, err := svc.Enable(context.Background(), "org", "adhoc")
		is.NoErr(err)
		is.True(changed)
		importYAML(t, db, "alpha", catalogueYAML("org/a"))

		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Created: 1})

		adhoc := getRepo(t, svc, "org/adhoc")
		is.True(adhoc.IngestionEnabled)
		is.Equal(adhoc.EstateID, "")
		is.Equal(adhoc.CatalogueRepositoryID, "")
		is.Equal(adhoc.LastSyncedAt, nil)
	})
}

func TestSyncUnknownEstate(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)

		res, err := svc.Sync(context.Background(), "nonexistent-estate")
		is.True(errors.Is(err, registry.ErrEstateNotFound))
		is.True(strings.Contains(err.Error(), `estate "nonexistent-estate" not found`))
		is.True(strings.Contains(err.Error(), "import the estate's catalogue first"))
		is.Equal(res, registry.SyncResult{EstateKey: "nonexistent-estate"})
		is.Equal(count(t, db, "repositories"), 0)
	})
}

func TestSyncCopiesDocumentationPaths(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")

		is.Equal(getRepo(t, svc, "leynos/wildside").DocumentationPaths,
			[]string{"docs/roadmap.md", "docs/adr/"})
		is.Equal(getRepo(t, svc, "leynos/wildside-engine").DocumentationPaths, []string{})

		importYAML(t, db, "test", `
version: 1
projects:
  - key: wildside
    name: Wildside
    components:
      - key: wildside-core
        name: Core
        repository:
          owner: leynos
          name: wildside
          default_branch: main
          documentation_paths: [docs/adr/, docs/design.md]
`)
		res := syncEstate(t, svc, "test")
		is.Equal(res, registry.SyncResult{EstateKey: "test", Updated: 1, Disabled: 5})
		is.Equal(getRepo(t, svc, "leynos/wildside").DocumentationPaths,
			[]string{"docs/adr/", "docs/design.md"})
	})
}

func TestSyncKeepsOperatorDisable(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a"))
		syncEstate(t, svc, "alpha")

		changed, err := svc.Disable(ctx, "org", "a")
		is.NoErr(err)
		is.True(changed)

		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha"})
		is.True(!getRepo(t, svc, "org/a").IngestionEnabled)

		// A later catalogue change does not undo the operator's choice.
		importYAML(t, db, "alpha", catalogueYAML("org/a@develop"))
		res = syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
		repo := getRepo(t, svc, "org/a")
		is.Equal(repo.DefaultBranch, "develop")
		is.True(!repo.IngestionEnabled)
		is.Equal(repo.IngestionOverride, ptr(false))

		changed, err = svc.Enable(ctx, "org", "a")
		is.NoErr(err)
		is.True(changed)
		is.True(getRepo(t, svc, "org/a").IngestionEnabled)
	})
}

func TestSyncKeepsOperatorEnable(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a"))
		syncEstate(t, svc, "alpha")
		_, err := svc.Enable(context.Background(), "org", "a")
		is.NoErr(err)

		exec(t, db.Catalogue(), "UPDATE catalogue_repositories SET is_active = ? WHERE name = ?", false, "a")
		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha"})
		is.True(getRepo(t, svc, "org/a").IngestionEnabled)
	})
}

func TestSyncRemovalOutranksOperatorEnable(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a", "org/b"))
		syncEstate(t, svc, "alpha")
		_, err := svc.Enable(context.Background(), "org", "a")
		is.NoErr(err)

		importYAML(t, db, "alpha", catalogueYAML("org/b"))
		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Disabled: 1})
		repo := getRepo(t, svc, "org/a")
		is.True(!repo.IngestionEnabled)
		is.Equal(repo.IngestionOverride, nil)

		// Listed again, it follows the catalogue once more.
		importYAML(t, db, "alpha", catalogueYAML("org/a", "org/b"))
		res = syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
		repo = getRepo(t, svc, "org/a")
		is.True(repo.IngestionEnabled)
		is.Equal(memberEstates(t, db, repo.ID), []string{"alpha"})
	})
}

func TestSyncKeepsOperatorDisableAcrossRemoval(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a", "org/b"))
		syncEstate(t, svc, "alpha")
		_, err := svc.Disable(context.Background(), "org", "a")
		is.NoErr(err)

		importYAML(t, db, "alpha", catalogueYAML("org/b"))
		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1}) // already disabled
		is.Equal(getRepo(t, svc, "org/a").IngestionOverride, ptr(false))

		// Listed again, as after a typo in the catalogue, it stays off.
		importYAML(t, db, "alpha", catalogueYAML("org/a", "org/b"))
		syncEstate(t, svc, "alpha")
		repo := getRepo(t, svc, "org/a")
		is.True(!repo.IngestionEnabled)
		is.Equal(repo.IngestionOverride, ptr(false))
		is.Equal(memberEstates(t, db, repo.ID), []string{"alpha"})
	})
}

func TestSyncKeepsBranchLearntFromEvents(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a@main"))
		syncEstate(t, svc, "alpha")

		// Silver records the branch that GitHub events report.
		exec(t, db, "UPDATE repositories SET default_branch = ? WHERE github_name = ?", "trunk", "a")
		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha"})
		is.Equal(getRepo(t, svc, "org/a").DefaultBranch, "trunk")

		importYAML(t, db, "alpha", catalogueYAML("org/a@develop"))
		res = syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
		is.Equal(getRepo(t, svc, "org/a").DefaultBranch, "develop")
	})
}

// TestSyncKeepsBranchOfAdHocRepository lets a commit event create the
// repository, with the branch GitHub reported, before the first sync.
func TestSyncKeepsBranchOfAdHocRepository(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		svc := registry.NewService(db, nil)

		at := time.Date(2024, 7, 5, 9, 0, 0, 0, time.UTC)
		_, err := bronze.NewWriter(db).WriteBatch(ctx, []bronze.Envelope{{
			SourceSystem: "github", EventType: silver.EventCommit, RepoExternalID: "org/a",
			OccurredAt: at, Payload: map[string]any{"sha": "c1", "repo_owner": "org",
				"repo_name": "a", "default_branch": "trunk", "committed_at": at}}})
		is.NoErr(err)
		result, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0)
		is.NoErr(err)
		is.Equal(result, silver.Result{Processed: 1})

		importYAML(t, db, "alpha", catalogueYAML("org/a@main"))
		syncEstate(t, svc, "alpha")
		is.Equal(getRepo(t, svc, "org/a").DefaultBranch, "trunk") // the first sync keeps it

		importYAML(t, db, "alpha", catalogueYAML("org/a@develop"))
		syncEstate(t, svc, "alpha")
		is.Equal(getRepo(t, svc, "org/a").DefaultBranch, "develop") // a change of the catalogue's
	})
}

func TestSyncSharedRepository(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/shared", "org/alpha-only"))
		importYAML(t, db, "beta", catalogueYAML("org/shared", "org/beta-only"))

		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Created: 2})
		res = syncEstate(t, svc, "beta")
		is.Equal(res, registry.SyncResult{EstateKey: "beta", Created: 1, Updated: 1})

		shared := getRepo(t, svc, "org/shared")
		is.Equal(shared.EstateID, estateID(t, db, "alpha")) // the first estate to list it
		is.Equal(memberEstates(t, db, shared.ID), []string{"alpha", "beta"})
		is.Equal(list(t, svc, registry.ListOptions{EstateKey: "alpha"}),
			[]string{"org/alpha-only", "org/shared"})
		is.Equal(list(t, svc, registry.ListOptions{EstateKey: "beta"}),
			[]string{"org/beta-only", "org/shared"})

		// Dropped by alpha, still listed by beta.
		importYAML(t, db, "alpha", catalogueYAML("org/alpha-only"))
		res = syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
		shared = getRepo(t, svc, "org/shared")
		is.True(shared.IngestionEnabled)
		is.Equal(shared.EstateID, estateID(t, db, "beta"))
		is.Equal(memberEstates(t, db, shared.ID), []string{"beta"})
		is.Equal(list(t, svc, registry.ListOptions{EstateKey: "alpha"}), []string{"org/alpha-only"})

		// Dropped by beta too.
		importYAML(t, db, "beta", catalogueYAML("org/beta-only"))
		res = syncEstate(t, svc, "beta")
		is.Equal(res, registry.SyncResult{EstateKey: "beta", Disabled: 1})
		shared = getRepo(t, svc, "org/shared")
		is.True(!shared.IngestionEnabled)
		is.Equal(shared.EstateID, estateID(t, db, "beta"))
		is.Equal(memberEstates(t, db, shared.ID), []string{})
		is.Equal(list(t, svc, registry.ListOptions{EstateKey: "beta"}), []string{"org/beta-only"})

		// Listed again by alpha, it moves to alpha.
		importYAML(t, db, "alpha", catalogueYAML("org/alpha-only", "org/shared"))
		res = syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
		shared = getRepo(t, svc, "org/shared")
		is.True(shared.IngestionEnabled)
		is.Equal(shared.EstateID, estateID(t, db, "alpha"))
		is.Equal(memberEstates(t, db, shared.ID), []string{"alpha"})
	})
}

func TestSyncSharedWithUnsyncedEstate(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/shared"))
		syncEstate(t, svc, "alpha")
		// beta's catalogue lists the repository, but beta was never synced.
		importYAML(t, db, "beta", catalogueYAML("org/shared"))

		importYAML(t, db, "alpha", catalogueYAML())
		res := syncEstate(t, svc, "alpha")
		is.Equal(res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
		shared := getRepo(t, svc, "org/shared")
		is.True(shared.IngestionEnabled)
		is.Equal(memberEstates(t, db, shared.ID), []string{})
	})
}

func TestSyncConcurrentEstates(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)

		for round := range 5 {
			var shared []string
			for i := range 5 {
				shared = append(shared, fmt.Sprintf("org/r%d-shared-%d", round, i))
			}
			alpha, beta := fmt.Sprintf("alpha-%d", round), fmt.Sprintf("beta-%d", round)
			importYAML(t, db, alpha, catalogueYAML(append(shared, fmt.Sprintf("org/r%d-alpha", round))...))
			importYAML(t, db, beta, catalogueYAML(append(shared, fmt.Sprintf("org/r%d-beta", round))...))

			start := make(chan struct{})
			results := make([]registry.SyncResult, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, estate := range []string{alpha, beta} {
				wg.Go(func() {
					<-start
					results[i], errs[i] = svc.Sync(context.Background(), estate)
				})
			}
			close(start)
			wg.Wait()

			is.NoErr(errs[0])
			is.NoErr(errs[1])
			is.Equal(results[0].Created+results[1].Created, 7) // 5 shared, 2 of their own
			is.Equal(results[0].Updated+results[1].Updated, 5) // the second sync joins the shared ones
			for _, slug := range shared {
				repo := getRepo(t, svc, slug)
				is.Equal(memberEstates(t, db, repo.ID), []string{alpha, beta})
			}
		}
		is.Equal(count(t, db, "repositories"), 35)
	})
}

func TestSyncLogsCompletion(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		var logs strings.Builder
		svc := registry.NewService(db, newTextLogger(&logs))
		importYAML(t, db, "alpha", catalogueYAML("org/a"))

		syncEstate(t, svc, "alpha")
		is.True(strings.Contains(logs.String(), "msg=registry.sync.completed estate_key=alpha"))
		is.True(strings.Contains(logs.String(), "created=1 updated=0 disabled=0"))
	})
}

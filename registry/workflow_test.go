package registry_test

import (
	"context"
	"slices"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// TestRegistryWorkflow follows an operator through import, sync, removal
// from the catalogue and ingestion toggles.
func TestRegistryWorkflow(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		svc := registry.NewService(db, nil)
		importExample(t, db, "bdd")
		syncEstate(t, svc, "bdd")

		wildside := getRepo(t, svc, "leynos/wildside")
		is.True(wildside.IngestionEnabled)
		is.True(len(wildside.DocumentationPaths) > 0)

		exec(t, db.Catalogue(), "DELETE FROM catalogue_repositories WHERE owner = ? AND name = ?",
			"leynos", "wildside-engine")
		syncEstate(t, svc, "bdd")
		is.True(!getRepo(t, svc, "leynos/wildside-engine").IngestionEnabled)

		_, err := svc.Disable(ctx, "leynos", "wildside")
		is.NoErr(err)
		is.True(!getRepo(t, svc, "leynos/wildside").IngestionEnabled)
		_, err = svc.Enable(ctx, "leynos", "wildside")
		is.NoErr(err)
		is.True(getRepo(t, svc, "leynos/wildside").IngestionEnabled)

		active := list(t, svc, registry.ListOptions{Ingestion: ptr(true)})
		is.True(slices.Contains(active, "leynos/wildside"))
		is.True(!slices.Contains(active, "leynos/wildside-engine"))
	})
}

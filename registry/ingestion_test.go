package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestSetIngestion(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")
		synced := getRepo(t, svc, "leynos/wildside")

		// Enabled by the catalogue: enabling records the operator's choice.
		changed, err := svc.Enable(ctx, "leynos", "wildside")
		is.NoErr(err)
		is.True(changed)
		repo := getRepo(t, svc, "leynos/wildside")
		is.True(repo.IngestionEnabled)
		is.Equal(repo.IngestionOverride, ptr(true))

		changed, err = svc.Enable(ctx, "leynos", "wildside")
		is.NoErr(err)
		is.True(!changed)

		changed, err = svc.Disable(ctx, "leynos", "wildside")
		is.NoErr(err)
		is.True(changed)
		repo = getRepo(t, svc, "leynos/wildside")
		is.True(!repo.IngestionEnabled)
		is.Equal(repo.IngestionOverride, ptr(false))

		changed, err = svc.SetIngestion(ctx, "leynos", "wildside", false)
		is.NoErr(err)
		is.True(!changed)

		is.Equal(repo.LastSyncedAt, synced.LastSyncedAt) // toggles are not syncs
	})
}

func TestSetIngestionIgnoresCase(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")

		changed, err := svc.Disable(context.Background(), "LEYNOS", "Wildside-Engine")
		is.NoErr(err)
		is.True(changed)
		is.True(!getRepo(t, svc, "leynos/wildside-engine").IngestionEnabled)
	})
}

func TestSetIngestionUnknownRepository(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := registry.NewService(db, nil)

		for _, enabled := range []bool{true, false} {
			is := is.New(t)

			changed, err := svc.SetIngestion(ctx, "nonexistent", "repo", enabled)
			is.True(!changed)
			is.True(errors.Is(err, registry.ErrRepositoryNotFound))
			is.True(strings.HasPrefix(err.Error(), "repository nonexistent/repo not found: "))
		}
	})
}

func TestSetIngestionInvalidName(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		svc := registry.NewService(db, nil)

		for _, owner := range []string{"", "org/extra"} {
			is := is.New(t)

			_, err := svc.Enable(context.Background(), owner, "repo")
			is.True(errors.Is(err, registry.ErrInvalidSlug))
		}
	})
}

func TestSetIngestionLogsChange(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		var logs strings.Builder
		svc := registry.NewService(db, newTextLogger(&logs))
		insertRepository(t, db, "org", "adhoc", "main", false)

		_, err := svc.Enable(context.Background(), "org", "adhoc")
		is.NoErr(err)
		is.True(strings.Contains(logs.String(),
			"msg=registry.ingestion.changed repository=org/adhoc"))
		is.True(strings.Contains(logs.String(), "ingestion_enabled=true previously_enabled=false"))
	})
}

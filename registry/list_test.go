package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestListByIngestion(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")
		_, err := svc.Disable(context.Background(), "leynos", "wildside-engine")
		is.NoErr(err)

		is.Equal(list(t, svc, registry.ListOptions{Ingestion: ptr(true)}), []string{
			"leynos/ortho-config", "leynos/pg-embedded-setup-unpriv", "leynos/rstest-bdd",
			"leynos/wildside", "leynos/wildside-mockup",
		})
		is.Equal(list(t, svc, registry.ListOptions{Ingestion: ptr(false)}),
			[]string{"leynos/wildside-engine"})
		is.Equal(len(list(t, svc, registry.ListOptions{})), 6)
	})
}

func TestListByEstateKey(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importYAML(t, db, "alpha", catalogueYAML("org/a2", "org/a1"))
		importYAML(t, db, "beta", catalogueYAML("org/b1"))
		syncEstate(t, svc, "alpha")
		syncEstate(t, svc, "beta")
		insertRepository(t, db, "org", "adhoc", "main", true)

		repos, err := svc.List(context.Background(), registry.ListOptions{EstateKey: "alpha"})
		is.NoErr(err)
		is.Equal(len(repos), 2)
		is.Equal(repos[0].Slug(), "org/a1")
		is.Equal(repos[1].Slug(), "org/a2")
		for _, repo := range repos {
			is.Equal(repo.EstateID, estateID(t, db, "alpha"))
		}

		is.Equal(list(t, svc, registry.ListOptions{EstateKey: "beta", Ingestion: ptr(true)}),
			[]string{"org/b1"})
		is.Equal(list(t, svc, registry.ListOptions{}),
			[]string{"org/a1", "org/a2", "org/adhoc", "org/b1"})
	})
}

func TestListUnknownEstate(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)

		_, err := svc.List(context.Background(), registry.ListOptions{EstateKey: "nope"})
		is.True(errors.Is(err, registry.ErrEstateNotFound))
		is.True(strings.Contains(err.Error(), `estate "nope" not found`))
	})
}

func TestListOrderAndPages(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		for _, slug := range []string{
			"B-Org/repo-1", "a-org/Repo-2", "a-org/repo-1", "c-org/repo-0", "aorg/repo-9", "a_org/repo-9",
		} {
			owner, name, _ := strings.Cut(slug, "/")
			insertRepository(t, db, owner, name, "main", true)
		}

		// Case is ignored, and punctuation sorts by byte value on both
		// databases: "-" before "_" before letters.
		is.Equal(list(t, svc, registry.ListOptions{}), []string{
			"a-org/repo-1", "a-org/Repo-2", "a_org/repo-9", "aorg/repo-9", "B-Org/repo-1", "c-org/repo-0",
		})
		is.Equal(list(t, svc, registry.ListOptions{Limit: 2}), []string{"a-org/repo-1", "a-org/Repo-2"})
		is.Equal(list(t, svc, registry.ListOptions{Limit: 2, Offset: 4}),
			[]string{"B-Org/repo-1", "c-org/repo-0"})
		is.Equal(list(t, svc, registry.ListOptions{Offset: 5}), []string{"c-org/repo-0"})
		is.Equal(list(t, svc, registry.ListOptions{Offset: 6}), []string{})
	})
}

func TestListRejectsNegativePaging(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)

		_, err := svc.List(context.Background(), registry.ListOptions{Limit: -1})
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), "invalid limit -1: must be non-negative"))

		_, err = svc.List(context.Background(), registry.ListOptions{Offset: -1})
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), "invalid offset -1: must be non-negative"))
	})
}

func TestGetBySlug(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		importExample(t, db, "test")
		syncEstate(t, svc, "test")

		repo := getRepo(t, svc, "leynos/wildside")
		is.Equal(repo.Owner, "leynos")
		is.Equal(repo.Name, "wildside")
		is.Equal(repo.Slug(), "leynos/wildside")
		is.True(repo.IngestionEnabled)
		is.Equal(repo.DocumentationPaths, []string{"docs/roadmap.md", "docs/adr/"})

		is.Equal(getRepo(t, svc, "LEYNOS/WildSide").ID, repo.ID)

		byName, err := svc.Get(context.Background(), "leynos", "wildside")
		is.NoErr(err)
		is.Equal(byName, repo)
	})
}

func TestGetBySlugErrors(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		svc := registry.NewService(db, nil)

		_, err := svc.GetBySlug(ctx, "nonexistent/repo")
		is.True(errors.Is(err, registry.ErrRepositoryNotFound))
		is.True(strings.HasPrefix(err.Error(), "repository nonexistent/repo not found"))

		for _, slug := range []string{"invalid-slug", "/repo", "org/"} {
			_, err := svc.GetBySlug(ctx, slug)
			is.True(errors.Is(err, registry.ErrInvalidSlug))
			is.True(strings.Contains(err.Error(), `"`+slug+`"`))
		}
	})
}

func TestRepositoryJSON(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		svc := registry.NewService(db, nil)
		insertRepository(t, db, "org", "adhoc", "main", false)

		data, err := json.Marshal(getRepo(t, svc, "org/adhoc"))
		is.NoErr(err)

		var fields map[string]any
		is.NoErr(json.Unmarshal(data, &fields))
		is.Equal(fields["owner"], "org")
		is.Equal(fields["default_branch"], "main")
		is.Equal(fields["ingestion_enabled"], false)
		is.Equal(fields["ingestion_override"], nil)
		is.Equal(fields["documentation_paths"], []any{}) // never null
		_, hasEstate := fields["estate_id"]
		is.True(!hasEstate) // omitted for an ad hoc repository
	})
}

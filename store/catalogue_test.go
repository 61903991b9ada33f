package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestWithCatalogueLayouts(t *testing.T) {
	for _, l := range storetest.Layouts {
		t.Run(l.Name, func(t *testing.T) {
			is := is.New(t)
			db := storetest.OpenLayout(t, l)

			is.Equal(db.SeparateCatalogue(), l.Catalogue != "")
			is.Equal(db.Catalogue().Catalogue(), db.Catalogue())
			if l.Catalogue != "" {
				is.Equal(db.Catalogue().Dialect(), l.Catalogue)
				is.True(db.Catalogue() != db)
			}

			// Migrate brought both databases to the latest version.
			for _, d := range []*store.DB{db, db.Catalogue()} {
				current, latest, err := store.SchemaVersion(context.Background(), d)
				is.NoErr(err)
				is.Equal(current, latest)
			}
		})
	}
}

func TestWithCatalogueSelfIsSingle(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)

	is.True(!db.WithCatalogue(db).SeparateCatalogue())
	is.True(!db.WithCatalogue(nil).SeparateCatalogue())
}

func TestCheckCatalogueLayout(t *testing.T) {
	insertEstate := func(t *testing.T, db *store.DB, key string) {
		t.Helper()
		_, err := db.Exec(db.Rebind("INSERT INTO estates (id, key, name) VALUES (?, ?, ?)"),
			store.NewID(), key, key)
		if err != nil {
			t.Fatalf("insert estate %s: %v", key, err)
		}
	}

	tests := []struct {
		name      string
		main      []string
		catalogue []string
		wantErr   bool
	}{
		{name: "both empty"},
		{name: "copied", main: []string{"demo"}, catalogue: []string{"demo"}},
		{name: "catalogue only", catalogue: []string{"demo"}},
		{name: "not copied", main: []string{"demo", "ops"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			db := storetest.OpenLayout(t, storetest.Layout{
				Name: "sqlite-split", Main: store.SQLite, Catalogue: store.SQLite,
			})
			for _, key := range tt.main {
				insertEstate(t, db, key)
			}
			for _, key := range tt.catalogue {
				insertEstate(t, db.Catalogue(), key)
			}

			err := store.CheckCatalogueLayout(context.Background(), db)
			if !tt.wantErr {
				is.NoErr(err)
				return
			}
			is.True(errors.Is(err, store.ErrCatalogueNotCopied))
			is.True(strings.Contains(err.Error(), "still has 2"))
			is.True(strings.Contains(err.Error(), db.Catalogue().String()))
		})
	}
}

func TestCheckCatalogueLayoutSingle(t *testing.T) {
	is := is.New(t)
	db := storetest.Open(t, store.SQLite)
	_, err := db.Exec("INSERT INTO estates (id, key, name) VALUES ('e1', 'demo', 'Demo')")
	is.NoErr(err)

	is.NoErr(store.CheckCatalogueLayout(context.Background(), db))
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CatalogueTables lists the tables that the catalogue database holds when
// it is separate, parents before children, so that copying them in this
// order satisfies their foreign keys.
var CatalogueTables = []string{
	"estates", "projects", "catalogue_repositories", "components", "component_edges",
	"catalogue_imports",
}

// ErrCatalogueNotCopied reports a separate catalogue database that holds
// no estates while the main database's own catalogue tables do: the
// catalogue was not copied when the layout changed.
var ErrCatalogueNotCopied = errors.New("catalogue tables not copied to the catalogue database")

// Catalogue returns the database that holds the catalogue tables: the one
// attached with WithCatalogue, or db itself when none is attached.
//
// Code that reads or writes the catalogue tables goes through Catalogue,
// and code that reads or writes every other table uses db, so it works in
// both layouts. A query may join only tables of one side.
func (db *DB) Catalogue() *DB {
	if db.catalogue != nil {
		return db.catalogue
	}
	return db
}

// SeparateCatalogue reports whether the catalogue tables live in a
// database other than db.
func (db *DB) SeparateCatalogue() bool { return db.catalogue != nil }

// WithCatalogue returns a copy of db whose catalogue tables live in
// catalogue. A nil catalogue, or db itself, gives the single-database
// layout. The copy shares db's connections, and closing it closes both
// databases.
func (db *DB) WithCatalogue(catalogue *DB) *DB {
	c := *db
	c.catalogue = nil
	if catalogue != nil && catalogue != db && catalogue.DB != db.DB {
		c.catalogue = catalogue.Catalogue()
	}
	return &c
}

// Close closes the database and, when it has a separate catalogue
// database, that one too.
func (db *DB) Close() error {
	err := db.DB.Close()
	if db.catalogue != nil {
		err = errors.Join(err, db.catalogue.Close())
	}
	return err
}

// CheckCatalogueLayout returns an error wrapping ErrCatalogueNotCopied
// when db has a separate catalogue database without estates while db's
// own estates table has rows. That is the state right after an operator
// sets a catalogue database URL without copying the catalogue. Syncs and
// reports would then find no estates, and an import would give the
// estates new ids that the Silver and Gold rows do not match.
//
// In the single-database layout it does nothing. Both databases must be
// migrated.
func CheckCatalogueLayout(ctx context.Context, db *DB) error {
	if !db.SeparateCatalogue() {
		return nil
	}

	var catalogued bool
	err := db.Catalogue().GetContext(ctx, &catalogued, "SELECT EXISTS (SELECT 1 FROM estates)")
	if err != nil {
		return wrapf(err, "read estates of catalogue database %s", db.Catalogue())
	}
	if catalogued {
		return nil
	}

	var left int
	if err := db.GetContext(ctx, &left, "SELECT count(*) FROM estates"); err != nil {
		return wrapf(err, "read estates of main database %s", db)
	}
	if left == 0 {
		return nil
	}
	return &catalogueNotCopiedError{msg: fmt.Sprintf("catalogue database %s has no estates, but "+
		"main database %s still has %d in its own catalogue tables: copy the tables %s from the "+
		"main database to the catalogue database, or unset the catalogue database URL",
		db.Catalogue(), db, left, strings.Join(CatalogueTables, ", "))}
}

// catalogueNotCopiedError is ErrCatalogueNotCopied with the databases
// and the fix, which its message gives without repeating the sentinel's.
type catalogueNotCopiedError struct{ msg string }

func (e *catalogueNotCopiedError) Error() string { return e.msg }

func (e *catalogueNotCopiedError) Is(target error) bool { return target == ErrCatalogueNotCopied }

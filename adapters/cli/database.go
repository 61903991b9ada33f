package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/ghillie/ghillie/store"
)

// catalogueRole names the separate catalogue database in errors.
const catalogueRole = "catalogue database"

// opener opens one database: rawURL, from source, known as role in errors
// ("database", "main database" or "catalogue database").
type opener func(ctx context.Context, rawURL, source, role string) (*store.DB, error)

// openDatabases opens the main database and, when a catalogue database URL
// is set, the catalogue database too, both with open, and attaches the
// second to the first. It rejects a catalogue database that was left
// empty when the main database still holds estates.
func (a *app) openDatabases(ctx context.Context, open opener) (*store.DB, error) {
	if !a.separateCatalogue() {
		return open(ctx, a.databaseURL, a.databaseURLSource, a.mainRole())
	}

	db, err := open(ctx, a.databaseURL, a.databaseURLSource, a.mainRole())
	if err != nil {
		return nil, err
	}
	catalogue, err := open(ctx, a.catalogueURL, a.catalogueURLSource, catalogueRole)
	if err != nil {
		_ = db.Close()
		return nil, err
	}

	db = db.WithCatalogue(catalogue)
	if err := store.CheckCatalogueLayout(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// mainRole names the --database-url database in errors.
func (a *app) mainRole() string {
	if a.separateCatalogue() {
		return "main database"
	}
	return "database"
}

// separateCatalogue reports whether the catalogue tables live in their own
// database. The same URL twice is one database.
func (a *app) separateCatalogue() bool {
	return a.catalogueURL != "" && a.catalogueURL != a.databaseURL
}

// openChecked opens an existing database and checks its schema version
// (see openDB).
func (a *app) openChecked(ctx context.Context, rawURL, source, role string) (*store.DB, error) {
	target, err := store.ParseURL(rawURL)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", source, err)}
	}

	db, err := store.OpenExisting(ctx, rawURL)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, inRole(role, fmt.Errorf("%w: create it with 'ghillie migrate' and the same "+
			"database URL", err))
	}
	if err != nil {
		return nil, inRole(role, err)
	}

	if target.Dialect == store.SQLite && target.Path == ":memory:" {
		if err := store.Migrate(ctx, db, store.MigrationOptions{Logger: a.logger}); err != nil {
			_ = db.Close()
			return nil, inRole(role, err)
		}
		return db, nil
	}

	current, latest, err := store.SchemaVersion(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, inRole(role, err)
	}
	if current < latest {
		_ = db.Close()
		return nil, fmt.Errorf("%s %s is at schema version %d but this ghillie needs %d: "+
			"run 'ghillie migrate' with the same database URL first", role, db, current, latest)
	}
	if current > latest {
		_ = db.Close()
		return nil, fmt.Errorf("%s %s is at schema version %d, newer than this ghillie "+
			"supports (%d): upgrade ghillie", role, db, current, latest)
	}
	return db, nil
}

// openCreating opens a database, creating a SQLite file when missing,
// without checking its schema.
func (a *app) openCreating(ctx context.Context, rawURL, source, role string) (*store.DB, error) {
	if _, err := store.ParseURL(rawURL); err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", source, err)}
	}
	db, err := store.Open(ctx, rawURL)
	if err != nil {
		return nil, inRole(role, err)
	}
	return db, nil
}

// inRole prefixes err with the role of the database it concerns, in the
// layout with a separate catalogue database. The store's errors already
// name the database by its URL.
func inRole(role string, err error) error {
	if role == "database" {
		return err
	}
	return fmt.Errorf("%s: %w", role, err)
}

// openAndMigrate opens a database with openCreating and migrates it. The
// job queue's tables go to the main database only.
func (a *app) openAndMigrate(ctx context.Context, rawURL, source, role string) (*store.DB, error) {
	db, err := a.openCreating(ctx, rawURL, source, role)
	if err != nil {
		return nil, err
	}

	migrate := migrateAll
	if role == catalogueRole {
		migrate = migrateSchema
	}
	if err := migrate(ctx, db, a.logger); err != nil {
		_ = db.Close()
		return nil, inRole(role, err)
	}
	return db, nil
}

// migrateSchema applies Ghillie's migrations alone.
func migrateSchema(ctx context.Context, db *store.DB, logger *slog.Logger) error {
	return store.Migrate(ctx, db, store.MigrationOptions{Logger: logger})
}

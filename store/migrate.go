package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFS holds one folder of numbered goose SQL files per dialect.
// The two folders must hold the same versions: a test checks it.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// MigrationOptions adjusts Migrate. The zero value is ready to use.
type MigrationOptions struct {
	// Logger receives one line per applied migration. Nil means silent.
	Logger *slog.Logger
}

// ErrSchemaTooNew reports a database migrated by a newer release, whose
// schema this code may not understand.
var ErrSchemaTooNew = errors.New("database schema is newer than this release")

// Migrate applies every embedded migration that the database lacks, in
// version order, each in its own transaction. Running it on an up-to-date
// database changes nothing. A database at a version newer than the
// embedded migrations returns ErrSchemaTooNew and is left alone.
//
// On PostgreSQL, concurrent callers on the same schema (several servers
// starting at once) wait for each other through a session advisory lock.
// On SQLite, a caller that loses the race to apply a migration checks the
// version again and succeeds when another process has finished the work.
//
// When db has a separate catalogue database, Migrate applies the same
// migrations to it afterwards: both databases carry the whole schema,
// and only the catalogue tables of the catalogue database are used.
func Migrate(ctx context.Context, db *DB, opts ...MigrationOptions) error {
	var opt MigrationOptions
	if len(opts) > 0 {
		opt = opts[0]
	}

	if err := migrate(ctx, db, opt); err != nil {
		return err
	}
	if db.SeparateCatalogue() {
		if err := migrate(ctx, db.Catalogue(), opt); err != nil {
			return fmt.Errorf("catalogue database: %w", err)
		}
	}
	return nil
}

func migrate(ctx context.Context, db *DB, opt MigrationOptions) error {
	provider, err := newProvider(ctx, db)
	if err != nil {
		return err
	}

	current, latest, err := versions(ctx, db, provider)
	if err != nil {
		return err
	}
	if current > latest {
		return fmt.Errorf("migrate %s: schema version %d, this release supports up to %d: %w",
			db, current, latest, ErrSchemaTooNew)
	}

	const attempts = 3
	for attempt := 1; ; attempt++ {
		results, err := provider.Up(ctx)
		if err == nil {
			logApplied(ctx, opt.Logger, db, results)
			return nil
		}

		// goose takes no lock on SQLite: a process that starts migrating a
		// new file while another one does fails with "table already
		// exists" once the other commits.
		if db.dialect == SQLite && attempt < attempts && ctx.Err() == nil {
			current, latest, verr := versions(ctx, db, provider)
			if verr == nil && current == latest {
				return nil
			}
			continue
		}
		return fmt.Errorf("migrate %s: %w", db, Classify(err))
	}
}

func logApplied(ctx context.Context, logger *slog.Logger, db *DB, results []*goose.MigrationResult) {
	if logger == nil {
		return
	}
	for _, r := range results {
		logger.InfoContext(ctx, "store.migration.applied",
			slog.String("database", db.String()),
			slog.Int64("version", r.Source.Version),
			slog.String("file", r.Source.Path),
			slog.Duration("duration", r.Duration))
	}
}

// SchemaVersion returns the version the database is at and the latest
// embedded version. They are equal when the schema is up to date. It
// reads only, so it creates nothing in a database that was never
// migrated, whose version is 0.
func SchemaVersion(ctx context.Context, db *DB) (current, latest int64, err error) {
	provider, err := newProvider(ctx, db)
	if err != nil {
		return 0, 0, err
	}
	return versions(ctx, db, provider)
}

func versions(ctx context.Context, db *DB, provider *goose.Provider) (current, latest int64, err error) {
	for _, source := range provider.ListSources() {
		latest = max(latest, source.Version)
	}

	// goose creates its version table when asked for the version, which a
	// read-only check must not do.
	exists, err := versionTableExists(ctx, db)
	if err != nil || !exists {
		return 0, latest, err
	}

	current, err = provider.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version of %s: %w", db, Classify(err))
	}
	return current, latest, nil
}

// versionTable is goose's bookkeeping table.
const versionTable = "goose_db_version"

func versionTableExists(ctx context.Context, db *DB) (bool, error) {
	query := "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?"
	if db.dialect == Postgres {
		query = "SELECT to_regclass($1) IS NOT NULL"
	}

	var exists bool
	if err := db.QueryRowContext(ctx, query, versionTable).Scan(&exists); err != nil {
		return false, wrapf(err, "read schema version of %s", db)
	}
	return exists, nil
}

func newProvider(ctx context.Context, db *DB) (*goose.Provider, error) {
	var (
		dialect goose.Dialect
		dir     string
		options []goose.ProviderOption
	)

	switch db.dialect {
	case SQLite:
		dialect, dir = goose.DialectSQLite3, "migrations/sqlite"
	case Postgres:
		dialect, dir = goose.DialectPostgres, "migrations/postgres"

		locker, err := postgresLocker(ctx, db)
		if err != nil {
			return nil, err
		}
		options = append(options, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("migrate: unknown dialect %q", db.dialect)
	}

	fsys, err := fs.Sub(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: open embedded %s: %w", dir, err)
	}
	options = append(options, goose.WithDisableGlobalRegistry(true))

	provider, err := goose.NewProvider(dialect, db.DB.DB, fsys, options...)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", db, err)
	}
	return provider, nil
}

// postgresLocker returns a migration lock scoped to the current schema, so
// that databases in separate schemas of one server migrate independently.
func postgresLocker(ctx context.Context, db *DB) (lock.SessionLocker, error) {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, wrapf(err, "migrate %s: read current schema", db)
	}
	if !schema.Valid {
		return nil, fmt.Errorf("database %s: no schema of its search_path exists: "+
			"create the schema (CREATE SCHEMA name) or correct search_path", db)
	}

	// Retry every second for up to five minutes while another process
	// holds the lock, long enough for a slow migration to finish.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID("ghillie.migrate."+schema.String)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: create lock: %w", db, err)
	}
	return locker, nil
}

package store

import (
	"context"
	"embed"
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

// Migrate applies every embedded migration that the database lacks, in
// version order, each in its own transaction. Running it on an up-to-date
// database changes nothing.
//
// On PostgreSQL, concurrent callers on the same schema (several servers
// starting at once) wait for each other through a session advisory lock.
func Migrate(ctx context.Context, db *DB, opts ...MigrationOptions) error {
	var opt MigrationOptions
	if len(opts) > 0 {
		opt = opts[0]
	}

	provider, err := newProvider(ctx, db)
	if err != nil {
		return err
	}

	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db, Classify(err))
	}

	if opt.Logger != nil {
		for _, r := range results {
			opt.Logger.InfoContext(ctx, "store.migration.applied",
				slog.Int64("version", r.Source.Version),
				slog.String("file", r.Source.Path),
				slog.Duration("duration", r.Duration))
		}
	}
	return nil
}

// SchemaVersion returns the version the database is at and the latest
// embedded version. They are equal when the schema is up to date.
func SchemaVersion(ctx context.Context, db *DB) (current, latest int64, err error) {
	provider, err := newProvider(ctx, db)
	if err != nil {
		return 0, 0, err
	}

	current, latest, err = provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version of %s: %w", db, Classify(err))
	}
	return current, latest, nil
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
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, wrapf(err, "migrate %s: read current schema", db)
	}

	// Retry every second for up to five minutes while another process
	// holds the lock, long enough for a slow migration to finish.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID("ghillie.migrate."+schema)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: create lock: %w", db, err)
	}
	return locker, nil
}

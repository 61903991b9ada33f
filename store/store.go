package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteBusyTimeout is how long a SQLite statement waits for another
// connection's write lock before it fails with "database is locked".
const SQLiteBusyTimeout = 10 * time.Second

func init() {
	// sqlx does not know modernc's driver name; tell it the placeholder.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// DB is an open database with its dialect. It embeds *sqlx.DB, so the
// usual query methods are available; queries written with "?" placeholders
// must go through Rebind before they run on PostgreSQL.
//
// A DB is safe for concurrent use.
type DB struct {
	*sqlx.DB
	dialect Dialect
	target  string

	// catalogue is the database of the catalogue tables when they live
	// apart from this one, and nil when they live here.
	catalogue *DB
}

// Dialect returns the SQL dialect of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// String returns the database URL with any password redacted.
func (db *DB) String() string { return db.target }

// Open connects to the database that url names (see ParseURL for the
// accepted forms) and checks that it responds. It does not apply
// migrations: call Migrate for that.
//
// A SQLite file is created when missing, but its folder must exist. An
// in-memory SQLite database lives as long as the DB and is limited to one
// connection, because each SQLite connection to ":memory:" would otherwise
// see its own empty database.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	return open(ctx, rawURL, false)
}

// OpenExisting is Open for callers that only use a database that already
// exists: a missing SQLite file is an error wrapping fs.ErrNotExist
// instead of a new empty file.
func OpenExisting(ctx context.Context, rawURL string) (*DB, error) {
	return open(ctx, rawURL, true)
}

func open(ctx context.Context, rawURL string, mustExist bool) (*DB, error) {
	target, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}

	var db *DB
	switch target.Dialect {
	case SQLite:
		db, err = openSQLite(target.Path, mustExist)
	case Postgres:
		db, err = openPostgres(target.DSN)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(rawURL), err)
	}
	db.target = Redact(rawURL)

	if err := ping(ctx, db); err != nil {
		_ = db.Close()
		if target.Dialect == SQLite && isSQLiteAccessError(err) {
			if errors.Is(err, ErrReadOnly) {
				return nil, fmt.Errorf("open database %s: %w", db, err) // the advice is in err
			}
			return nil, fmt.Errorf("open database %s: %s: %w", db, sqliteAccessHint, err)
		}
		return nil, fmt.Errorf("connect to database %s: %w", db, err)
	}
	return db, nil
}

// ping connects to the database. Switching a new SQLite file to WAL
// mode needs a lock that SQLite does not wait for with its busy timeout.
// So processes that open a new file at once can get SQLITE_BUSY: a test
// that opens one from four pools did in about one run of twenty. On
// SQLite, ping tries again for up to SQLiteBusyTimeout.
func ping(ctx context.Context, db *DB) error {
	deadline := time.Now().Add(SQLiteBusyTimeout)
	for {
		err := Classify(db.PingContext(ctx))
		if err == nil || db.Dialect() != SQLite || !errors.Is(err, ErrConflict) ||
			time.Now().After(deadline) {
			return err
		}

		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func openSQLite(path string, mustExist bool) (*DB, error) {
	memory := path == memoryPath
	if !memory {
		if err := checkSQLitePath(path, mustExist); err != nil {
			return nil, err
		}
	}

	params := url.Values{}
	params.Set("_busy_timeout", fmt.Sprint(SQLiteBusyTimeout.Milliseconds()))
	params.Set("_foreign_keys", "1")

	// BEGIN IMMEDIATE takes the write lock at the start of a transaction.
	// With the default deferred mode, a transaction that reads and then
	// writes fails at once with SQLITE_BUSY when another connection
	// writes first, and the busy timeout cannot help.
	params.Set("_txlock", "immediate")

	if !memory {
		params.Set("_journal_mode", "WAL")
	}

	// A 64 MiB page cache per connection (SQLite's default is 2 MiB)
	// keeps large write transactions, such as a batch of raw events, from
	// spilling pages to disk before they commit. temp_store keeps the
	// statement journals of multi-row inserts in memory.
	params.Add("_pragma", "cache_size(-65536)")
	params.Add("_pragma", "temp_store(memory)")

	dsn := "file:" + escapeSQLitePath(path) + "?" + params.Encode()
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if memory {
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
	}
	return &DB{DB: sqlx.NewDb(sqldb, "sqlite"), dialect: SQLite}, nil
}

// checkSQLitePath explains the usual reasons a SQLite file cannot be
// opened, which SQLite itself reports only as "unable to open database
// file".
func checkSQLitePath(path string, mustExist bool) error {
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return fmt.Errorf("%q is a folder, not a SQLite database file", path)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("SQLite database file %q: %w", path, err)
	case mustExist:
		return notExistError(fmt.Sprintf("SQLite database file %q does not exist", path))
	}

	dir := filepath.Dir(path)
	dirInfo, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("folder %q for SQLite database %q does not exist: create it first: %w",
			dir, filepath.Base(path), err)
	}
	if !dirInfo.IsDir() {
		return fmt.Errorf("%q, the folder for SQLite database %q, is not a folder", dir, filepath.Base(path))
	}
	return nil
}

// notExistError is a message that matches fs.ErrNotExist with errors.Is.
type notExistError string

func (e notExistError) Error() string        { return string(e) }
func (e notExistError) Is(target error) bool { return target == fs.ErrNotExist }

// isSQLiteAccessError reports whether a SQLite error means the file or its
// folder cannot be opened or written.
func isSQLiteAccessError(err error) bool {
	var liteErr *sqlite.Error
	if !errors.As(err, &liteErr) {
		return false
	}
	switch liteErr.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
		return true
	}
	return false
}

// escapeSQLitePath escapes the characters that end the path part of a
// SQLite URI filename.
func escapeSQLitePath(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(path)
}

func openPostgres(dsn string) (*DB, error) {
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	return &DB{DB: sqlx.NewDb(sqldb, "pgx"), dialect: Postgres}, nil
}

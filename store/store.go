package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
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
}

// Dialect returns the SQL dialect of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// String returns the database URL with any password redacted.
func (db *DB) String() string { return db.target }

// Open connects to the database that url names (see ParseURL for the
// accepted forms) and checks that it answers. It does not apply
// migrations: call Migrate for that.
//
// A SQLite file is created when missing, but its parent folder must exist.
// An in-memory SQLite database lives as long as the DB and is limited to
// one connection, because each SQLite connection to ":memory:" would
// otherwise see its own empty database.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	target, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}

	var db *DB
	switch target.Dialect {
	case SQLite:
		db, err = openSQLite(target.Path)
	case Postgres:
		db, err = openPostgres(target.DSN)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(rawURL), err)
	}
	db.target = Redact(rawURL)

	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", Redact(rawURL), Classify(err))
	}
	return db, nil
}

func openSQLite(path string) (*DB, error) {
	params := url.Values{}
	params.Set("_busy_timeout", fmt.Sprint(SQLiteBusyTimeout.Milliseconds()))
	params.Set("_foreign_keys", "1")

	// BEGIN IMMEDIATE takes the write lock at the start of a transaction.
	// With the default deferred mode, a transaction that reads and then
	// writes fails at once with SQLITE_BUSY when another connection
	// writes first, and the busy timeout cannot help.
	params.Set("_txlock", "immediate")

	memory := path == memoryPath
	if !memory {
		params.Set("_journal_mode", "WAL")
	}

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

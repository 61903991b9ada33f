// Package store opens the database that every Ghillie layer shares, SQLite
// or PostgreSQL, from one URL, and applies the embedded schema migrations.
//
// It is the bottom of the dependency graph: the catalogue, Bronze, Silver
// and Gold packages build their queries on a *DB and a *Tx from here, and
// every difference between the two SQL dialects lives in this package.
// That covers placeholders, upserts, locks, timestamp and JSON encodings,
// and the classification of driver errors into ErrUniqueViolation,
// ErrForeignKeyViolation and the other sentinels.
//
// On SQLite (modernc.org/sqlite, pure Go) the database runs in WAL mode
// with a busy timeout, enforced foreign keys and transactions that take
// the write lock when they begin, so concurrent writers wait instead of
// failing. PostgreSQL is reached through pgx/v5. Timestamps are stored in
// UTC: PostgreSQL uses timestamptz, SQLite fixed-width text that sorts in
// time order. JSON columns are jsonb on PostgreSQL and text on SQLite.
package store

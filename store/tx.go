package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// Tx is a transaction with its dialect. It embeds *sqlx.Tx; like DB, it
// expects queries with "?" placeholders to be passed through Rebind.
type Tx struct {
	*sqlx.Tx
	dialect Dialect

	// conn is the connection of the transaction on PostgreSQL, through
	// which CopyFrom reaches the pgx connection.
	conn *sqlx.Conn
}

// Dialect returns the SQL dialect of the transaction's database.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// InTx runs fn in a transaction and commits it when fn returns nil. It
// rolls back when fn returns an error or panics, and returns fn's error
// (the panic is re-raised). Driver errors are passed through Classify.
//
// On SQLite the transaction holds the database's write lock from its start
// (BEGIN IMMEDIATE), so transactions of one database run one at a time. On
// PostgreSQL they run at READ COMMITTED; use Tx.Lock to serialize work that
// must not interleave.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	var conn *sqlx.Conn
	if db.dialect == Postgres {
		conn, err = db.Connx(ctx)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", Classify(err))
		}
		defer conn.Close()
	}

	var sqltx *sqlx.Tx
	if conn != nil {
		sqltx, err = conn.BeginTxx(ctx, nil)
	} else {
		sqltx, err = db.BeginTxx(ctx, nil)
	}
	if err != nil {
		err = Classify(err)
		if db.dialect == SQLite && errors.Is(err, ErrConflict) {
			return fmt.Errorf("begin transaction: another connection held the SQLite write lock "+
				"for longer than %s; retry, or use PostgreSQL for many concurrent writers: %w",
				SQLiteBusyTimeout, err)
		}
		return db.explainAccess(fmt.Errorf("begin transaction: %w", err))
	}
	tx := &Tx{Tx: sqltx, dialect: db.dialect, conn: conn}

	defer func() {
		if p := recover(); p != nil {
			_ = sqltx.Rollback()
			panic(p)
		}
	}()

	if err := fn(tx); err != nil {
		if rbErr := sqltx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(Classify(err), fmt.Errorf("roll back transaction: %w", rbErr))
		}
		return db.explainAccess(Classify(err))
	}

	if err := sqltx.Commit(); err != nil {
		return db.explainAccess(wrapf(err, "commit transaction"))
	}
	return nil
}

// explainAccess names the database in an error that means it cannot be
// written. Classify adds what to check (see ErrReadOnly).
func (db *DB) explainAccess(err error) error {
	if db.dialect != SQLite || !errors.Is(err, ErrReadOnly) {
		return err
	}
	return fmt.Errorf("%w (the database is %s)", err, db)
}

// Lock takes an exclusive lock named key that is held until the
// transaction ends, so that transactions taking the same key run one at a
// time. On PostgreSQL it is a transaction-level advisory lock scoped to the
// current schema, so databases in separate schemas of one server do not
// wait for each other. On SQLite every write transaction already holds the
// database's single write lock, so Lock does nothing.
func (tx *Tx) Lock(ctx context.Context, key string) error {
	if tx.dialect != Postgres {
		return nil
	}
	const lock = "SELECT pg_advisory_xact_lock(hashtextextended(coalesce(current_schema(), '') || ':' || $1, 0))"
	if _, err := tx.ExecContext(ctx, lock, key); err != nil {
		return wrapf(err, "lock %q", key)
	}
	return nil
}

// lockID maps a lock name onto PostgreSQL's 64-bit advisory lock space.
func lockID(key string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return int64(h.Sum64())
}

// Savepoint runs fn inside a savepoint of the transaction and returns
// fn's error. An error rolls the savepoint back, which undoes fn's writes.
// On PostgreSQL it also clears the aborted state that a failed statement
// leaves, so the transaction can go on. name must be a valid SQL
// identifier.
func (tx *Tx) Savepoint(ctx context.Context, name string, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return wrapf(err, "create savepoint %s", name)
	}

	if err := fn(); err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(Classify(err), wrapf(rbErr, "roll back to savepoint %s", name))
		}
		if _, relErr := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); relErr != nil {
			return errors.Join(Classify(err), wrapf(relErr, "release savepoint %s", name))
		}
		return Classify(err)
	}

	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return wrapf(err, "release savepoint %s", name)
	}
	return nil
}

// CopySource supplies the rows of CopyFrom, which may call its methods
// from another goroutine.
type CopySource interface {
	// Next moves to the next row and reports whether there is one.
	Next() bool

	// Values returns the values of the current row, in column order.
	Values() ([]any, error)

	// Err returns the error that ended the rows early, or nil.
	Err() error
}

// CopyFrom loads the rows of source into table with PostgreSQL's COPY
// protocol and returns the number of rows copied. COPY has no ON
// CONFLICT: a row that violates a constraint fails the whole copy and
// aborts the transaction, so run it in a Savepoint when that may happen.
// On SQLite it returns an error wrapping errors.ErrUnsupported.
func (tx *Tx) CopyFrom(ctx context.Context, table string, columns []string, source CopySource,
) (int64, error) {
	if tx.dialect != Postgres || tx.conn == nil {
		return 0, fmt.Errorf("copy into %s: COPY needs PostgreSQL: %w", table, errors.ErrUnsupported)
	}

	var copied int64
	err := tx.conn.Raw(func(driverConn any) error {
		conn, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is a %T, expected a pgx connection", driverConn)
		}
		var err error
		copied, err = conn.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, source)
		return err
	})
	if err != nil {
		return 0, wrapf(err, "copy into %s", table)
	}
	return copied, nil
}

// PostgresConn runs fn on a pgx connection from the pool, for work that
// database/sql cannot express, such as sending several queries in one
// round trip with pgx.Batch. fn must leave the connection outside any
// transaction. On SQLite it returns an error wrapping
// errors.ErrUnsupported.
func (db *DB) PostgresConn(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	if db.dialect != Postgres {
		return fmt.Errorf("pgx connection to %s: pgx needs PostgreSQL: %w", db, errors.ErrUnsupported)
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return wrapf(err, "connect to %s", db)
	}
	defer conn.Close()

	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is a %T, expected a pgx connection", driverConn)
		}
		return fn(c.Conn())
	})
}

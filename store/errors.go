package store

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinels for the driver errors that callers handle. Classify wraps a
// driver error so that errors.Is matches one of them on either database.
var (
	// ErrUniqueViolation reports an insert or update that would duplicate
	// a primary key or unique index entry.
	ErrUniqueViolation = errors.New("unique constraint violated")

	// ErrForeignKeyViolation reports a row that references a missing row,
	// or the deletion of a row that others still reference.
	ErrForeignKeyViolation = errors.New("foreign key constraint violated")

	// ErrNotNullViolation reports a NULL written to a NOT NULL column.
	ErrNotNullViolation = errors.New("not-null constraint violated")

	// ErrCheckViolation reports a value rejected by a CHECK constraint.
	ErrCheckViolation = errors.New("check constraint violated")

	// ErrInvalidValue reports a value the column cannot hold: text too
	// long for its column, a number out of range, malformed input for the
	// column's type.
	ErrInvalidValue = errors.New("invalid value for column")

	// ErrConflict reports a transaction that lost a race with another one
	// (serialization failure, deadlock, or SQLite's busy timeout running
	// out). Retrying the whole transaction may succeed.
	ErrConflict = errors.New("transaction conflict")

	// ErrConnection reports that the database could not be reached or the
	// connection broke.
	ErrConnection = errors.New("database connection failed")

	// ErrReadOnly reports a write to a SQLite database that this process
	// may only read, such as a file or folder of another user.
	ErrReadOnly = errors.New("database is read-only")
)

// Error is a classified driver error. errors.Is matches both Kind and the
// driver's own error.
type Error struct {
	// Kind is one of the sentinels above.
	Kind error

	// Constraint names the violated constraint when the driver reports
	// it: the constraint name on PostgreSQL, "table.column" on SQLite.
	Constraint string

	// Err is the driver's error.
	Err error
}

// sqliteAccessHint is the advice for a SQLite database that cannot be
// opened or written.
const sqliteAccessHint = "this user cannot write the SQLite database file or its folder, " +
	"where SQLite keeps its -wal and -shm files; check their permissions"

// Error returns the driver's message, which names the problem. For
// ErrReadOnly it adds what to check: a read-only SQLite file opens and
// reads without error, so the message of the first failed write is the
// first sign of the problem.
func (e *Error) Error() string {
	if e.Kind == ErrReadOnly {
		return e.Err.Error() + ": " + sqliteAccessHint
	}
	return e.Err.Error()
}

// Unwrap returns the sentinel and the driver error.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Classify wraps a driver error in an *Error when it is one of the kinds
// above, and returns every other error unchanged. It is safe to call on an
// error that is already classified or is nil.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var classified *Error
	if errors.As(err, &classified) {
		return err
	}

	if classified := classifyPostgres(err); classified != nil {
		return classified
	}
	if classified := classifySQLite(err); classified != nil {
		return classified
	}
	if isConnectionError(err) {
		return &Error{Kind: ErrConnection, Err: err}
	}
	return err
}

func classifyPostgres(err error) *Error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	classified := func(kind error, constraint string) *Error {
		return &Error{Kind: kind, Constraint: constraint, Err: err}
	}

	switch pgErr.Code {
	case "23505":
		return classified(ErrUniqueViolation, pgErr.ConstraintName)
	case "23503":
		return classified(ErrForeignKeyViolation, pgErr.ConstraintName)
	case "23502":
		return classified(ErrNotNullViolation, pgErr.TableName+"."+pgErr.ColumnName)
	case "23514":
		return classified(ErrCheckViolation, pgErr.ConstraintName)
	case "40001", "40P01", "55P03":
		return classified(ErrConflict, "")
	case "57P01", "57P02", "57P03":
		// The server is shutting down or not yet accepting connections.
		return classified(ErrConnection, "")
	}
	switch {
	case strings.HasPrefix(pgErr.Code, "08"):
		return classified(ErrConnection, "")
	case strings.HasPrefix(pgErr.Code, "22"):
		// Class 22 is "data exception": the row's own values are wrong.
		return classified(ErrInvalidValue, pgErr.ColumnName)
	}
	return nil
}

func classifySQLite(err error) *Error {
	var liteErr *sqlite.Error
	if !errors.As(err, &liteErr) {
		return nil
	}
	classified := func(kind error) *Error {
		return &Error{Kind: kind, Constraint: sqliteConstraint(liteErr.Error()), Err: err}
	}

	switch liteErr.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return classified(ErrUniqueViolation)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return classified(ErrForeignKeyViolation)
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return classified(ErrNotNullViolation)
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return classified(ErrCheckViolation)
	}

	// Extended result codes keep the primary code in the low byte.
	switch liteErr.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return classified(ErrConflict)
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_IOERR:
		return classified(ErrConnection)
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return classified(ErrInvalidValue)
	case sqlite3.SQLITE_READONLY:
		return classified(ErrReadOnly)
	}
	return nil
}

// sqliteConstraint extracts the constraint that a SQLite message names:
// "estates.key" from "UNIQUE constraint failed: estates.key (2067)", the
// index name for an expression index, or the expression of an unnamed
// CHECK. SQLite names nothing for a foreign key, so that returns "".
func sqliteConstraint(msg string) string {
	msg = sqliteCodeSuffix.ReplaceAllString(msg, "")

	// modernc prefixes SQLite's own message with "constraint failed: ",
	// so the name follows the last occurrence.
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return ""
	}
	after := msg[i+len("constraint failed: "):]
	if strings.Contains(after, "constraint failed") {
		return ""
	}
	if name, ok := strings.CutPrefix(after, "index '"); ok {
		return strings.TrimSuffix(name, "'")
	}
	return after
}

// sqliteCodeSuffix matches the result code that modernc appends.
var sqliteCodeSuffix = regexp.MustCompile(` \(\d+\)$`)

func isConnectionError(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr):
		return true
	case errors.As(err, &netErr):
		return true
	case errors.Is(err, driver.ErrBadConn):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// wrapf classifies err and wraps it with the operation.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, Classify(err))...)
}

package store

import (
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Rebind rewrites a query's "?" placeholders for the dialect: "$1", "$2"
// and so on for PostgreSQL, unchanged for SQLite.
func (d Dialect) Rebind(query string) string {
	if d == Postgres {
		return sqlx.Rebind(sqlx.DOLLAR, query)
	}
	return query
}

// Upsert describes an INSERT that resolves a conflict on a unique key by
// updating the existing row or by doing nothing. Both dialects share the
// ON CONFLICT syntax; they differ in placeholders and in how a changed
// value is detected, which SQL takes care of.
type Upsert struct {
	// Table is the table to insert into.
	Table string

	// Columns lists the inserted columns, in the order of the arguments.
	Columns []string

	// ConflictOn lists the columns of the unique index or primary key
	// that identifies an existing row.
	ConflictOn []string

	// Update lists the columns that take the new values when the row
	// exists. When it is empty the statement does nothing on conflict.
	Update []string

	// OnlyIfChanged skips the update, leaving updated_at and the row
	// untouched, when every column in Update already has the new value.
	// With RETURNING, such a row returns nothing.
	OnlyIfChanged bool

	// Touch lists columns set to their inserted value on every real
	// update without being compared, such as updated_at.
	Touch []string

	// Returning lists the columns returned for inserted or updated rows.
	Returning []string
}

// SQL returns the statement for the dialect, with one placeholder per
// column.
func (u Upsert) SQL(d Dialect) string {
	var b strings.Builder

	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(u.Columns)), ", ")
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) ",
		u.Table, strings.Join(u.Columns, ", "), placeholders, strings.Join(u.ConflictOn, ", "))

	if len(u.Update) == 0 {
		b.WriteString("DO NOTHING")
	} else {
		sets := make([]string, 0, len(u.Update)+len(u.Touch))
		for _, col := range append(append([]string{}, u.Update...), u.Touch...) {
			sets = append(sets, col+" = excluded."+col)
		}
		b.WriteString("DO UPDATE SET " + strings.Join(sets, ", "))

		if u.OnlyIfChanged {
			changed := make([]string, 0, len(u.Update))
			for _, col := range u.Update {
				changed = append(changed, d.Distinct(u.Table+"."+col, "excluded."+col))
			}
			b.WriteString(" WHERE " + strings.Join(changed, " OR "))
		}
	}

	if len(u.Returning) > 0 {
		b.WriteString(" RETURNING " + strings.Join(u.Returning, ", "))
	}
	return d.Rebind(b.String())
}

// Distinct returns a condition that is true when a and b differ, treating
// NULL as a value: IS DISTINCT FROM on PostgreSQL, IS NOT on SQLite.
func (d Dialect) Distinct(a, b string) string {
	if d == Postgres {
		return a + " IS DISTINCT FROM " + b
	}
	return a + " IS NOT " + b
}

// ForUpdate returns the clause that ends a SELECT whose rows the
// transaction will update. On PostgreSQL it is " FOR UPDATE", which locks
// the rows until the transaction ends. With skipLocked it is " FOR UPDATE
// SKIP LOCKED", which passes over rows another transaction has locked, so
// concurrent workers claim different rows. On SQLite the clause is empty,
// because a write transaction there has the database's only write lock
// from its first statement.
func (d Dialect) ForUpdate(skipLocked bool) string {
	switch {
	case d != Postgres:
		return ""
	case skipLocked:
		return " FOR UPDATE SKIP LOCKED"
	}
	return " FOR UPDATE"
}

package silver

import (
	"strings"

	"github.com/ghillie/ghillie/store"
)

// Statement sizes. A multi-row statement binds columns × rows parameters,
// and 500 rows of the widest table (15 columns) stay far below SQLite's
// limit of 32766 parameters and PostgreSQL's of 65535.
const (
	maxRowsPerStatement = 500
	maxIDsPerStatement  = 1000
)

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// valuesRows returns "(?, ?), (?, ?)" for rows tuples of width columns.
func valuesRows(rows, columns int) string {
	tuple := "(" + placeholders(columns) + ")"
	return strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ")
}

// claimLock returns the row-locking clause that ends a claim query.
// PostgreSQL locks the claimed raw events until the batch commits, and
// with skipLocked passes over rows another transformer holds, so two
// transformers never claim the same event. SQLite has no row locks and
// needs none: a write transaction there holds the database's only write
// lock from its first statement.
//
// TODO: move this into package store next to Upsert and Distinct, which
// hold the other dialect differences.
func claimLock(d store.Dialect, skipLocked bool) string {
	switch {
	case d != store.Postgres:
		return ""
	case skipLocked:
		return " FOR UPDATE SKIP LOCKED"
	}
	return " FOR UPDATE"
}

// chunks splits items into slices of at most size items.
func chunks[T any](items []T, size int) [][]T {
	var out [][]T
	for len(items) > size {
		out = append(out, items[:size])
		items = items[size:]
	}
	if len(items) > 0 {
		out = append(out, items)
	}
	return out
}

package silver

import (
	"strings"
)

// Statement sizes. A multi-row statement binds columns × rows parameters,
// and 500 rows of the widest table (16 columns) stay far below SQLite's
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

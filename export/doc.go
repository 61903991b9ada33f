// Package export streams Bronze, Silver and Gold rows of a window out of
// the database as JSON, JSON Lines or CSV: event facts with their
// lineage back to raw events, and stored reports with the event facts
// they covered. Rows are read and written one at a time, so an export of
// a large estate holds one row in memory, not the estate.
package export

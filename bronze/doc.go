// Package bronze is the append-only store of raw events: GitHub payloads
// exactly as ingestion received them, in the raw_events table, so that the
// Silver layer can be rebuilt from them at any time.
//
// A Writer appends Envelopes one at a time or in batches. Each envelope
// gets a SHA-256 dedupe key over its identity and its canonical payload
// (see DedupeKey), and the table's unique index on that key turns webhook
// retries and overlapping pollers into no-ops that return the stored row.
//
// Payloads are copied before they are stored, never aliased. time.Time
// values become UTC ISO-8601 strings, NUL characters become U+FFFD because
// PostgreSQL cannot store them, and values JSON cannot represent are
// rejected with a *PayloadError naming their path.
package bronze

// Package ingest brings GitHub activity into Bronze: it decides which
// events of a catalogued repository are noise and which files count as
// documentation, and (as it grows) fetches new activity incrementally.
//
// Path patterns, in noise filters and in documentation paths alike, use
// the catalogue's glob syntax (see catalogue.Glob): "**" crosses
// directories, "*" and "?" stay inside one, and a pattern without
// wildcards names a file or a whole directory.
//
// The package is incomplete: the GitHub client port, the incremental
// worker with its watermarks and the ingestion health service are still
// to come.
package ingest

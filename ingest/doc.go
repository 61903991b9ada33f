// Package ingest brings GitHub activity into Bronze incrementally. For
// each repository, the Worker reads the commits of the default branch,
// pull requests, issues and documentation changes that are new since its
// last run, through the GitHubClient port. It drops what the catalogue's
// noise filters name and appends the rest to Bronze. Its progress lives in
// github_ingestion_offsets, which HealthService reads to report lag and
// stalled repositories.
//
// Path patterns, in noise filters and in documentation paths alike, use
// the catalogue's glob syntax (see catalogue.Glob): "**" crosses
// directories, "*" and "?" stay inside one, and a pattern without
// wildcards names a file or a whole directory.
package ingest

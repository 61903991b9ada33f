// Package benchmarks measures how Ghillie's whole job grows with the
// size of an estate: ingestion from a fake GitHub, the transform into
// Silver and the reports of every repository, project and the estate.
// It has no code of its own beyond its benchmarks; docs/benchmarks.md
// records their results.
package benchmarks

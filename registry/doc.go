// Package registry decides which GitHub repositories Ghillie ingests. It
// sits between the estate catalogue and the Silver layer: Sync projects the
// repositories that an estate's catalogue lists into the Silver
// repositories table, and GitHub ingestion processes only the rows whose
// ingestion_enabled flag is set.
//
// Repositories are matched by owner and name without regard to case, as
// GitHub does. One Silver row serves every estate whose catalogue lists the
// repository, and the repository_estates table records each of those
// estates. Rows are never deleted: a repository that no catalogue lists any
// more keeps its history and has ingestion disabled. Rows that Silver
// created for repositories outside every catalogue (ad hoc rows) are
// adopted when a catalogue later lists them, and are never disabled by a
// sync.
//
// Whether a catalogued repository is ingested follows the catalogue's
// is_active flag unless an operator has chosen otherwise with SetIngestion.
// That choice is stored in ingestion_override and outlives every later
// sync, with one exception: removing the repository from every catalogue
// disables it and clears the choice.
package registry

// Package catalogue models the estate catalogue: the YAML file in which an
// operator lists the programmes, projects, components and GitHub
// repositories that Ghillie watches, the relationships between components
// (depends_on, blocked_by, emits_events_to) and each project's noise
// filters and status preferences.
//
// LoadFile and Parse read a catalogue with YAML 1.2 semantics, fill the
// defaults of absent fields and check it, reporting every problem at once
// as a *ValidationError whose issues name the file, line, column and path.
// Validate runs the semantic checks on a catalogue built in memory,
// JSONSchema returns the JSON Schema that editors and linters can use, and
// WriteJSON writes a validated catalogue as JSON that matches that schema.
//
// The Importer reconciles a validated catalogue into the catalogue tables
// of the database, so that ingestion and reporting read the estate without
// parsing YAML.
package catalogue

// Package gold stores status reports: the reports themselves, the event
// facts each report covered, the review markers left when a report kept
// failing validation, and the project dimension that project reports
// belong to.
package gold

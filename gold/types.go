package gold

import (
	"fmt"
	"strings"
)

// Scope is the kind of subject a report covers.
type Scope string

// The scopes of reports.
const (
	ScopeRepository Scope = "repository"
	ScopeProject    Scope = "project"
	ScopeEstate     Scope = "estate"
)

// Status is a report's verdict on its subject.
type Status string

// The statuses a report can give.
const (
	StatusOnTrack Status = "on_track"
	StatusAtRisk  Status = "at_risk"
	StatusBlocked Status = "blocked"
	StatusUnknown Status = "unknown"
)

// Statuses lists every status, in order of increasing concern except
// unknown, which comes last.
var Statuses = []Status{StatusOnTrack, StatusAtRisk, StatusBlocked, StatusUnknown}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusOnTrack, StatusAtRisk, StatusBlocked, StatusUnknown:
		return true
	}
	return false
}

// ParseStatus reads a status stored in a report's machine summary: the
// text lower-cased must be one of Statuses exactly, and anything else,
// including a missing value, is StatusUnknown.
func ParseStatus(v any) Status {
	var text string
	switch t := v.(type) {
	case nil:
		return StatusUnknown
	case string:
		text = t
	default:
		text = fmt.Sprint(t)
	}
	if s := Status(strings.ToLower(text)); s.Valid() {
		return s
	}
	return StatusUnknown
}

// NormalizeStatus reads a status a model returned: lower-cased, with
// hyphens read as underscores, so "On-Track" is StatusOnTrack. Anything
// else is StatusUnknown.
func NormalizeStatus(text string) Status {
	if s := Status(strings.ReplaceAll(strings.ToLower(text), "-", "_")); s.Valid() {
		return s
	}
	return StatusUnknown
}

// ReviewState is whether a review marker still needs a person.
type ReviewState string

// The states of a review marker.
const (
	ReviewPending  ReviewState = "pending"
	ReviewResolved ReviewState = "resolved"
)

// MachineSummary is the structured part of a report, stored as JSON in
// reports.machine_summary. Lists are never nil.
type MachineSummary struct {
	Summary    string   `json:"summary"`
	Status     Status   `json:"status"`
	Highlights []string `json:"highlights"`
	Risks      []string `json:"risks"`
	NextSteps  []string `json:"next_steps"`
}

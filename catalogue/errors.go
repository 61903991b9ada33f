package catalogue

import (
	"strconv"
	"strings"
)

// Issue is one problem found in a catalogue.
type Issue struct {
	// File is the name given to Parse or LoadFile. It is empty for a
	// catalogue checked in memory.
	File string `json:"file,omitempty" yaml:"file,omitempty"`

	// Line and Column are 1-based, with the column counted in characters.
	// They are 0 when the position is unknown, as for every issue that
	// Validate reports.
	Line   int `json:"line,omitempty" yaml:"line,omitempty"`
	Column int `json:"column,omitempty" yaml:"column,omitempty"`

	// Path locates the value in the catalogue, as in
	// "projects[0].components[2].depends_on[1]". It is empty for problems
	// with the file as a whole.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`

	// Message describes the problem, in lower case and without a final
	// period.
	Message string `json:"message" yaml:"message"`
}

// String formats the issue as "file:line:col: path: message", leaving out
// the parts that are empty or unknown.
func (i Issue) String() string {
	var b strings.Builder

	location := i.File
	if i.Line > 0 {
		location += ":" + strconv.Itoa(i.Line)
		if i.Column > 0 {
			location += ":" + strconv.Itoa(i.Column)
		}
	}
	location = strings.TrimPrefix(location, ":")
	if location != "" {
		b.WriteString(location)
		b.WriteString(": ")
	}

	if i.Path != "" {
		b.WriteString(i.Path)
		b.WriteString(": ")
	}

	b.WriteString(i.Message)
	return b.String()
}

// ValidationError lists every issue found in a catalogue, in document
// order. Parse, LoadFile and Validate return it for problems with the
// catalogue's content.
type ValidationError struct {
	Issues []Issue
}

// Error returns the issues, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Issues))
	for i, issue := range e.Issues {
		lines[i] = issue.String()
	}
	return strings.Join(lines, "\n")
}

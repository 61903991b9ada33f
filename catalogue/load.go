package catalogue

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// LoadFile reads the catalogue at path and parses it with Parse. When the
// file cannot be read, it returns the wrapped read error, which names the
// path. Problems with the content return a *ValidationError.
func LoadFile(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a YAML 1.2 catalogue, fills the defaults of absent fields
// and validates the result with Validate. filename only labels the issues.
//
// Decoding is strict. Unknown fields, duplicate keys, missing required
// fields and values of the wrong type are issues, because no string,
// number or boolean is converted to another type. Booleans are only true
// and false in any case, so on, off, yes and no are strings. Anchors and
// aliases are followed, but merge keys and tags other than !!str are
// rejected.
//
// Parse reports every issue it finds in one *ValidationError, sorted by
// position, each naming the file, line, column and path. A YAML syntax
// error is a single issue, because nothing after it can be read reliably.
// Every slice of the returned catalogue is non-nil.
func Parse(filename string, data []byte) (*Catalogue, error) {
	c, issues := parse(data)
	if len(issues) > 0 {
		for i := range issues {
			issues[i].File = filename
		}
		return nil, &ValidationError{Issues: issues}
	}
	return c, nil
}

var byteOrderMark = []byte("\uFEFF")

func parse(data []byte) (*Catalogue, []Issue) {
	// Editors place the cursor after a byte order mark, so positions are
	// counted without it.
	data = bytes.TrimPrefix(data, byteOrderMark)
	if issue, ok := checkUTF8(data); !ok {
		return nil, []Issue{issue}
	}

	file, err := parseYAML(data)
	if err != nil {
		return nil, []Issue{syntaxIssue(err)}
	}

	body, issues := documentBody(file)
	if body == nil {
		if len(issues) == 0 {
			issues = append(issues, Issue{Message: "catalogue file is empty"})
		}
		return nil, issues
	}

	d := newDecoder(body)
	c := d.catalogue(body)
	issues = append(issues, d.issues...)
	if d.tooLarge {
		return nil, issues
	}

	issues = append(issues, d.locate(validate(c))...)
	slices.SortStableFunc(issues, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return c, issues
}

// checkUTF8 reports the position of the first byte that is not part of a
// valid UTF-8 character.
func checkUTF8(data []byte) (Issue, bool) {
	line, column := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return Issue{
				Line:   line,
				Column: column,
				Message: fmt.Sprintf("invalid UTF-8: byte 0x%02x does not start a valid "+
					"character; save the file as UTF-8", data[i]),
			}, false
		}

		if r == '\n' {
			line, column = line+1, 1
		} else {
			column++
		}
		i += size
	}
	return Issue{}, true
}

// parseYAML parses data into a syntax tree, keeping duplicate keys so the
// decoder can report each of them with the key it repeats.
//
// NOTE: goccy/go-yaml v1.19.2 reports a syntax error for a double-quoted
// string that contains a literal tab and ends its line, although YAML
// allows it. Writing the tab as \t avoids the error.
func parseYAML(data []byte) (file *ast.File, err error) {
	// The input is untrusted text, so a parser bug must not crash the
	// caller.
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

func syntaxIssue(err error) Issue {
	var yamlErr yaml.Error
	if !errors.As(err, &yamlErr) {
		return Issue{Message: "invalid YAML: " + err.Error()}
	}

	issue := Issue{Message: "invalid YAML: " + yamlErr.GetMessage()}
	if tk := yamlErr.GetToken(); tk != nil && tk.Position != nil {
		issue.Line, issue.Column = tk.Position.Line, tk.Position.Column
	}
	return issue
}

// documentBody returns the body of the file's only document, or nil when
// there is none. It reports a second non-empty document, and a %YAML
// directive asking for a version other than 1.2.
func documentBody(file *ast.File) (ast.Node, []Issue) {
	var body ast.Node
	var issues []Issue

	for _, doc := range file.Docs {
		switch b := doc.Body.(type) {
		case nil, *ast.NullNode:
			// An empty document, such as a trailing "---", contains nothing
			// that could conflict with the catalogue.
		case *ast.DirectiveNode:
			if issue, ok := checkDirective(b); !ok {
				issues = append(issues, issue)
			}
		default:
			if body != nil {
				pos := nodePosition(b)
				if doc.Start != nil && doc.Start.Position != nil {
					pos = position{doc.Start.Position.Line, doc.Start.Position.Column}
				}
				issues = append(issues, Issue{
					Line:   pos.line,
					Column: pos.column,
					Message: "catalogue file must contain one YAML document, " +
						"but a second one starts here",
				})
				return body, issues
			}
			body = b
		}
	}
	return body, issues
}

func checkDirective(directive *ast.DirectiveNode) (Issue, bool) {
	if nodeText(directive.Name) != "YAML" || len(directive.Values) == 0 {
		return Issue{}, true
	}

	version := nodeText(directive.Values[0])
	if version == "1.2" {
		return Issue{}, true
	}
	pos := nodePosition(directive)
	return Issue{
		Line:   pos.line,
		Column: pos.column,
		Message: fmt.Sprintf(
			"unsupported YAML version %q; catalogues are read as YAML 1.2", version),
	}, false
}

// locate gives each semantic issue the position of the value its path
// names, or of the nearest enclosing value when that one was defaulted. It
// drops issues about values that already failed to decode.
func (d *decoder) locate(issues []Issue) []Issue {
	located := make([]Issue, 0, len(issues))
	for _, issue := range issues {
		if d.isTainted(issue.Path) {
			continue
		}

		path := issue.Path
		for {
			if pos, ok := d.positions[path]; ok {
				issue.Line, issue.Column = pos.line, pos.column
				break
			}
			if path == "" {
				break
			}
			path = parentPath(path)
		}
		located = append(located, issue)
	}
	return located
}

func (d *decoder) isTainted(path string) bool {
	for p := path; ; p = parentPath(p) {
		if d.tainted[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

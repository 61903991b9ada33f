package catalogue

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
)

// LoadFile reads the catalogue at path and parses it with Parse. When the
// file cannot be read, it returns the wrapped read error, which names the
// path. Problems with the content, including a file larger than
// MaxFileSize, return a *ValidationError.
func LoadFile(path string) (*Catalogue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	defer f.Close()

	// Reading one byte past the limit detects a larger file without
	// trusting its reported size, which is 0 for devices and pipes.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
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
// aliases are followed, but anchors and aliases on mapping keys, merge
// keys and tags other than !!str are rejected. CRLF and lone CR line
// breaks are read as LF, so positions and values do not depend on the
// line breaks a file uses.
//
// Parse reports every issue it finds in one *ValidationError, sorted by
// position, each naming the file, line, column and path. A YAML syntax
// error is a single issue, because nothing after it can be read reliably.
// So is each problem that Parse checks before parsing: a file larger than
// MaxFileSize, a non-printable character, nesting deeper than
// MaxNestingDepth, and a few shapes, absent from valid catalogues, that
// the YAML parser handles in quadratic time. A version above
// CurrentVersion is also reported alone, because a newer
// catalogue may use fields that this version does not know. Every slice
// of the returned catalogue is non-nil.
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
	if len(data) > MaxFileSize {
		return nil, []Issue{sizeIssue()}
	}

	// Editors place the cursor after a byte order mark, so positions are
	// counted without it.
	data = bytes.TrimPrefix(data, byteOrderMark)
	data = normalizeLineBreaks(data)
	if issue, ok := checkCharacters(data); !ok {
		return nil, []Issue{issue}
	}

	file, issue, ok := parseYAML(data)
	if !ok {
		return nil, []Issue{issue}
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
	if c.Version > CurrentVersion {
		return nil, d.locate([]Issue{versionIssue(c.Version)})
	}

	issues = append(issues, d.locate(validate(c))...)
	slices.SortStableFunc(issues, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return c, issues
}

// normalizeLineBreaks turns CRLF and lone CR line breaks into LF. The YAML
// parser counts a CRLF inside a quoted scalar as two line breaks, which
// shifts every later line number, and keeps it as a line break where YAML
// folds the lines into a space.
func normalizeLineBreaks(data []byte) []byte {
	if bytes.IndexByte(data, '\r') < 0 {
		return data
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
}

// checkCharacters reports the position of the first byte that is not part
// of a valid UTF-8 character, or of the first character that YAML 1.2
// does not allow in a stream. Escapes in double-quoted scalars can still
// produce control characters, which Validate rejects.
func checkCharacters(data []byte) (Issue, bool) {
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
		if !isPrintable(r) {
			return Issue{
				Line:   line,
				Column: column,
				Message: fmt.Sprintf("invalid YAML: non-printable character %U is not "+
					"allowed; remove it", r),
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

// isPrintable reports whether YAML 1.2 allows r, a valid UTF-8 character,
// in a stream. It allows tab, line feed, carriage return and NEL, but no
// other C0 or C1 control character, nor DEL, U+FFFE or U+FFFF.
func isPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\u0085':
		return true
	case r < 0x20 || (r >= 0x7F && r <= 0x9F), r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return true
}

// parseYAML parses data into a syntax tree, keeping duplicate keys so the
// decoder can report each of them with the key it repeats. Before parsing,
// it checks the tokens against the limits that keep the parser fast.
func parseYAML(data []byte) (file *ast.File, issue Issue, ok bool) {
	// The input is untrusted text, so a parser bug must not crash the
	// caller.
	defer func() {
		if r := recover(); r != nil {
			file, ok = nil, false
			issue = syntaxIssue(fmt.Errorf("YAML parser failed: %v", r), data)
		}
	}()

	tokens := lexer.Tokenize(string(data))
	if issue, ok := checkStructure(tokens); !ok {
		return nil, issue, false
	}

	file, err := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, syntaxIssue(err, data), false
	}
	return file, Issue{}, true
}

// tabInQuotesMessage is the error of goccy/go-yaml v1.19.2 for a
// double-quoted scalar that contains a literal tab between other
// characters and is followed by another line, which YAML allows. Other
// mistakes produce the same message.
const tabInQuotesMessage = "value is not allowed in this context. map key-value is pre-defined"

func syntaxIssue(err error, data []byte) Issue {
	var yamlErr yaml.Error
	if !errors.As(err, &yamlErr) {
		return Issue{Message: "invalid YAML: " + err.Error()}
	}

	issue := Issue{Message: "invalid YAML: " + yamlErr.GetMessage()}
	if tk := yamlErr.GetToken(); tk != nil && tk.Position != nil {
		issue.Line, issue.Column = tk.Position.Line, tk.Position.Column
	}

	// The parser reports the tab error at a column past the end of the
	// line, so the issue points at the tab instead.
	if yamlErr.GetMessage() == tabInQuotesMessage {
		if column, found := quotedTabColumn(sourceLine(data, issue.Line)); found {
			issue.Column = column
			issue.Message += `; write the tab as \t`
		}
	}
	return issue
}

// sourceLine returns line n of data, counting from 1, or "" when there is
// no such line.
func sourceLine(data []byte, n int) string {
	for i := 1; i <= n && len(data) > 0; i++ {
		current, rest, _ := bytes.Cut(data, []byte("\n"))
		if i == n {
			return string(current)
		}
		data = rest
	}
	return ""
}

// quotedTabColumn returns the column of the first literal tab inside a
// double-quoted scalar on line. It skips single-quoted scalars and stops
// at a comment.
func quotedTabColumn(line string) (int, bool) {
	var quote rune
	escaped := false
	previous := ' '
	column := 0
	for _, r := range line {
		column++
		switch {
		case quote == '"' && escaped:
			escaped = false
		case quote == '"' && r == '\\':
			escaped = true
		case quote == '"' && r == '\t':
			return column, true
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case quote == 0 && r == '#' && (previous == ' ' || previous == '\t'):
			return 0, false
		}
		previous = r
	}
	return 0, false
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

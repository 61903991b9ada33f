package catalogue

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

// The costs below were measured with goccy/go-yaml v1.19.2 on a 2-core
// AMD EPYC virtual machine.

// MaxFileSize is the largest catalogue, in bytes, that Parse and LoadFile
// accept. Memory grows with the number of tokens: the densest 1 MiB file,
// a flow list of 500,000 one-letter projects, peaks at about 1 GB and
// takes 5 seconds to load. The example catalogue uses about 630 bytes per
// component, so the limit leaves room for about 1,600 such components.
const MaxFileSize = 1 << 20

// MaxNestingDepth is the deepest nesting of mappings and sequences, block
// and flow together, that Parse accepts. A valid catalogue nests at most 7
// levels, so the limit rejects only files that are invalid anyway. The
// YAML parser's time and memory grow with the square of the depth: 10,000
// levels of "[" allocate 170 MB, while 63 levels parse in under 0.2 ms.
const MaxNestingDepth = 64

// The YAML parser also takes quadratic time on three other shapes, which
// the limits below keep small. No valid catalogue comes near them, because
// a catalogue mapping has at most 10 fields, an empty value is only valid
// for an optional field, and a catalogue is one document.
const (
	// maxMappingEntries bounds the entries of one block mapping. The
	// parser recurses once per entry and copies the entries that follow,
	// so 40,000 entries take 7 seconds.
	maxMappingEntries = 1000

	// maxEmptyValues bounds the values written as nothing, such as "key:"
	// at the end of a line or a lone "-". The parser inserts a null token
	// for each by copying every token after it, so 500,000 of them take
	// 50 seconds.
	maxEmptyValues = 1000

	// maxDocuments bounds the "---" markers. The parser copies the tokens
	// of every later document for each one, so 58,000 take 8 seconds.
	maxDocuments = 100
)

// sizeIssue reports a file larger than MaxFileSize.
func sizeIssue() Issue {
	return Issue{Message: fmt.Sprintf(
		"catalogue file is larger than the maximum size of %d bytes (%d MiB)",
		MaxFileSize, MaxFileSize>>20)}
}

// structureScanner walks the tokens of a file before it is parsed and
// stops at the first limit passed. It tracks block collections by the
// column of their entries and flow collections by their brackets. Tokens
// inside quoted scalars, block scalars and comments do not count, because
// the lexer has already turned each of those into a single token.
type structureScanner struct {
	tokens token.Tokens

	block []blockCollection
	flow  []flowCollection

	emptyValues int
	documents   int

	// at is the token where an issue found by the current visit is
	// reported. It is the visited token, unless the issue concerns a whole
	// mapping entry, which is reported at its key.
	at *token.Token
}

type blockCollection struct {
	column  int
	mapping bool
	entries int
}

type flowCollection struct {
	mapping bool

	// entryStart is the first token of the current entry and entryTokens
	// counts its tokens. entryHasValue records whether a ":" has been seen
	// in it, so that a mapping entry written as a lone key counts as an
	// empty value.
	entryStart    *token.Token
	entryTokens   int
	entryHasValue bool
}

// checkStructure returns an issue at the token that passes
// MaxNestingDepth or one of the limits on mapping entries, empty values
// and documents.
func checkStructure(tokens token.Tokens) (Issue, bool) {
	s := &structureScanner{tokens: tokens}
	for i, tk := range tokens {
		if tk.Type == token.CommentType {
			continue
		}
		s.at = tk
		if message := s.visit(i); message != "" {
			issue := Issue{Message: message}
			if s.at.Position != nil {
				issue.Line, issue.Column = s.at.Position.Line, s.at.Position.Column
			}
			return issue, false
		}
	}
	return Issue{}, true
}

// visit accounts for the token at index i and returns a message when it
// passes a limit.
func (s *structureScanner) visit(i int) string {
	tk := s.tokens[i]
	inFlow := len(s.flow) > 0

	switch tk.Type {
	case token.DocumentHeaderType, token.DocumentEndType:
		s.block, s.flow = s.block[:0], s.flow[:0]
		if tk.Type == token.DocumentHeaderType {
			s.documents++
			if s.documents > maxDocuments {
				return fmt.Sprintf("catalogue file has more than the maximum of %d "+
					"documents; a catalogue is one YAML document", maxDocuments)
			}
		}

	case token.SequenceStartType, token.MappingStartType:
		s.countFlowToken()
		s.flow = append(s.flow, flowCollection{mapping: tk.Type == token.MappingStartType})
		return s.checkDepth()

	case token.SequenceEndType, token.MappingEndType, token.CollectEntryType:
		if !inFlow {
			return ""
		}
		if message := s.endFlowEntry(); message != "" {
			return message
		}
		if tk.Type != token.CollectEntryType {
			s.flow = s.flow[:len(s.flow)-1]
		}

	case token.MappingValueType:
		if inFlow {
			s.flow[len(s.flow)-1].entryHasValue = true
			if next := s.nextToken(i); next != nil && isFlowEnd(next.Type) {
				return s.countEmptyValue()
			}
			return ""
		}
		return s.visitBlockValue(i)

	case token.SequenceEntryType:
		if inFlow {
			s.countFlowToken()
			return ""
		}
		if message := s.enterBlock(tk.Position.Column, false); message != "" {
			return message
		}
		next := s.nextToken(i)
		if next == nil || (next.Position.Line != tk.Position.Line &&
			next.Position.Column <= tk.Position.Column) {
			return s.countEmptyValue()
		}

	case token.MappingKeyType:
		if inFlow {
			s.countFlowToken()
			return ""
		}
		return s.enterBlock(tk.Position.Column, true)

	default:
		s.countFlowToken()
	}
	return ""
}

// visitBlockValue accounts for the ":" of a block mapping entry at index
// i. Its value is empty when nothing follows, or when the next token is
// on a later line and not indented deeper than the key, unless it is a
// "-" at the key's column, which starts a sequence as the value.
func (s *structureScanner) visitBlockValue(i int) string {
	colon := s.tokens[i]
	keyColumn := colon.Position.Column

	if key := s.keyStart(i); key >= 0 {
		s.at = s.tokens[key]
		keyColumn = s.at.Position.Column
		if message := s.enterBlock(keyColumn, true); message != "" {
			return message
		}
	}

	next := s.nextToken(i)
	if next == nil {
		return s.countEmptyValue()
	}
	if next.Position.Line == colon.Position.Line {
		return ""
	}
	if next.Position.Column < keyColumn ||
		(next.Position.Column == keyColumn && next.Type != token.SequenceEntryType) {
		return s.countEmptyValue()
	}
	return ""
}

// keyStart returns the index of the first token of the key that the ":"
// at index i completes, including any anchor or tag written before it, or
// -1 when the ":" starts its line, as the value of a "? key" entry does.
func (s *structureScanner) keyStart(i int) int {
	line := s.tokens[i].Position.Line
	onLine := func(j int) bool {
		return j >= 0 && s.tokens[j].Position != nil && s.tokens[j].Position.Line == line
	}

	key := i - 1
	if !onLine(key) {
		return -1
	}
	for {
		switch {
		case onLine(key-1) && s.tokens[key-1].Type == token.TagType:
			key--
		case onLine(key-2) && (s.tokens[key-2].Type == token.AnchorType ||
			s.tokens[key-2].Type == token.AliasType):
			key -= 2
		default:
			return key
		}
	}
}

// enterBlock accounts for an entry of a block collection whose entries
// start at column. It closes the collections that the entry ends, and
// either counts the entry in the collection it continues or opens a new
// collection.
func (s *structureScanner) enterBlock(column int, mapping bool) string {
	for len(s.block) > 0 {
		top := s.block[len(s.block)-1]
		// A mapping key at the column of a sequence ends the sequence, as
		// in "key:\n- item\nnext: value".
		if top.column > column || (top.column == column && mapping && !top.mapping) {
			s.block = s.block[:len(s.block)-1]
			continue
		}
		break
	}

	if n := len(s.block); n > 0 {
		top := &s.block[n-1]
		if top.column == column && top.mapping == mapping {
			top.entries++
			if mapping && top.entries > maxMappingEntries {
				return fmt.Sprintf("mapping has more than the maximum of %d entries; "+
					"a catalogue mapping has at most 10 fields", maxMappingEntries)
			}
			return ""
		}
	}

	s.block = append(s.block, blockCollection{column: column, mapping: mapping, entries: 1})
	return s.checkDepth()
}

func (s *structureScanner) checkDepth() string {
	if len(s.block)+len(s.flow) > MaxNestingDepth {
		return fmt.Sprintf("mappings and sequences nest deeper than the maximum of %d "+
			"levels; a catalogue needs at most 7", MaxNestingDepth)
	}
	return ""
}

// countFlowToken counts the current token in the current entry of the
// innermost flow collection.
func (s *structureScanner) countFlowToken() {
	if n := len(s.flow); n > 0 {
		top := &s.flow[n-1]
		if top.entryTokens == 0 {
			top.entryStart = s.at
		}
		top.entryTokens++
	}
}

// endFlowEntry ends the current entry of the innermost flow collection at
// a "," or closing bracket. An entry of a flow mapping with a key but no
// ":", as in "{a, b}", has an empty value.
func (s *structureScanner) endFlowEntry() string {
	top := &s.flow[len(s.flow)-1]
	empty := top.mapping && top.entryTokens > 0 && !top.entryHasValue
	if empty {
		s.at = top.entryStart
	}

	top.entryStart, top.entryTokens, top.entryHasValue = nil, 0, false
	if empty {
		return s.countEmptyValue()
	}
	return ""
}

func (s *structureScanner) countEmptyValue() string {
	s.emptyValues++
	if s.emptyValues > maxEmptyValues {
		return fmt.Sprintf("catalogue has more than the maximum of %d empty values; "+
			"write null for an empty value or leave the key out", maxEmptyValues)
	}
	return ""
}

// nextToken returns the first token after index i that is not a comment,
// or nil at the end of the stream.
func (s *structureScanner) nextToken(i int) *token.Token {
	for _, tk := range s.tokens[i+1:] {
		if tk.Type != token.CommentType {
			return tk
		}
	}
	return nil
}

func isFlowEnd(t token.Type) bool {
	return t == token.CollectEntryType || t == token.SequenceEndType ||
		t == token.MappingEndType
}

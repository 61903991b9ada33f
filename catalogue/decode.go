package catalogue

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// maxDecodedValues bounds the values one catalogue may decode to. Aliases
// let a small file expand to billions of values, so decoding stops at this
// count, which is far above what a hand-written catalogue reaches.
const maxDecodedValues = 1_000_000

// position is a 1-based line and column, counted in characters.
type position struct {
	line, column int
}

// decoder turns a YAML syntax tree into the catalogue model. Unlike a
// reflection-based decoder, it does not stop at the first problem. It
// reports every structural issue with the position of its node, and it
// records the position of each decoded value so that semantic issues found
// later can be located by path.
type decoder struct {
	issues []Issue

	// positions maps each decoded value's path to where it is written.
	positions map[string]position

	// tainted contains the paths of values that failed to decode, so that
	// semantic checks do not report the same value a second time.
	tainted map[string]bool

	// aliases maps each alias to the node its anchor names, or to nil when
	// no earlier anchor has that name.
	aliases map[*ast.AliasNode]ast.Node

	decoded  int
	tooLarge bool
}

func newDecoder(body ast.Node) *decoder {
	return &decoder{
		positions: map[string]position{},
		tainted:   map[string]bool{},
		aliases:   resolveAliases(body),
	}
}

// resolveAliases pairs every alias in the tree with the node of the latest
// anchor of the same name that precedes it. An anchor is registered only
// after its own content is walked, so an alias can never point into the
// node that contains it and decoding cannot loop.
func resolveAliases(body ast.Node) map[*ast.AliasNode]ast.Node {
	anchors := map[string]ast.Node{}
	aliases := map[*ast.AliasNode]ast.Node{}

	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		switch v := n.(type) {
		case *ast.AnchorNode:
			walk(v.Value)
			anchors[nodeText(v.Name)] = v.Value
		case *ast.AliasNode:
			aliases[v] = anchors[nodeText(v.Value)]
		case *ast.MappingNode:
			for _, entry := range v.Values {
				walk(entry)
			}
		case *ast.MappingValueNode:
			walk(v.Key)
			walk(v.Value)
		case *ast.MappingKeyNode:
			walk(v.Value)
		case *ast.SequenceNode:
			for _, item := range v.Values {
				walk(item)
			}
		case *ast.TagNode:
			walk(v.Value)
		}
	}
	walk(body)
	return aliases
}

// nodeText returns the source text of a node's first token.
func nodeText(n ast.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

func nodePosition(n ast.Node) position {
	if n == nil {
		return position{}
	}

	var tk *token.Token
	switch v := n.(type) {
	case *ast.MappingNode:
		// The token of a block mapping is its first colon, but users look
		// for the first key.
		tk = v.Start
		if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0].Key != nil {
			tk = v.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			tk = v.Key.GetToken()
		}
	default:
		tk = n.GetToken()
	}

	if tk == nil || tk.Position == nil {
		return position{}
	}
	return position{line: tk.Position.Line, column: tk.Position.Column}
}

func (d *decoder) add(pos position, path, format string, args ...any) {
	d.issues = append(d.issues, Issue{
		Line:    pos.line,
		Column:  pos.column,
		Path:    path,
		Message: fmt.Sprintf(format, args...),
	})
}

// enter records where the value at path is written and follows anchors and
// aliases to the node with its content. It returns false, after reporting
// why, when there is no usable node.
func (d *decoder) enter(n ast.Node, path string) (ast.Node, bool) {
	if _, seen := d.positions[path]; !seen {
		d.positions[path] = nodePosition(n)
	}

	d.decoded++
	if d.decoded > maxDecodedValues {
		if !d.tooLarge {
			d.tooLarge = true
			d.add(nodePosition(n), path,
				"catalogue expands to more than %d values through aliases", maxDecodedValues)
		}
		return nil, false
	}

	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			target := d.aliases[v]
			if target == nil {
				d.add(nodePosition(v), path, "undefined alias %q", nodeText(v.Value))
				d.tainted[path] = true
				return nil, false
			}
			n = target
		case *ast.TagNode:
			if tag := v.Start.Value; tag != "!!str" {
				d.add(nodePosition(v), path,
					"unsupported tag %q; only !!str is allowed", tag)
				d.tainted[path] = true
				return nil, false
			}
			return n, true
		default:
			return n, true
		}
	}
}

// mismatch reports a value of the wrong type.
func (d *decoder) mismatch(n ast.Node, path, expected string) {
	found := describeNode(n)
	message := fmt.Sprintf("expected %s, found %s", expected, found)
	if path == "" {
		message = fmt.Sprintf("expected the catalogue to be %s, found %s", expected, found)
	}

	switch {
	case strings.HasPrefix(expected, "a string") && isPlainScalar(n):
		message += " (quote it to make it a string)"
	case strings.HasPrefix(expected, "a sequence") && isNull(n):
		message += " (write [] for an empty list)"
	}

	d.add(d.positions[path], path, "%s", message)
	d.tainted[path] = true
}

var plainInteger = regexp.MustCompile(`^[-+]?[0-9]+$`)

// isOverflowedInteger reports whether n is a plain scalar that reads as an
// integer. The YAML parser keeps integers that do not fit in 64 bits as
// strings.
func isOverflowedInteger(n ast.Node) bool {
	s, ok := n.(*ast.StringNode)
	return ok && s.Token != nil && s.Token.Type == token.StringType &&
		plainInteger.MatchString(s.Value)
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// isImplicitNull reports whether n is a null written as nothing at all.
func isImplicitNull(n ast.Node) bool {
	null, ok := n.(*ast.NullNode)
	return ok && null.Token != nil && null.Token.Type == token.ImplicitNullType
}

// isPlainScalar reports whether n is an unquoted number or boolean, which
// quoting would turn into a string.
func isPlainScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return true
	}
	return isOverflowedInteger(n)
}

// describeNode names the type and, for scalars, the value of n.
func describeNode(n ast.Node) string {
	if isOverflowedInteger(n) {
		return "integer " + nodeText(n)
	}
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.BoolNode:
		return "boolean " + nodeText(v)
	case *ast.IntegerNode:
		return "integer " + nodeText(v)
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number " + nodeText(v)
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a sequence"
	}
	if s, ok := stringValue(n); ok {
		return "string " + quoteShort(s)
	}
	return n.Type().String()
}

// quoteShort quotes s as Go does, cutting it to its first 40 characters
// followed by "..." when it is longer.
func quoteShort(s string) string {
	const maxShown = 40

	if runes := []rune(s); len(runes) > maxShown {
		s = string(runes[:maxShown]) + "..."
	}
	return fmt.Sprintf("%q", s)
}

// stringValue returns the text of a plain, quoted or block string scalar,
// or of any scalar tagged !!str.
func stringValue(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		if isOverflowedInteger(v) {
			return "", false
		}
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.TagNode:
		switch inner := v.Value.(type) {
		case *ast.StringNode:
			return inner.Value, true
		case *ast.LiteralNode:
			return inner.Value.Value, true
		case ast.ScalarNode:
			return nodeText(inner), true
		}
	}
	return "", false
}

// field describes one key of a YAML mapping that decodes into a struct.
type field struct {
	name     string
	required bool
	decode   func(n ast.Node, path string)
}

// decodeMapping decodes the mapping at path field by field, reporting
// unknown, duplicate and missing keys.
func (d *decoder) decodeMapping(n ast.Node, path string, fields []field) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}

	var entries []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		entries = v.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{v}
	default:
		d.mismatch(n, path, "a mapping")
		return
	}

	seen := map[string]position{}
	for _, entry := range entries {
		d.decodeEntry(entry, path, fields, seen)
	}

	for _, f := range fields {
		if _, present := seen[f.name]; f.required && !present {
			d.add(d.positions[path], path, "missing required field %q", f.name)
			d.tainted[fieldPath(path, f.name)] = true
		}
	}
}

func (d *decoder) decodeEntry(
	entry *ast.MappingValueNode, path string, fields []field, seen map[string]position,
) {
	key := entry.Key
	if key == nil {
		return
	}
	if k, ok := key.(*ast.MappingKeyNode); ok && k.Value != nil {
		// An explicit "? key" entry wraps the key node.
		if inner, ok := k.Value.(ast.MapKeyNode); ok {
			key = inner
		}
	}
	keyPos := nodePosition(key)

	if key.IsMergeKey() {
		d.add(keyPos, path, `merge keys ("<<") are not supported; write the fields out in full`)
		return
	}

	// An entry whose key has an anchor or is an alias is reported, but
	// still decoded under the key it names, so that the field does not
	// also appear as unknown or missing.
	const keyAnchorMessage = "anchors and aliases on keys are not supported; write the key out"
	anchored := false
	switch key.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		anchored = true
		if key = d.resolveKey(key); key == nil {
			d.add(keyPos, path, keyAnchorMessage)
			return
		}
	}

	name := nodeText(key)
	if s, ok := stringValue(key); ok {
		name = s
	}
	namePath := fieldPath(path, name)
	if anchored {
		d.add(keyPos, namePath, keyAnchorMessage)
	}

	if first, duplicate := seen[name]; duplicate {
		d.add(keyPos, namePath, "duplicate key %q; first defined at line %d, column %d",
			name, first.line, first.column)
		return
	}
	seen[name] = keyPos

	if isImplicitNull(entry.Value) {
		// An empty value has no position of its own, so issues about it
		// point at its key.
		d.positions[namePath] = keyPos
	}
	for _, f := range fields {
		if f.name == name {
			f.decode(entry.Value, namePath)
			return
		}
	}
	d.add(keyPos, namePath, "%s", unknownFieldMessage(name, fields))
}

// resolveKey returns the scalar that an anchored or aliased key names, or
// nil when an alias has no anchor or the key is not a scalar.
func (d *decoder) resolveKey(key ast.Node) ast.MapKeyNode {
	var target ast.Node
	switch k := key.(type) {
	case *ast.AnchorNode:
		target = k.Value
	case *ast.AliasNode:
		target = d.aliases[k]
	}
	if _, ok := stringValue(target); !ok {
		return nil
	}
	scalar, _ := target.(ast.MapKeyNode)
	return scalar
}

// unknownFieldMessage names the unknown field and, when one is close
// enough to be a likely typo, the known field it resembles.
func unknownFieldMessage(name string, fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return fmt.Sprintf("unknown field %q%s", name, didYouMean(name, names, nil))
}

// didYouMean returns "; did you mean %q?" naming the candidate closest to
// name, or "" when none is close enough to be a likely typo. It allows
// about one edit per three characters, so that "nme" suggests "name" but
// "id" suggests nothing. Of equally close candidates, the first wins.
//
// Comparing two strings costs the product of their lengths. When budget
// is not nil, each comparison takes its cost from *budget, and
// didYouMean stops comparing when the budget would go below zero.
func didYouMean(name string, candidates []string, budget *int) string {
	length := utf8.RuneCountInString(name)
	limit := max(1, length/3)

	best, bestDistance := "", limit+1
	for _, candidate := range candidates {
		// The distance is at least the difference in length, so most
		// candidates are ruled out without computing it.
		candidateLength := utf8.RuneCountInString(candidate)
		if candidate == "" || abs(candidateLength-length) >= bestDistance {
			continue
		}

		if budget != nil {
			if *budget < length*candidateLength {
				break
			}
			*budget -= length * candidateLength
		}
		if distance := editDistance(name, candidate); distance < bestDistance {
			best, bestDistance = candidate, distance
		}
	}

	if bestDistance > limit {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance returns the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	previous := make([]int, len(rb)+1)
	current := make([]int, len(rb)+1)
	for j := range previous {
		previous[j] = j
	}

	for i := 1; i <= len(ra); i++ {
		current[0] = i
		for j := 1; j <= len(rb); j++ {
			substitution := previous[j-1]
			if ra[i-1] != rb[j-1] {
				substitution++
			}
			current[j] = min(previous[j]+1, current[j-1]+1, substitution)
		}
		previous, current = current, previous
	}
	return previous[len(rb)]
}

// decodeSequence calls item for each entry of the sequence at path.
func (d *decoder) decodeSequence(n ast.Node, path string, item func(ast.Node, string)) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}

	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.mismatch(n, path, "a sequence")
		return
	}
	for i, value := range seq.Values {
		itemPath := indexPath(path, i)
		if isImplicitNull(value) && i < len(seq.Entries) {
			// An empty entry has no position of its own, so issues about it
			// point at its dash.
			d.positions[itemPath] = nodePosition(seq.Entries[i])
		}
		item(value, itemPath)
	}
}

// decodeList decodes a sequence of structs. Entries that fail to decode
// still take their place, so that list indexes keep matching the file.
func decodeList[T any](d *decoder, n ast.Node, path string, item func(ast.Node, string) T) []T {
	values := []T{}
	d.decodeSequence(n, path, func(n ast.Node, path string) {
		values = append(values, item(n, path))
	})
	return values
}

func (d *decoder) stringInto(dst *string) func(ast.Node, string) {
	return func(n ast.Node, path string) {
		n, ok := d.enter(n, path)
		if !ok {
			return
		}
		s, ok := stringValue(n)
		if !ok {
			d.mismatch(n, path, "a string")
			return
		}
		*dst = s
	}
}

func (d *decoder) optionalStringInto(dst **string) func(ast.Node, string) {
	return func(n ast.Node, path string) {
		n, ok := d.enter(n, path)
		if !ok || isNull(n) {
			return
		}
		s, ok := stringValue(n)
		if !ok {
			d.mismatch(n, path, "a string or null")
			return
		}
		*dst = &s
	}
}

func (d *decoder) stringsInto(dst *[]string) func(ast.Node, string) {
	return func(n ast.Node, path string) {
		*dst = decodeList(d, n, path, func(n ast.Node, path string) string {
			var s string
			d.stringInto(&s)(n, path)
			return s
		})
	}
}

func (d *decoder) boolInto(dst *bool) func(ast.Node, string) {
	return func(n ast.Node, path string) {
		n, ok := d.enter(n, path)
		if !ok {
			return
		}
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.mismatch(n, path, "a boolean (true or false)")
			return
		}
		*dst = b.Value
	}
}

func (d *decoder) intInto(dst *int) func(ast.Node, string) {
	return func(n ast.Node, path string) {
		n, ok := d.enter(n, path)
		if !ok {
			return
		}

		var i int64
		switch v := n.(type) {
		case *ast.IntegerNode:
			switch value := v.Value.(type) {
			case int64:
				i = value
			case uint64:
				if value > math.MaxInt64 {
					d.outOfRange(n, path)
					return
				}
				i = int64(value)
			}
		default:
			if isOverflowedInteger(n) {
				d.outOfRange(n, path)
				return
			}
			d.mismatch(n, path, "an integer")
			return
		}

		if i < math.MinInt || i > math.MaxInt {
			d.outOfRange(n, path)
			return
		}
		*dst = int(i)
	}
}

func (d *decoder) outOfRange(n ast.Node, path string) {
	d.add(d.positions[path], path, "integer %s is out of range", nodeText(n))
	d.tainted[path] = true
}

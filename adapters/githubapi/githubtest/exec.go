package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// GraphQLError is one entry of a GraphQL response's errors, in GitHub's
// layout.
type GraphQLError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Locations  []Location     `json:"locations,omitempty"`
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Location is a line and column in a GraphQL document, both from one.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// object is a GraphQL object value that the executor walks.
type object interface {
	typeName() string

	// resolve returns the field's value: a JSON scalar, nil, an object
	// or a []object. It reports errors through the executor.
	resolve(ex *executor, f *ast.Field, path []any) any
}

// member is one key of a JSON object that keeps its keys in order, as
// GraphQL responses do.
type member struct {
	key   string
	value any
}

type orderedObject []member

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		key, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		buf.Write(key)
		buf.WriteByte(':')
		value, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", m.key, err)
		}
		buf.Write(value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// executor runs one operation against the server's data. The caller
// holds the data lock for reading.
type executor struct {
	s      *Server
	doc    *ast.QueryDocument
	vars   map[string]any
	schema *ast.Schema

	// rate is the budget after charging, nil when rateLimit is null.
	rate  *RateLimit
	cost  int
	nodes int

	partial *InjectedFault

	// errs are field errors returned beside the data. Errors in fatal
	// replace the data.
	errs  []GraphQLError
	fatal []GraphQLError
}

// interfaces lists the interfaces and unions each served type belongs
// to, for matching fragment type conditions without a schema.
var interfaces = map[string][]string{
	"Repository": {"Node", "PackageOwner", "ProjectOwner", "ProjectV2Recent",
		"RepositoryInfo", "Starrable", "Subscribable", "UniformResourceLocatable",
		"PinnableItem", "SearchResultItem"},
	"Commit": {"GitObject", "Node", "Subscribable", "UniformResourceLocatable",
		"Closer", "PullRequestTimelineItem"},
	"PullRequest": {"Assignable", "Closable", "Comment", "Labelable", "Lockable", "Node",
		"ProjectV2Owner", "Reactable", "RepositoryNode", "Subscribable",
		"UniformResourceLocatable", "Updatable", "UpdatableComment",
		"IssueOrPullRequest", "SearchResultItem", "Closer", "ProjectCardItem",
		"ProjectV2ItemContent", "ReferencedSubject", "RenamedTitleSubject"},
	"Issue": {"Assignable", "Closable", "Comment", "Deletable", "Labelable", "Lockable",
		"Node", "ProjectV2Owner", "Reactable", "RepositoryNode", "Subscribable",
		"SubscribableThread", "UniformResourceLocatable", "Updatable",
		"UpdatableComment", "IssueOrPullRequest", "SearchResultItem",
		"ProjectCardItem", "ProjectV2ItemContent", "ReferencedSubject",
		"RenamedTitleSubject"},
	"User": {"Actor", "Node", "PackageOwner", "ProfileOwner", "ProjectOwner",
		"ProjectV2Owner", "ProjectV2Recent", "RepositoryDiscussionAuthor",
		"RepositoryDiscussionCommentAuthor", "RepositoryOwner", "Sponsorable",
		"UniformResourceLocatable", "Assignee", "RequestedReviewer"},
	"Organization": {"Actor", "Node", "PackageOwner", "ProfileOwner", "ProjectOwner",
		"ProjectV2Owner", "ProjectV2Recent", "RepositoryOwner", "Sponsorable",
		"UniformResourceLocatable", "MemberStatusable", "AnnouncementBannerI",
		"RepositoryDiscussionAuthor", "RepositoryDiscussionCommentAuthor"},
	"Bot": {"Actor", "Node", "UniformResourceLocatable", "Assignee",
		"RequestedReviewer"},
	"Mannequin": {"Actor", "Node", "UniformResourceLocatable", "Assignee",
		"RequestedReviewer"},
	"EnterpriseUserAccount": {"Actor", "Node"},
	"Ref":                   {"Node"},
	"Label":                 {"Node"},
}

func typeMatches(typeName, condition string) bool {
	if condition == "" || condition == typeName {
		return true
	}
	for _, i := range interfaces[typeName] {
		if i == condition {
			return true
		}
	}
	return false
}

// collected is one response key with every field merged under it.
type collected struct {
	key    string
	fields []*ast.Field
}

// collect gathers the fields a selection set selects on a type,
// following fragments whose type condition matches and merging fields
// that share a response key.
func (ex *executor) collect(typeName string, set ast.SelectionSet, out []collected,
	seen map[string]bool) []collected {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if !ex.included(sel.Directives) {
				continue
			}
			found := false
			for i := range out {
				if out[i].key == sel.Alias {
					out[i].fields = append(out[i].fields, sel)
					found = true
					break
				}
			}
			if !found {
				out = append(out, collected{key: sel.Alias, fields: []*ast.Field{sel}})
			}

		case *ast.InlineFragment:
			if ex.included(sel.Directives) && typeMatches(typeName, sel.TypeCondition) {
				out = ex.collect(typeName, sel.SelectionSet, out, seen)
			}

		case *ast.FragmentSpread:
			if !ex.included(sel.Directives) || seen[sel.Name] {
				continue
			}
			def := ex.doc.Fragments.ForName(sel.Name)
			if def == nil {
				ex.fail(GraphQLError{
					Message:    fmt.Sprintf("Fragment %s was used, but not defined", sel.Name),
					Locations:  locations(sel.Position),
					Extensions: map[string]any{"code": "useAndDefineFragment"},
				}, false)
				continue
			}
			if typeMatches(typeName, def.TypeCondition) {
				seen[sel.Name] = true
				out = ex.collect(typeName, def.SelectionSet, out, seen)
				delete(seen, sel.Name)
			}
		}
	}
	return out
}

// included applies @skip and @include.
func (ex *executor) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, _ := arg.Value.Value(ex.vars)
		b, _ := v.(bool)
		if d.Name == "skip" && b || d.Name == "include" && !b {
			return false
		}
	}
	return true
}

// selectObject resolves a selection set on an object.
func (ex *executor) selectObject(obj object, set ast.SelectionSet, path []any) orderedObject {
	fields := ex.collect(obj.typeName(), set, nil, map[string]bool{})
	out := make(orderedObject, 0, len(fields))
	for _, c := range fields {
		f := c.fields[0]
		fieldPath := appendPath(path, c.key)

		var value any
		if f.Name == "__typename" {
			value = obj.typeName()
		} else if ex.partialHits(f) {
			ex.partialError(f, fieldPath)
		} else {
			value = obj.resolve(ex, f, fieldPath)
		}

		var sub ast.SelectionSet
		for _, g := range c.fields {
			sub = append(sub, g.SelectionSet...)
		}
		out = append(out, member{c.key, ex.complete(value, sub, fieldPath)})
	}
	return out
}

// complete resolves the selection set on a resolved value.
func (ex *executor) complete(value any, set ast.SelectionSet, path []any) any {
	switch v := value.(type) {
	case object:
		return ex.selectObject(v, set, path)
	case []object:
		list := make([]any, len(v))
		for i, o := range v {
			list[i] = ex.complete(o, set, appendPath(path, i))
		}
		return list
	}
	return value
}

func appendPath(path []any, elem any) []any {
	out := make([]any, len(path), len(path)+1)
	copy(out, path)
	return append(out, elem)
}

func locations(pos *ast.Position) []Location {
	if pos == nil {
		return nil
	}
	return []Location{{Line: pos.Line, Column: pos.Column}}
}

// fieldError records an error for one field, returned beside the data.
func (ex *executor) fieldError(f *ast.Field, path []any, typ, message string) {
	ex.errs = append(ex.errs, GraphQLError{
		Type:      typ,
		Path:      path,
		Locations: locations(f.Position),
		Message:   message,
	})
}

// fail records an error that replaces the whole response. unsupported
// marks a valid document that uses what the fake does not implement.
func (ex *executor) fail(e GraphQLError, unsupported bool) {
	ex.fatal = append(ex.fatal, e)

	ex.s.mu.Lock()
	defer ex.s.mu.Unlock()

	if unsupported {
		ex.s.unsupported = append(ex.s.unsupported, e)
	} else {
		ex.s.invalid = append(ex.s.invalid, e)
	}
}

// unknownField rejects a field the fake does not serve: as GitHub rejects
// an undefined field when there is no schema to tell, and as unsupported
// when the schema accepted it.
func (ex *executor) unknownField(typeName string, f *ast.Field, path []any) any {
	if ex.schema != nil {
		ex.fail(GraphQLError{
			Path:      path,
			Locations: locations(f.Position),
			Message: fmt.Sprintf("githubtest does not implement field '%s' on type '%s'",
				f.Name, typeName),
		}, true)
		return nil
	}
	ex.fail(GraphQLError{
		Path:      append([]any{"query"}, path...),
		Locations: locations(f.Position),
		Message:   fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.Name, typeName),
		Extensions: map[string]any{
			"code": "undefinedField", "typeName": typeName, "fieldName": f.Name,
		},
	}, false)
	return nil
}

// unsupportedArgument rejects an argument value the fake cannot serve.
func (ex *executor) unsupportedArgument(f *ast.Field, path []any, arg string, value any) {
	ex.fail(GraphQLError{
		Path:      path,
		Locations: locations(f.Position),
		Message: fmt.Sprintf("githubtest does not implement %s: %v on field '%s'",
			arg, value, f.Name),
	}, true)
}

func (ex *executor) partialHits(f *ast.Field) bool {
	return ex.partial != nil && f.Name == ex.partial.Field
}

func (ex *executor) partialError(f *ast.Field, path []any) {
	typ, msg := ex.partial.Type, ex.partial.Message
	if typ == "" {
		typ = "FORBIDDEN"
	}
	if msg == "" {
		msg = "Resource not accessible by integration"
	}
	ex.fieldError(f, path, typ, msg)
}

// arg returns an argument's value, resolving variables; ok is false for
// an argument that is absent, null or an unset variable.
func (ex *executor) arg(f *ast.Field, name string) (any, bool) {
	a := f.Arguments.ForName(name)
	if a == nil {
		return nil, false
	}
	v, err := a.Value.Value(ex.vars)
	if err != nil || v == nil {
		return nil, false
	}
	return v, true
}

func (ex *executor) stringArg(f *ast.Field, name string) (string, bool) {
	v, ok := ex.arg(f, name)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

func (ex *executor) intArg(f *ast.Field, name string) (int, bool) {
	v, ok := ex.arg(f, name)
	if !ok {
		return 0, false
	}
	return toInt(v)
}

// toInt converts an argument or variable value to int; JSON variables
// arrive as json.Number.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == math.Trunc(n) {
			return int(n), true
		}
	case json.Number:
		if i, err := strconv.Atoi(string(n)); err == nil {
			return i, true
		}
	}
	return 0, false
}

// timeArg parses a DateTime or GitTimestamp argument. An unparsable value
// records an error and returns ok false with bad true.
func (ex *executor) timeArg(f *ast.Field, path []any, name string) (t time.Time, ok, bad bool) {
	s, present := ex.stringArg(f, name)
	if !present {
		return time.Time{}, false, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		ex.fail(GraphQLError{
			Path:      path,
			Locations: locations(f.Position),
			Message: fmt.Sprintf("Argument '%s' on Field '%s' has an invalid value (%q). "+
				"Expected type 'GitTimestamp'.", name, f.Name, s),
			Extensions: map[string]any{"code": "argumentLiteralsIncompatible"},
		}, false)
		return time.Time{}, false, true
	}
	return t, true, false
}

// Time formats: DateTime is UTC, GitTimestamp keeps the offset git
// recorded.
func dateTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func gitTimestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

package githubtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// graphQLRequest is the body of a GraphQL POST.
type graphQLRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// serveGraphQL serves a GraphQL request: authenticate, parse and
// validate, measure the cost, apply faults and the budget, then execute.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	entry := entryOf(r.Context())
	token, ok := s.authenticate(w, r, resourceGraphQL)
	if !ok {
		return
	}

	var req graphQLRequest
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, restError("Problems parsing JSON", docsREST))
		return
	}
	entry.Query, entry.Variables, entry.OperationName = req.Query, req.Variables, req.OperationName

	if strings.TrimSpace(req.Query) == "" {
		s.answerInvalid(w, []GraphQLError{{
			Message: "A query attribute must be specified and must be a string.",
		}})
		return
	}
	doc, op, errs := s.parse(req)
	if len(errs) > 0 {
		s.answerInvalid(w, errs)
		return
	}

	vars := req.Variables
	a := analyze(doc, op, vars)
	if len(a.errs) > 0 {
		s.answerInvalid(w, a.errs)
		return
	}

	fault := s.takeFault(requestTraits{api: GraphQLAPI, maxPage: a.maxPage,
		hasField: func(name string) bool { return a.fields[name] }})
	var partial *InjectedFault
	if fault != nil {
		if fault.Kind == PartialError {
			partial = fault
			entry.Fault = PartialError
		} else if s.applyFault(w, r, fault, token, resourceGraphQL) {
			return
		}
	}

	ex := &executor{s: s, doc: doc, vars: vars, schema: s.opts.Schema, cost: a.cost,
		nodes: a.nodes, partial: partial}
	if !s.opts.RateLimitsOff {
		rl, ok := s.charge(resourceGraphQL, a.cost)
		if !ok {
			s.writeRateHeaders(w, resourceGraphQL, rl)
			writeJSON(w, http.StatusOK, rateLimitedBody(s.principal(token)))
			return
		}
		entry.Cost = a.cost
		s.writeRateHeaders(w, resourceGraphQL, rl)
		if !s.opts.NullRateLimit {
			ex.rate = &rl
		}
	}

	s.dataMu.RLock()
	data := ex.selectObject(queryObject{}, op.SelectionSet, nil)
	s.dataMu.RUnlock()

	if len(ex.fatal) > 0 {
		// GitHub rejects such a document before running it, free of charge.
		if entry.Cost > 0 {
			s.spend(resourceGraphQL, -entry.Cost)
			entry.Cost = 0
			s.writeRateHeaders(w, resourceGraphQL, s.peek(resourceGraphQL))
		}
		writeJSON(w, http.StatusOK, map[string]any{"errors": ex.fatal})
		return
	}
	body := orderedObject{{"data", data}}
	if len(ex.errs) > 0 {
		body = append(body, member{"errors", ex.errs})
	}
	writeJSON(w, http.StatusOK, body)
}

// answerInvalid rejects a document GitHub would not run: HTTP 200 with
// errors and no data. The server remembers the errors.
func (s *Server) answerInvalid(w http.ResponseWriter, errs []GraphQLError) {
	s.mu.Lock()
	s.invalid = append(s.invalid, errs...)
	s.mu.Unlock()

	if !s.opts.RateLimitsOff {
		s.writeRateHeaders(w, resourceGraphQL, s.peek(resourceGraphQL))
	}
	writeJSON(w, http.StatusOK, map[string]any{"errors": errs})
}

// parse parses the document, validates it against the schema when there
// is one, and picks the operation to run.
func (s *Server) parse(req graphQLRequest) (*ast.QueryDocument, *ast.OperationDefinition,
	[]GraphQLError) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: req.Query})
	if err != nil {
		return nil, nil, fromGQLErrors(asList(err))
	}
	if s.opts.Schema != nil {
		if errs := validator.ValidateWithRules(s.opts.Schema, doc, nil); len(errs) > 0 {
			return nil, nil, fromGQLErrors(errs)
		}
	}

	var op *ast.OperationDefinition
	switch {
	case req.OperationName != "":
		op = doc.Operations.ForName(req.OperationName)
		if op == nil {
			return nil, nil, []GraphQLError{{
				Message: fmt.Sprintf("No operation named \"%s\"", req.OperationName),
			}}
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	case len(doc.Operations) == 0:
		return nil, nil, []GraphQLError{{Message: "No operations in query document"}}
	default:
		return nil, nil, []GraphQLError{{
			Message: "An operation name is required when sending multiple operations.",
		}}
	}
	if op.Operation != ast.Query {
		return nil, nil, []GraphQLError{{
			Message:   fmt.Sprintf("githubtest serves queries only, not a %s", op.Operation),
			Locations: locations(op.Position),
		}}
	}

	if s.opts.Schema != nil {
		if _, err := validator.VariableValues(s.opts.Schema, op, req.Variables); err != nil {
			return nil, nil, fromGQLErrors(asList(err))
		}
	}
	return doc, op, nil
}

func asList(err error) gqlerror.List {
	var list gqlerror.List
	if errors.As(err, &list) {
		return list
	}
	var single *gqlerror.Error
	if errors.As(err, &single) {
		return gqlerror.List{single}
	}
	return gqlerror.List{gqlerror.Wrap(err)}
}

var undefinedField = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"`)

// ruleCodes maps gqlparser's validation rules to the codes GitHub's
// validator reports for the same mistakes.
var ruleCodes = map[string]string{
	"FieldsOnCorrectType":        "undefinedField",
	"KnownArgumentNames":         "argumentNotAccepted",
	"KnownTypeNames":             "undefinedType",
	"KnownFragmentNames":         "undefinedFragment",
	"NoUnusedVariables":          "variableNotUsed",
	"NoUndefinedVariables":       "variableNotDefined",
	"NoUnusedFragments":          "useAndDefineFragment",
	"ProvidedRequiredArguments":  "missingRequiredArguments",
	"VariablesInAllowedPosition": "variableMismatch",
	"ValuesOfCorrectType":        "argumentLiteralsIncompatible",
	"ScalarLeafs":                "selectionMismatch",
}

// fromGQLErrors rewrites gqlparser's errors in GitHub's layout. An
// undefined field gets GitHub's own wording.
func fromGQLErrors(list gqlerror.List) []GraphQLError {
	out := make([]GraphQLError, 0, len(list))
	for _, e := range list {
		g := GraphQLError{Message: e.Message}
		for _, l := range e.Locations {
			g.Locations = append(g.Locations, Location{Line: l.Line, Column: l.Column})
		}
		if code, ok := ruleCodes[e.Rule]; ok {
			g.Extensions = map[string]any{"code": code}
		}
		if m := undefinedField.FindStringSubmatch(e.Message); m != nil {
			g.Message = fmt.Sprintf("Field '%s' doesn't exist on type '%s'", m[1], m[2])
			g.Extensions = map[string]any{
				"code": "undefinedField", "typeName": m[2], "fieldName": m[1],
			}
		}
		out = append(out, g)
	}
	return out
}

// maxNodes is the most nodes GitHub lets one query request.
const maxNodes = 500_000

// connectionFields are the connection fields the fake serves, for
// recognizing connections without a schema.
var connectionFields = map[string]bool{
	"history": true, "pullRequests": true, "issues": true, "labels": true,
}

// analysis is the result of GitHub's checks before it runs a query:
// page sizes, the cost in points and the node count.
type analysis struct {
	requests int
	nodes    int
	cost     int
	maxPage  int
	fields   map[string]bool
	errs     []GraphQLError
}

// analyze applies GitHub's pagination rules and cost formula. Every
// connection needs first or last, from 0 to 100. Each connection costs
// one request per parent item, which is the product of its ancestors'
// page sizes. The cost in points is the sum of requests divided by 100,
// rounded, and at least 1.
func analyze(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) analysis {
	a := analysis{fields: map[string]bool{}}
	a.walk(doc, op.SelectionSet, vars, 1, nil, map[string]bool{})
	a.cost = max(int(math.Round(float64(a.requests)/100)), 1)
	if a.nodes > maxNodes && len(a.errs) == 0 {
		a.errs = append(a.errs, GraphQLError{
			Type: "MAX_NODE_LIMIT_EXCEEDED",
			Message: fmt.Sprintf("This query requests up to %d possible nodes which exceeds "+
				"the maximum limit of %d.", a.nodes, maxNodes),
		})
	}
	return a
}

func (a *analysis) walk(doc *ast.QueryDocument, set ast.SelectionSet, vars map[string]any,
	multiplier int, path []any, seen map[string]bool) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			a.fields[sel.Name] = true
			fieldPath := appendPath(path, sel.Alias)
			child := multiplier
			if isConnection(sel) {
				size, ok := a.pageSize(sel, vars, fieldPath)
				if !ok {
					continue
				}
				a.requests += multiplier
				a.nodes += multiplier * size
				a.maxPage = max(a.maxPage, size)
				child = multiplier * max(size, 1)
			}
			a.walk(doc, sel.SelectionSet, vars, child, fieldPath, seen)
		case *ast.InlineFragment:
			a.walk(doc, sel.SelectionSet, vars, multiplier, path, seen)
		case *ast.FragmentSpread:
			def := doc.Fragments.ForName(sel.Name)
			if def == nil || seen[sel.Name] {
				continue
			}
			seen[sel.Name] = true
			a.walk(doc, def.SelectionSet, vars, multiplier, path, seen)
			delete(seen, sel.Name)
		}
	}
}

func isConnection(f *ast.Field) bool {
	if f.Definition != nil && f.Definition.Type != nil {
		return strings.HasSuffix(f.Definition.Type.Name(), "Connection")
	}
	return connectionFields[f.Name]
}

// pageSize checks a connection's first and last and returns the page
// size, recording GitHub's error when they break its rules.
func (a *analysis) pageSize(f *ast.Field, vars map[string]any, path []any) (int, bool) {
	fail := func(typ, msg string) (int, bool) {
		a.errs = append(a.errs, GraphQLError{
			Type: typ, Path: path, Locations: locations(f.Position), Message: msg,
		})
		return 0, false
	}
	value := func(name string) (int, bool, bool) {
		arg := f.Arguments.ForName(name)
		if arg == nil {
			return 0, false, true
		}
		v, err := arg.Value.Value(vars)
		if err != nil || v == nil {
			return 0, false, err == nil
		}
		n, ok := toInt(v)
		return n, true, ok
	}

	first, hasFirst, okFirst := value("first")
	last, hasLast, okLast := value("last")
	switch {
	case !okFirst || !okLast:
		return fail("", fmt.Sprintf("Invalid page size on the `%s` connection.", f.Name))
	case !hasFirst && !hasLast:
		return fail("MISSING_PAGINATION_BOUNDARIES", fmt.Sprintf(
			"You must provide a `first` or `last` value to properly paginate the `%s` connection.",
			f.Name))
	case hasFirst && hasLast:
		return fail("", fmt.Sprintf(
			"Passing both `first` and `last` to paginate the `%s` connection is not supported.",
			f.Name))
	}

	name, size := "first", first
	if hasLast {
		name, size = "last", last
	}
	if size < 0 {
		return fail("", fmt.Sprintf("`%s` on the `%s` connection cannot be less than zero.",
			name, f.Name))
	}
	if size > MaxPageSize {
		return fail("EXCESSIVE_PAGE_SIZE", fmt.Sprintf(
			"Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.",
			size, f.Name, name, MaxPageSize))
	}
	return size, true
}

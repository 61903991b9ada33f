package githubtest

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// MaxPageSize is the largest first or last GitHub accepts.
const MaxPageSize = 100

// list is the ordered items a connection pages through.
type list struct {
	typeName string // such as PullRequestConnection
	edgeType string // such as PullRequestEdge
	length   int
	cursor   func(i int) string
	node     func(i int) object

	// after returns the index of the first item after the cursor, and
	// atOrAfter the index of the first item at or after it. Both fail
	// for a cursor that does not belong to this list.
	after     func(cursor string) (int, error)
	atOrAfter func(cursor string) (int, error)
}

// connection pages a list by the field's first, last, after and before
// arguments. An invalid cursor makes the field null with an error.
func (ex *executor) connection(f *ast.Field, path []any, l list) any {
	lo, hi := 0, l.length
	if c, ok := ex.stringArg(f, "after"); ok {
		i, err := l.after(c)
		if err != nil {
			ex.invalidCursor(f, path, c)
			return nil
		}
		lo = i
	}
	if c, ok := ex.stringArg(f, "before"); ok {
		i, err := l.atOrAfter(c)
		if err != nil {
			ex.invalidCursor(f, path, c)
			return nil
		}
		hi = max(i, lo)
	}

	start, end := lo, hi
	if first, ok := ex.intArg(f, "first"); ok {
		end = min(hi, lo+max(first, 0))
	}
	if last, ok := ex.intArg(f, "last"); ok {
		start = max(start, end-max(last, 0))
	}
	return &connectionObject{list: l, start: start, end: end}
}

func (ex *executor) invalidCursor(f *ast.Field, path []any, cursor string) {
	ex.fieldError(f, path, "INVALID_CURSOR_ARGUMENTS",
		fmt.Sprintf("`%s` does not appear to be a valid cursor.", cursor))
}

// connectionObject is one page of a list: items start to end.
type connectionObject struct {
	list       list
	start, end int
}

func (c *connectionObject) typeName() string { return c.list.typeName }

func (c *connectionObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "totalCount":
		return c.list.length
	case "nodes":
		nodes := make([]object, 0, c.end-c.start)
		for i := c.start; i < c.end; i++ {
			nodes = append(nodes, c.list.node(i))
		}
		return nodes
	case "edges":
		edges := make([]object, 0, c.end-c.start)
		for i := c.start; i < c.end; i++ {
			edges = append(edges, &edgeObject{list: c.list, index: i})
		}
		return edges
	case "pageInfo":
		info := &pageInfoObject{
			hasNext:     c.end < c.list.length,
			hasPrevious: c.start > 0,
		}
		if c.end > c.start {
			info.startCursor = c.list.cursor(c.start)
			info.endCursor = c.list.cursor(c.end - 1)
		}
		return info
	}
	return ex.unknownField(c.typeName(), f, path)
}

type edgeObject struct {
	list  list
	index int
}

func (e *edgeObject) typeName() string { return e.list.edgeType }

func (e *edgeObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "cursor":
		return e.list.cursor(e.index)
	case "node":
		return e.list.node(e.index)
	}
	return ex.unknownField(e.typeName(), f, path)
}

type pageInfoObject struct {
	hasNext, hasPrevious   bool
	startCursor, endCursor string
}

func (p *pageInfoObject) typeName() string { return "PageInfo" }

func (p *pageInfoObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "hasNextPage":
		return p.hasNext
	case "hasPreviousPage":
		return p.hasPrevious
	case "startCursor":
		return nullable(p.startCursor)
	case "endCursor":
		return nullable(p.endCursor)
	}
	return ex.unknownField(p.typeName(), f, path)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Cursors are base64 like GitHub's, so clients treat them as opaque.
func encodeCursor(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func decodeCursor(c, prefix string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return "", fmt.Errorf("cursor %q: %w", c, err)
	}
	rest, ok := strings.CutPrefix(string(raw), prefix)
	if !ok {
		return "", fmt.Errorf("cursor %q: not a %s cursor", c, strings.TrimSuffix(prefix, ":"))
	}
	return rest, nil
}

// keyset is a position in an ordering of pull requests or issues: the
// ordering time and the database id that breaks ties. A keyset cursor
// stays valid when items change, so paging on never skips an item
// because another one moved.
type keyset struct {
	at time.Time
	id int64
}

const keysetPrefix = "cursor:v2:"

func (k keyset) cursor() string {
	return encodeCursor(keysetPrefix + strconv.FormatInt(k.at.UnixNano(), 10) + ":" +
		strconv.FormatInt(k.id, 10))
}

func parseKeyset(c string) (keyset, error) {
	rest, err := decodeCursor(c, keysetPrefix)
	if err != nil {
		return keyset{}, err
	}
	at, id, ok := strings.Cut(rest, ":")
	if !ok {
		return keyset{}, fmt.Errorf("cursor %q: no id", c)
	}
	nanos, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return keyset{}, fmt.Errorf("cursor %q: time: %w", c, err)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return keyset{}, fmt.Errorf("cursor %q: id: %w", c, err)
	}
	return keyset{at: time.Unix(0, nanos), id: n}, nil
}

// compare orders keysets ascending by time, then id; desc reverses it.
func (k keyset) compare(o keyset, desc bool) int {
	c := k.at.Compare(o.at)
	if c == 0 {
		switch {
		case k.id < o.id:
			c = -1
		case k.id > o.id:
			c = 1
		}
	}
	if desc {
		return -c
	}
	return c
}

// keysetList builds a list over items sorted by their keys in the order.
func keysetList(typeName, edgeType string, keys []keyset, desc bool,
	node func(i int) object) list {
	search := func(c string, strict bool) (int, error) {
		k, err := parseKeyset(c)
		if err != nil {
			return 0, err
		}
		for i, item := range keys {
			cmp := item.compare(k, desc)
			if cmp > 0 || !strict && cmp == 0 {
				return i, nil
			}
		}
		return len(keys), nil
	}
	return list{
		typeName:  typeName,
		edgeType:  edgeType,
		length:    len(keys),
		cursor:    func(i int) string { return keys[i].cursor() },
		node:      node,
		after:     func(c string) (int, error) { return search(c, true) },
		atOrAfter: func(c string) (int, error) { return search(c, false) },
	}
}

// offsetList builds a list whose cursors are positions, for lists that
// do not change while a client pages them, such as labels.
func offsetList(typeName, edgeType, kind string, n int, node func(i int) object) list {
	prefix := kind + ":"
	position := func(c string) (int, error) {
		rest, err := decodeCursor(c, prefix)
		if err != nil {
			return 0, err
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 {
			return 0, fmt.Errorf("cursor %q: invalid position", c)
		}
		return min(i, n), nil
	}
	return list{
		typeName: typeName,
		edgeType: edgeType,
		length:   n,
		cursor:   func(i int) string { return encodeCursor(prefix + strconv.Itoa(i)) },
		node:     node,
		after: func(c string) (int, error) {
			i, err := position(c)
			return min(i+1, n), err
		},
		atOrAfter: position,
	}
}

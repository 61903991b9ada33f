package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/ghillie/ghillie/ingest"
)

// defaultSchemaPath is GitHub's public schema in the workspace, relative
// to this package's folder.
const defaultSchemaPath = "../../../shared/github/schema.graphql"

// captureTransport records GraphQL requests and responds to each with
// an error, so no request leaves the process.
type captureTransport struct {
	mu       sync.Mutex
	requests []graphQLRequest
}

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var req graphQLRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.requests = append(c.requests, req)
	c.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"data":null,"errors":[{"message":"captured"}]}`)),
		Request:    r,
	}, nil
}

// loadGitHubSchema loads the schema named by GHILLIE_GITHUB_SCHEMA or
// the default path, skipping when it is missing outside CI.
func loadGitHubSchema(t *testing.T) *ast.Schema {
	t.Helper()
	path := os.Getenv("GHILLIE_GITHUB_SCHEMA")
	if path == "" {
		path = defaultSchemaPath
	}
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true" {
		t.Skipf("GitHub schema %s not found; set GHILLIE_GITHUB_SCHEMA", path)
	}
	if err != nil {
		t.Fatalf("read GitHub schema: %v", err)
	}

	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: path, Input: string(text)})
	if err != nil {
		t.Fatalf("parse GitHub schema: %v", err)
	}
	// GitHub's published schema defines two fields of EnterpriseOwnerInfo
	// twice, with the same types and arguments but different descriptions.
	// gqlparser rejects duplicates, so the first definition is used.
	for _, def := range doc.Definitions {
		seen := map[string]bool{}
		unique := def.Fields[:0]
		for _, f := range def.Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				unique = append(unique, f)
			}
		}
		def.Fields = unique
	}
	schema, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		t.Fatalf("validate GitHub schema: %v", err)
	}
	return schema
}

// activityVariants lists queries covering every shape of the document:
// each stream alone and all together, zero, one and three documentation
// paths, with and without cursors, with a branch and with the default.
func activityVariants() map[string]ingest.ActivityQuery {
	since := epoch.Add(-24 * 60 * 60 * 1e9)
	page := func(cursor bool) ingest.Page {
		p := ingest.Page{Since: since, First: 25}
		if cursor {
			p.After = "Y3Vyc29yOjE="
		}
		return p
	}
	docs := func(n int, cursor bool) []ingest.PathPage {
		var out []ingest.PathPage
		for i := range n {
			out = append(out, ingest.PathPage{Path: fmt.Sprintf("docs/file%d.md", i), Page: page(cursor)})
		}
		return out
	}
	variants := map[string]ingest.ActivityQuery{}
	for _, branch := range []string{"", "main"} {
		for _, cursor := range []bool{false, true} {
			for _, n := range []int{0, 1, 3} {
				streams := map[string]func(q *ingest.ActivityQuery){
					"none":    func(*ingest.ActivityQuery) {},
					"commits": func(q *ingest.ActivityQuery) { p := page(cursor); q.Commits = &p },
					"pulls":   func(q *ingest.ActivityQuery) { p := page(cursor); q.PullRequests = &p },
					"issues":  func(q *ingest.ActivityQuery) { p := page(cursor); q.Issues = &p },
					"all": func(q *ingest.ActivityQuery) {
						c, p, i := page(cursor), page(cursor), page(cursor)
						q.Commits, q.PullRequests, q.Issues = &c, &p, &i
					},
				}
				for name, set := range streams {
					q := ingest.ActivityQuery{
						Owner: "octo", Name: "reef", Branch: branch, Docs: docs(n, cursor),
					}
					set(&q)
					key := fmt.Sprintf("branch=%q cursor=%t docs=%d streams=%s", branch, cursor, n, name)
					variants[key] = q
				}
			}
		}
	}
	return variants
}

func TestActivityDocumentsMatchSchema(t *testing.T) {
	schema := loadGitHubSchema(t)
	capture := &captureTransport{}
	client, err := New(Config{Token: testToken, APIURL: "http://127.0.0.1:9"},
		WithTransport(capture), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}

	variants := activityVariants()
	names := make([]string, 0, len(variants))
	for name := range variants {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		q := variants[name]
		if err := q.Validate(); err != nil {
			t.Fatalf("%s: invalid test query: %v", name, err)
		}
		_, _ = client.Activity(context.Background(), q)
	}

	documents := map[string]graphQLRequest{}
	for _, req := range capture.requests {
		documents[req.Query] = req
	}
	t.Logf("%d requests, %d distinct documents", len(capture.requests), len(documents))
	if len(capture.requests) != len(variants) {
		t.Fatalf("captured %d requests, want %d", len(capture.requests), len(variants))
	}
	for text, req := range documents {
		query, errs := gqlparser.LoadQueryWithRules(schema, text, rules.NewDefaultRules())
		if errs != nil {
			t.Errorf("document invalid against GitHub's schema: %v\n%s", errs, text)
			continue
		}
		if len(query.Operations) != 1 {
			t.Errorf("document has %d operations, want 1:\n%s", len(query.Operations), text)
			continue
		}
		if _, err := validator.VariableValues(schema, query.Operations[0], req.Variables); err != nil {
			t.Errorf("variables %v invalid: %v\n%s", req.Variables, err, text)
		}
	}
}

func TestActivityDocumentShape(t *testing.T) {
	capture := &captureTransport{}
	client, err := New(Config{Token: testToken, APIURL: "http://127.0.0.1:9"},
		WithTransport(capture), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	q := allStreams()
	q.Commits.After = "abc"
	_, _ = client.Activity(context.Background(), q)

	is := is.New(t)
	is.Equal(len(capture.requests), 1)
	doc := capture.requests[0].Query
	vars := capture.requests[0].Variables
	is.True(strings.Contains(doc,
		`ref(qualifiedName: $qualifiedName){name,target{... on Commit{oid,`))
	is.True(strings.Contains(doc, "doc0: history(first: $doc0First, after: $doc0After, "+
		"since: $doc0Since, path: $doc0Path)"))
	is.True(strings.Contains(doc, `doc1: history(`))
	is.True(strings.Contains(doc, fmt.Sprintf("labels(first: %d)", ingest.MaxLabels)))
	is.True(strings.Contains(doc, `filterBy: {since: $issuesSince}`))
	is.True(strings.Contains(doc, `rateLimit{cost,remaining,resetAt,limit}`))
	is.True(strings.Contains(doc, `defaultBranchRef{name}`))
	is.True(!strings.Contains(doc, "databaseId,"))
	is.Equal(vars["qualifiedName"], "refs/heads/main")
	is.Equal(vars["commitsAfter"], "abc")
	is.Equal(vars["issuesAfter"], nil)
	is.Equal(vars["doc1Path"], "docs/adr")
	is.Equal(vars["commitsFirst"], float64(100))
	is.Equal(vars["commitsSince"], "2026-02-01T00:00:00Z")
	is.Equal(vars["issuesSince"], "2026-02-01T00:00:00Z")
	_, hasPullSince := vars["pullRequestsSince"]
	is.True(!hasPullSince)
}

func TestActivityDocumentDefaultBranch(t *testing.T) {
	capture := &captureTransport{}
	client, err := New(Config{Token: testToken, APIURL: "http://127.0.0.1:9"},
		WithTransport(capture), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	q := allStreams()
	q.Branch = ""
	q.PullRequests, q.Issues = nil, nil
	_, _ = client.Activity(context.Background(), q)

	is := is.New(t)
	doc := capture.requests[0].Query
	is.True(strings.Contains(doc, `defaultBranchRef{name,target{... on Commit{oid,history(`))
	is.True(!strings.Contains(doc, "ref(qualifiedName"))
	is.True(!strings.Contains(doc, "pullRequests"))
	is.True(!strings.Contains(doc, "issues"))
}

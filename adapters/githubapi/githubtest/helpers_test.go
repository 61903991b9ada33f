package githubtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

// defaultSchemaPath is where GitHub's GraphQL schema sits beside a
// checkout of this repository, seen from this package's folder.
const defaultSchemaPath = "../../../../shared/github/schema.graphql"

var schemaOnce struct {
	sync.Once
	schema *ast.Schema
	err    error
}

// schema returns GitHub's GraphQL schema, from GHILLIE_GITHUB_SCHEMA or
// the default path. Without it the test is skipped, except with CI=true,
// where it fails.
func schema(t *testing.T) *ast.Schema {
	t.Helper()

	path := os.Getenv("GHILLIE_GITHUB_SCHEMA")
	if path == "" {
		path = defaultSchemaPath
	}
	sdl, err := os.ReadFile(path)
	if err != nil {
		msg := "GitHub GraphQL schema not found at " + path +
			": set GHILLIE_GITHUB_SCHEMA (" + err.Error() + ")"
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	schemaOnce.Do(func() {
		schemaOnce.schema, schemaOnce.err = githubtest.LoadSchema(path, string(sdl))
	})
	if schemaOnce.err != nil {
		t.Fatal(schemaOnce.err)
	}
	return schemaOnce.schema
}

// base is the committedDate of the fixture's oldest commit.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture returns a small repository: ten commits a day apart on main
// (c09 newest), five pull requests and three issues.
func fixture() *githubtest.Repository {
	r := &githubtest.Repository{Owner: "acme", Name: "widgets", DefaultBranch: "main"}

	files := [][]githubtest.ChangedFile{
		{{Path: "README.md", ChangeType: "ADDED", Additions: 10}},
		{{Path: "docs/roadmap.md", ChangeType: "ADDED", Additions: 5}},
		{{Path: "src/main.go", ChangeType: "ADDED", Additions: 50}},
		{{Path: "docs/adr/0001-use-go.md", ChangeType: "ADDED", Additions: 20}},
		{{Path: "docs/roadmap.md", ChangeType: "MODIFIED", Additions: 2, Deletions: 1}},
		{{Path: "docs/adr-0002.md", ChangeType: "ADDED", Additions: 8}},
		{{Path: "docs/adr/0003-keyset.md", PreviousPath: "docs/adr/0003-draft.md",
			ChangeType: "RENAMED"}},
		{{Path: "src/main.go", ChangeType: "MODIFIED", Additions: 3, Deletions: 3}},
		{{Path: "docs/roadmap.md", ChangeType: "DELETED", Deletions: 6}},
		{{Path: "docs/roadmap.md", ChangeType: "ADDED", Additions: 7},
			{Path: "src/old.go", ChangeType: "DELETED", Deletions: 4}},
	}
	for i := len(files) - 1; i >= 0; i-- {
		c := githubtest.Commit{
			OID:             oid(i),
			MessageHeadline: fmt.Sprintf("Change %d", i),
			AuthoredDate:    base.Add(time.Duration(i)*24*time.Hour - time.Hour),
			CommittedDate:   base.Add(time.Duration(i) * 24 * time.Hour),
			Author: githubtest.GitActor{
				Name: "Dev One", Email: "dev1@example.invalid", Login: "dev-one",
			},
			Files: files[i],
		}
		if i > 0 {
			c.Parents = []string{oid(i - 1)}
		}
		if i == 7 {
			c.Author = githubtest.GitActor{Name: "dependabot[bot]", Login: "dependabot[bot]",
				Email: "49699333+dependabot[bot]@users.noreply.github.com"}
		}
		r.Commits = append(r.Commits, c)
	}

	for n := 1; n <= 5; n++ {
		at := base.Add(time.Duration(n) * time.Hour)
		r.PullRequests = append(r.PullRequests, githubtest.PullRequest{
			DatabaseID: 3_000_000_000 + int64(n), Number: n, Title: fmt.Sprintf("PR %d", n),
			State: "OPEN", CreatedAt: at, UpdatedAt: at, BaseRefName: "main",
			HeadRefName: fmt.Sprintf("topic-%d", n),
			Author:      &githubtest.Actor{Login: "dev-one", Type: "User"},
		})
	}
	r.PullRequests[0].Author = nil
	r.PullRequests[1].Author = &githubtest.Actor{Login: "dependabot", Type: "Bot"}
	r.PullRequests[1].Labels = []string{"dependencies", "go"}
	r.PullRequests[2].State = "MERGED"
	r.PullRequests[2].MergedAt = base.Add(4 * time.Hour)
	r.PullRequests[2].ClosedAt = base.Add(4 * time.Hour)

	for n := 11; n <= 13; n++ {
		at := base.Add(time.Duration(n) * 24 * time.Hour)
		r.Issues = append(r.Issues, githubtest.Issue{
			DatabaseID: 4_000_000_000 + int64(n), Number: n, Title: fmt.Sprintf("Issue %d", n),
			State: "OPEN", CreatedAt: at, UpdatedAt: at, Labels: []string{"bug"},
			Author: &githubtest.Actor{Login: "dev-one", Type: "User"},
		})
	}
	return r
}

// onWidgets wraps a selection of the fixture repository in a query.
func onWidgets(selection string) string {
	return `{ repository(owner: "acme", name: "widgets") { ` + selection + ` } }`
}

// commitURL is the REST address of fixture commit i.
func commitURL(s *githubtest.Server, i int) string {
	return s.URL + "/repos/acme/widgets/commits/" + oid(i)
}

func oid(i int) string {
	return fmt.Sprintf("c%02d%038d", i, i)
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// send makes a request and decodes a JSON response.
func send(t *testing.T, method, url, token string, body []byte) response {
	t.Helper()

	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if json.Valid(raw) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&a.body); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return a
}

// graphql posts a GraphQL document with DefaultToken.
func graphql(t *testing.T, url, query string, vars map[string]any) response {
	t.Helper()

	return graphqlAs(t, url, githubtest.DefaultToken, query, vars)
}

func graphqlAs(t *testing.T, url, token, query string, vars map[string]any) response {
	t.Helper()

	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return send(t, http.MethodPost, url, token, body)
}

// get follows a path of object keys and array indexes through decoded
// JSON, failing the test when the path does not exist.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()

	for _, p := range path {
		switch key := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %v", key, v)
			}
			v, ok = m[key]
			if !ok {
				t.Fatalf("no key %q in %v", key, m)
			}
		case int:
			list, ok := v.([]any)
			if !ok || key >= len(list) {
				t.Fatalf("at [%d]: not a list that long: %v", key, v)
			}
			v = list[key]
		}
	}
	return v
}

func str(t *testing.T, v any, path ...any) string {
	t.Helper()

	s, ok := get(t, v, path...).(string)
	if !ok {
		t.Fatalf("%v at %v is not a string", get(t, v, path...), path)
	}
	return s
}

func num(t *testing.T, v any, path ...any) int {
	t.Helper()

	n, ok := get(t, v, path...).(json.Number)
	if !ok {
		t.Fatalf("%v at %v is not a number", get(t, v, path...), path)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return int(i)
}

func list(t *testing.T, v any, path ...any) []any {
	t.Helper()

	l, ok := get(t, v, path...).([]any)
	if !ok {
		t.Fatalf("%v at %v is not a list", get(t, v, path...), path)
	}
	return l
}

// firstError returns the response's first GraphQL error.
func firstError(t *testing.T, a response) map[string]any {
	t.Helper()

	errs := list(t, a.body, "errors")
	if len(errs) == 0 {
		t.Fatalf("no errors in %s", a.raw)
	}
	return errs[0].(map[string]any)
}

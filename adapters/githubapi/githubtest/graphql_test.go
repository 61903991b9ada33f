package githubtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

const historyQuery = `query($first: Int!, $after: String, $since: GitTimestamp, $path: String) {
  repository(owner: "acme", name: "widgets") {
    ref(qualifiedName: "refs/heads/main") {
      target {
        ... on Commit {
          history(first: $first, after: $after, since: $since, path: $path) {
            totalCount
            edges { cursor node { oid committedDate } }
            pageInfo { hasNextPage endCursor }
          }
        }
      }
    }
  }
}`

// pageHistory pages through a history with the query and returns the
// oids in order and the number of requests.
func pageHistory(t *testing.T, url string, vars map[string]any) ([]string, int) {
	t.Helper()

	var oids []string
	requests := 0
	for {
		a := graphql(t, url, historyQuery, vars)
		requests++
		if a.status != http.StatusOK || a.body["errors"] != nil {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		h := get(t, a.body, "data", "repository", "ref", "target", "history")
		for _, e := range list(t, h, "edges") {
			oids = append(oids, str(t, e, "node", "oid"))
		}
		if get(t, h, "pageInfo", "hasNextPage") != true {
			return oids, requests
		}
		vars["after"] = str(t, h, "pageInfo", "endCursor")
	}
}

func TestHistoryPagination(t *testing.T) {
	tests := []struct {
		name  string
		first int
		since string
		path  string
		want  []int // fixture commit numbers, newest first
	}{
		{"all", 3, "", "", []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"one page", 100, "", "", []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"since inclusive", 2, base.Add(6 * 24 * time.Hour).Format(time.RFC3339), "",
			[]int{9, 8, 7, 6}},
		{"since with offset", 2, base.Add(6 * 24 * time.Hour).In(time.FixedZone("", 3600)).
			Format(time.RFC3339), "", []int{9, 8, 7, 6}},
		{"file", 1, "", "docs/roadmap.md", []int{9, 8, 4, 1}},
		{"directory", 2, "", "docs/adr", []int{6, 3}},
		{"directory slash", 2, "", "docs/adr/", []int{6, 3}},
		{"renamed from", 2, "", "docs/adr/0003-draft.md", []int{6}},
		{"no glob", 2, "", "docs/adr-*.md", nil},
		{"since and path", 1, base.Add(5 * 24 * time.Hour).Format(time.RFC3339),
			"docs/roadmap.md", []int{9, 8}},
		{"nothing", 5, base.Add(100 * 24 * time.Hour).Format(time.RFC3339), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())
			vars := map[string]any{"first": tt.first}
			if tt.since != "" {
				vars["since"] = tt.since
			}
			if tt.path != "" {
				vars["path"] = tt.path
			}

			oids, requests := pageHistory(t, s.GraphQLURL(), vars)

			var want []string
			for _, i := range tt.want {
				want = append(want, oid(i))
			}
			is.Equal(oids, want)
			is.Equal(requests, max(1, (len(want)+tt.first-1)/tt.first))
		})
	}
}

func TestHistoryPageInfo(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), historyQuery, map[string]any{"first": 4})

	h := get(t, a.body, "data", "repository", "ref", "target", "history")
	is.Equal(num(t, h, "totalCount"), 10)
	edges := list(t, h, "edges")
	is.Equal(len(edges), 4)
	is.Equal(str(t, h, "pageInfo", "endCursor"), str(t, edges[3], "cursor"))
	is.Equal(get(t, h, "pageInfo", "hasNextPage"), true)
	is.Equal(str(t, edges[0], "node", "committedDate"), "2026-03-10T12:00:00Z")
}

// TestCursorsSurviveUpdates pages pull requests newest updated first
// while pull requests change between pages.
func TestCursorsSurviveUpdates(t *testing.T) {
	const query = `query($after: String) {
	  repository(owner: "acme", name: "widgets") {
	    pullRequests(first: 2, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
	      nodes { number updatedAt }
	      pageInfo { hasNextPage endCursor }
	    }
	  }
	}`
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	var seen []int
	vars := map[string]any{}
	for page := 0; ; page++ {
		a := graphql(t, s.GraphQLURL(), query, vars)
		conn := get(t, a.body, "data", "repository", "pullRequests")
		for _, n := range list(t, conn, "nodes") {
			seen = append(seen, num(t, n, "number"))
		}
		if page == 0 {
			// Page one held 5 and 4. Moving 4 and 1 to the top must not
			// make the next page skip 3 or 2.
			err := s.Update("ACME", "Widgets", func(r *githubtest.Repository) {
				r.PullRequest(4).UpdatedAt = base.Add(48 * time.Hour)
				r.PullRequest(1).UpdatedAt = base.Add(49 * time.Hour)
			})
			is.NoErr(err)
		}
		if get(t, conn, "pageInfo", "hasNextPage") != true {
			break
		}
		vars["after"] = str(t, conn, "pageInfo", "endCursor")
	}

	// 1 moved ahead of the cursor, so this pass misses it as GitHub's
	// would; a later pass from the top finds it.
	is.Equal(seen, []int{5, 4, 3, 2})
}

func TestPullRequestOrdering(t *testing.T) {
	tests := []struct {
		name    string
		orderBy string
		args    string
		want    []int
	}{
		{"default created ascending", "", "", []int{1, 2, 3, 4, 5}},
		{"created descending", "{field: CREATED_AT, direction: DESC}", "", []int{5, 4, 3, 2, 1}},
		{"updated ascending", "{field: UPDATED_AT, direction: ASC}", "", []int{1, 2, 3, 4, 5}},
		{"merged only", "", "states: [MERGED]", []int{3}},
		{"open only", "", "states: OPEN", []int{1, 2, 4, 5}},
		{"head branch", "", `headRefName: "topic-2"`, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())
			args := "first: 10"
			if tt.orderBy != "" {
				args += ", orderBy: " + tt.orderBy
			}
			if tt.args != "" {
				args += ", " + tt.args
			}

			a := graphql(t, s.GraphQLURL(), `{ repository(owner: "acme", name: "widgets") {
			  pullRequests(`+args+`) { totalCount nodes { number } } } }`, nil)

			var got []int
			for _, n := range list(t, a.body, "data", "repository", "pullRequests", "nodes") {
				got = append(got, num(t, n, "number"))
			}
			is.Equal(got, tt.want)
			is.Equal(num(t, a.body, "data", "repository", "pullRequests", "totalCount"),
				len(tt.want))
		})
	}
}

func TestLastPage(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `{ repository(owner: "acme", name: "widgets") {
	  pullRequests(last: 2) { nodes { number } pageInfo { hasPreviousPage hasNextPage } } } }`,
		nil)

	conn := get(t, a.body, "data", "repository", "pullRequests")
	is.Equal(num(t, conn, "nodes", 0, "number"), 4)
	is.Equal(num(t, conn, "nodes", 1, "number"), 5)
	is.Equal(get(t, conn, "pageInfo", "hasPreviousPage"), true)
	is.Equal(get(t, conn, "pageInfo", "hasNextPage"), false)
}

func TestIssuesSince(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `query($since: DateTime) {
	  repository(owner: "acme", name: "widgets") {
	    issues(first: 10, orderBy: {field: UPDATED_AT, direction: DESC},
	      filterBy: {since: $since}) {
	      totalCount
	      edges { cursor node {
	        number createdAt updatedAt closedAt state labels(first: 5) { nodes { name } }
	      } }
	    }
	  }
	}`, map[string]any{"since": base.Add(12 * 24 * time.Hour).Format(time.RFC3339)})

	edges := list(t, a.body, "data", "repository", "issues", "edges")
	is.Equal(len(edges), 2)
	is.Equal(num(t, edges[0], "node", "number"), 13)
	is.Equal(num(t, edges[1], "node", "number"), 12)
	is.Equal(get(t, edges[0], "node", "closedAt"), nil)
	is.Equal(str(t, edges[0], "node", "labels", "nodes", 0, "name"), "bug")
}

// TestPullRequestFields checks ids, authors and labels, with named and
// inline fragments.
func TestPullRequestFields(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `query {
	  repo: repository(owner: "acme", name: "widgets") {
	    __typename
	    nameWithOwner
	    owner { login }
	    defaultBranchRef { name target { __typename oid } }
	    pullRequests(first: 3) { nodes { ...pr } }
	  }
	}
	fragment pr on PullRequest {
	  __typename fullDatabaseId number title state isDraft createdAt mergedAt
	  baseRefName headRefName url
	  author { __typename login ... on Bot { id } }
	  labels(first: 50) { totalCount nodes { name } }
	}`, nil)

	is.Equal(a.body["errors"], nil)
	repo := get(t, a.body, "data", "repo")
	is.Equal(str(t, repo, "__typename"), "Repository")
	is.Equal(str(t, repo, "nameWithOwner"), "acme/widgets")
	is.Equal(str(t, repo, "owner", "login"), "acme")
	is.Equal(str(t, repo, "defaultBranchRef", "name"), "main")
	is.Equal(str(t, repo, "defaultBranchRef", "target", "__typename"), "Commit")
	is.Equal(str(t, repo, "defaultBranchRef", "target", "oid"), oid(9))

	prs := list(t, repo, "pullRequests", "nodes")
	is.Equal(get(t, prs[0], "author"), nil) // deleted account
	is.Equal(str(t, prs[0], "fullDatabaseId"), "3000000001")
	is.Equal(str(t, prs[1], "author", "__typename"), "Bot")
	is.Equal(str(t, prs[1], "author", "login"), "dependabot")
	is.True(get(t, prs[1], "author", "id") != nil)
	is.Equal(num(t, prs[1], "labels", "totalCount"), 2)
	is.Equal(str(t, prs[1], "labels", "nodes", 1, "name"), "go")
	is.Equal(str(t, prs[2], "state"), "MERGED")
	is.Equal(str(t, prs[2], "mergedAt"), "2026-03-01T16:00:00Z")
	is.Equal(str(t, prs[2], "url"), "https://github.com/acme/widgets/pull/3")
	is.Equal(str(t, prs[2], "author", "__typename"), "User")
	_, hasID := prs[2].(map[string]any)["author"].(map[string]any)["id"]
	is.True(!hasID) // the Bot fragment does not apply to a User
}

func TestDatabaseIDOverflows(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `{ repository(owner: "acme", name: "widgets") {
	  pullRequests(first: 1) { nodes { number databaseId } } } }`, nil)

	is.Equal(get(t, a.body, "data", "repository", "pullRequests", "nodes", 0, "databaseId"), nil)
	e := firstError(t, a)
	is.True(strings.Contains(e["message"].(string), "3000000001"))
}

func TestCommitFieldsAndBots(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `{ repository(owner: "acme", name: "widgets") {
	  ref(qualifiedName: "main") { name target { ... on Commit {
	    history(first: 3) { nodes {
	      oid message messageHeadline authoredDate changedFilesIfAvailable
	      author { name email user { login } }
	    } }
	  } } } } }`, nil)

	nodes := list(t, a.body, "data", "repository", "ref", "target", "history", "nodes")
	is.Equal(str(t, nodes[0], "message"), "Change 9")
	is.Equal(num(t, nodes[0], "changedFilesIfAvailable"), 2)
	is.Equal(str(t, nodes[0], "authoredDate"), "2026-03-10T11:00:00Z")
	is.Equal(str(t, nodes[0], "author", "user", "login"), "dev-one")
	is.Equal(str(t, nodes[2], "author", "name"), "dependabot[bot]")
	is.Equal(get(t, nodes[2], "author", "user"), nil) // GitActor.user is a User, never a Bot
}

func TestUnknownRepositoryAndBranch(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `{
	  missing: repository(owner: "acme", name: "gadgets") { name }
	  found: repository(owner: "Acme", name: "WIDGETS") {
	    name
	    ref(qualifiedName: "refs/heads/nope") { name }
	  }
	}`, nil)

	is.Equal(a.status, http.StatusOK)
	is.Equal(get(t, a.body, "data", "missing"), nil)
	is.Equal(str(t, a.body, "data", "found", "name"), "widgets")
	is.Equal(get(t, a.body, "data", "found", "ref"), nil)
	e := firstError(t, a)
	is.Equal(e["type"], "NOT_FOUND")
	is.Equal(e["path"], []any{"missing"})
	is.Equal(e["message"], "Could not resolve to a Repository with the name 'acme/gadgets'.")
	is.Equal(len(list(t, a.body, "errors")), 1)
}

// TestRequestErrors checks the errors GitHub returns with HTTP 200 and
// no data.
func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		typ     string
		message string
	}{
		{"missing first",
			onWidgets(`pullRequests { totalCount }`),
			"MISSING_PAGINATION_BOUNDARIES",
			"You must provide a `first` or `last` value to properly paginate the " +
				"`pullRequests` connection."},
		{"first over 100",
			onWidgets(`pullRequests(first: 101) { totalCount }`),
			"EXCESSIVE_PAGE_SIZE",
			"Requesting 101 records on the `pullRequests` connection exceeds the `first` " +
				"limit of 100 records."},
		{"last over 100",
			onWidgets(`issues(last: 200) { totalCount }`),
			"EXCESSIVE_PAGE_SIZE",
			"Requesting 200 records on the `issues` connection exceeds the `last` " +
				"limit of 100 records."},
		{"nested missing first",
			`{ repository(owner: "acme", name: "widgets") { pullRequests(first: 5) {
			  nodes { labels { totalCount } } } } }`,
			"MISSING_PAGINATION_BOUNDARIES",
			"You must provide a `first` or `last` value to properly paginate the " +
				"`labels` connection."},
		{"too many nodes", onWidgets(`ref(qualifiedName: "main") { target { ... on Commit {
			  history(first: 100) { nodes { history(first: 100) { nodes {
			    history(first: 100) { totalCount } } } } } } } }`),
			"MAX_NODE_LIMIT_EXCEEDED",
			"This query requests up to 1010100 possible nodes which exceeds the maximum " +
				"limit of 500000."},
		{"undefined field", onWidgets(`nope`),
			"", "Field 'nope' doesn't exist on type 'Repository'"},
		{"parse error", `{ repository(owner: "acme" `, "", ""},
		{"empty", ``, "", "A query attribute must be specified and must be a string."},
		{"mutation", `mutation { addStar(input: {}) { clientMutationId } }`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())

			a := graphql(t, s.GraphQLURL(), tt.query, nil)

			is.Equal(a.status, http.StatusOK)
			_, hasData := a.body["data"]
			is.True(!hasData)
			e := firstError(t, a)
			if tt.typ != "" {
				is.Equal(e["type"], tt.typ)
			}
			if tt.message != "" {
				is.Equal(e["message"], tt.message)
			}
			is.True(len(s.ValidationErrors()) > 0)
			is.Equal(s.GraphQLRateLimit().Used, 0) // rejected documents cost nothing
		})
	}
}

func TestInvalidCursor(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	for _, cursor := range []string{"bm9wZQ==", "!!", "Y3Vyc29yOnYyOjE6"} {
		a := graphql(t, s.GraphQLURL(), `query($after: String) {
		  repository(owner: "acme", name: "widgets") {
		    name
		    pullRequests(first: 2, after: $after) { totalCount }
		  }
		}`, map[string]any{"after": cursor})

		is.Equal(a.status, http.StatusOK)
		is.Equal(str(t, a.body, "data", "repository", "name"), "widgets")
		is.Equal(get(t, a.body, "data", "repository", "pullRequests"), nil)
		e := firstError(t, a)
		is.Equal(e["type"], "INVALID_CURSOR_ARGUMENTS")
		is.Equal(e["path"], []any{"repository", "pullRequests"})
		is.Equal(e["message"], fmt.Sprintf("`%s` does not appear to be a valid cursor.", cursor))
	}
}

// TestAliasedHistories requests several path histories under one ref in
// one document, as ingestion does for documentation paths.
func TestAliasedHistories(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.GraphQLURL(), `query($since: GitTimestamp!) {
	  repository(owner: "acme", name: "widgets") {
	    ref(qualifiedName: "main") {
	      target {
	        ... on Commit {
	          commits: history(first: 100, since: $since) { totalCount }
	          doc0: history(first: 2, since: $since, path: "docs/roadmap.md") {
	            nodes { oid } pageInfo { hasNextPage endCursor }
	          }
	          doc1: history(first: 2, since: $since, path: "docs/adr/") {
	            nodes { oid } pageInfo { hasNextPage }
	          }
	        }
	      }
	    }
	  }
	  rateLimit { cost nodeCount }
	}`, map[string]any{"since": base.Format(time.RFC3339)})

	is.Equal(a.body["errors"], nil)
	target := get(t, a.body, "data", "repository", "ref", "target")
	is.Equal(num(t, target, "commits", "totalCount"), 10)
	is.Equal(str(t, target, "doc0", "nodes", 0, "oid"), oid(9))
	is.Equal(str(t, target, "doc0", "nodes", 1, "oid"), oid(8))
	is.Equal(get(t, target, "doc0", "pageInfo", "hasNextPage"), true)
	is.Equal(len(list(t, target, "doc1", "nodes")), 2)
	is.Equal(get(t, target, "doc1", "pageInfo", "hasNextPage"), false)
	is.Equal(num(t, a.body, "data", "rateLimit", "cost"), 1)
	is.Equal(num(t, a.body, "data", "rateLimit", "nodeCount"), 104)

	raw := string(a.raw)
	is.True(strings.Index(raw, `"commits"`) < strings.Index(raw, `"doc0"`)) // keys keep query order
	is.True(strings.Index(raw, `"doc0"`) < strings.Index(raw, `"doc1"`))
}

// TestCost checks GitHub's formula: one request per connection per
// parent item, summed, divided by 100 and rounded, at least 1.
func TestCost(t *testing.T) {
	tests := []struct {
		name  string
		query string
		cost  int
		nodes int
	}{
		{"rate limit only", `{ rateLimit { cost } }`, 1, 0},
		{"one connection",
			onWidgets(`pullRequests(first: 100) { totalCount }`),
			1, 100},
		{"labels under pull requests",
			`{ repository(owner: "acme", name: "widgets") {
			  pullRequests(first: 100) { nodes { labels(first: 50) { totalCount } } }
			  issues(first: 100) { nodes { labels(first: 50) { totalCount } } } } }`,
			2, 10200},
		{"rounds half up",
			`{ repository(owner: "acme", name: "widgets") {
			  pullRequests(first: 100) { nodes { labels(first: 1) { totalCount } } }
			  issues(first: 48) { nodes { labels(first: 1) { totalCount } } } } }`,
			2, 296},
		{"rounds down",
			`{ repository(owner: "acme", name: "widgets") {
			  pullRequests(first: 100) { nodes { labels(first: 1) { totalCount } } }
			  issues(first: 47) { nodes { labels(first: 1) { totalCount } } } } }`,
			1, 294},
		{"fragments count",
			`query { repository(owner: "acme", name: "widgets") { ...f } }
			fragment f on Repository {
			  a: pullRequests(first: 100) { nodes { labels(first: 100) { totalCount } } }
			  b: pullRequests(first: 100) { nodes { labels(first: 100) { totalCount } } } }`,
			2, 20200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())
			const rateLimit = "rateLimit { cost nodeCount remaining used limit resetAt }"
			query := strings.Replace(tt.query, "{", "{ "+rateLimit+" ", 1)
			if strings.HasPrefix(tt.query, "{ rateLimit") {
				query = "{ " + rateLimit + " }"
			}

			a := graphql(t, s.GraphQLURL(), query, nil)

			is.Equal(a.body["errors"], nil)
			rl := get(t, a.body, "data", "rateLimit")
			is.Equal(num(t, rl, "cost"), tt.cost)
			is.Equal(num(t, rl, "nodeCount"), tt.nodes)
			is.Equal(num(t, rl, "limit"), 5000)
			is.Equal(num(t, rl, "used"), tt.cost)
			is.Equal(num(t, rl, "remaining"), 5000-tt.cost)
			is.Equal(a.header.Get("X-Ratelimit-Remaining"), strconv.Itoa(5000-tt.cost))
			is.Equal(a.header.Get("X-Ratelimit-Used"), strconv.Itoa(tt.cost))
			is.Equal(s.Requests()[0].Cost, tt.cost)
			reset, err := time.Parse(time.RFC3339, str(t, rl, "resetAt"))
			is.NoErr(err)
			is.Equal(a.header.Get("X-Ratelimit-Reset"), strconv.FormatInt(reset.Unix(), 10))
		})
	}
}

func TestGraphQLRateLimit(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{GraphQLLimit: 2, ResetInterval: time.Second})
	query := `{ rateLimit { remaining } }`

	for want := 1; want >= 0; want-- {
		a := graphql(t, s.GraphQLURL(), query, nil)
		is.Equal(num(t, a.body, "data", "rateLimit", "remaining"), want)
		is.Equal(a.header.Get("X-Ratelimit-Resource"), "graphql")
		is.Equal(a.header.Get("X-Ratelimit-Limit"), "2")
	}

	a := graphql(t, s.GraphQLURL(), query, nil)
	is.Equal(a.status, http.StatusOK)
	is.Equal(string(a.raw), `{"data":null,"errors":[{"type":"RATE_LIMITED",`+
		`"message":"API rate limit already exceeded for user ID 1."}]}`)
	is.Equal(a.header.Get("X-Ratelimit-Remaining"), "0")
	reset, err := strconv.ParseInt(a.header.Get("X-Ratelimit-Reset"), 10, 64)
	is.NoErr(err)

	time.Sleep(time.Until(time.Unix(reset, 0)))
	a = graphql(t, s.GraphQLURL(), query, nil)
	is.Equal(num(t, a.body, "data", "rateLimit", "remaining"), 1) // refilled at the reset
}

func TestRateLimitsOff(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{RateLimitsOff: true}, fixture())

	a := graphql(t, s.GraphQLURL(),
		`{ rateLimit { cost } repository(owner: "acme", name: "widgets") { name } }`, nil)

	is.Equal(get(t, a.body, "data", "rateLimit"), nil)
	is.Equal(str(t, a.body, "data", "repository", "name"), "widgets")
	for name := range a.header {
		is.True(!strings.HasPrefix(strings.ToLower(name), "x-ratelimit"))
	}

	r := send(t, http.MethodGet, commitURL(s, 1), githubtest.DefaultToken, nil)
	is.Equal(r.status, http.StatusOK)
	is.Equal(r.header.Get("X-Ratelimit-Remaining"), "")
}

func TestNullRateLimit(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{NullRateLimit: true})

	a := graphql(t, s.GraphQLURL(), `{ rateLimit { cost } }`, nil)

	is.Equal(get(t, a.body, "data", "rateLimit"), nil)
	is.Equal(a.header.Get("X-Ratelimit-Remaining"), "4999")
}

func TestEnterpriseLayout(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := graphql(t, s.URL+"/api/graphql", onWidgets(`name`), nil)
	is.Equal(str(t, a.body, "data", "repository", "name"), "widgets")

	r := send(t, http.MethodGet, s.EnterpriseURL()+"/repos/acme/widgets/commits/"+oid(2),
		githubtest.DefaultToken, nil)
	is.Equal(r.status, http.StatusOK)
	is.Equal(str(t, r.body, "files", 0, "filename"), "src/main.go")
}

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"bearer", "Bearer " + githubtest.DefaultToken, http.StatusOK},
		{"token scheme", "token " + githubtest.DefaultToken, http.StatusOK},
		{"added token", "Bearer extra", http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"unknown", "Bearer ghp_nope", http.StatusUnauthorized},
		{"basic", "Basic " + githubtest.DefaultToken, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())
			s.AddToken("extra")
			body, _ := json.Marshal(map[string]string{"query": `{ rateLimit { cost } }`})

			for _, url := range []string{s.GraphQLURL(), commitURL(s, 0)} {
				method := http.MethodPost
				if !strings.HasSuffix(url, "graphql") {
					method = http.MethodGet
				}
				req, err := http.NewRequest(method, url, strings.NewReader(string(body)))
				is.NoErr(err)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				resp, err := http.DefaultClient.Do(req)
				is.NoErr(err)
				var got map[string]any
				is.NoErr(json.NewDecoder(resp.Body).Decode(&got))
				resp.Body.Close()

				is.Equal(resp.StatusCode, tt.status)
				if tt.status == http.StatusUnauthorized {
					is.True(resp.Header.Get("X-Ratelimit-Resource") != "")
					is.Equal(got["message"], "Bad credentials")
					is.Equal(got["documentation_url"], "https://docs.github.com/rest")
				}
			}
		})
	}
}

func TestExpiredTokenAndCounts(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{Tokens: []string{"a", "b"}}, fixture())
	query := `{ rateLimit { cost } }`

	is.Equal(graphqlAs(t, s.GraphQLURL(), "a", query, nil).status, http.StatusOK)
	is.Equal(graphqlAs(t, s.GraphQLURL(), "a", query, nil).status, http.StatusOK)
	s.ExpireToken("a")
	is.Equal(graphqlAs(t, s.GraphQLURL(), "a", query, nil).status, http.StatusUnauthorized)
	is.Equal(graphqlAs(t, s.GraphQLURL(), "b", query, nil).status, http.StatusOK)
	is.Equal(graphqlAs(t, s.GraphQLURL(), githubtest.DefaultToken, query, nil).status,
		http.StatusUnauthorized) // explicit tokens replace the default

	is.Equal(s.TokenRequests("a"), 3)
	is.Equal(s.TokenRequests("b"), 1)
}

func TestRequestLog(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	query := `query($n: Int!) { repository(owner: "acme", name: "widgets") {
	  pullRequests(first: $n) { totalCount } } }`

	graphql(t, s.GraphQLURL(), query, map[string]any{"n": 5})
	send(t, http.MethodGet, commitURL(s, 3), githubtest.DefaultToken, nil)
	send(t, http.MethodGet, commitURL(s, 3), "", nil)

	log := s.Requests()
	is.Equal(len(log), 3)
	is.Equal(log[0].Method, http.MethodPost)
	is.Equal(log[0].Path, "/graphql")
	is.Equal(log[0].Token, githubtest.DefaultToken)
	is.Equal(log[0].Query, query)
	is.Equal(log[0].Variables["n"], json.Number("5"))
	is.Equal(log[0].Cost, 1)
	is.Equal(log[0].Status, http.StatusOK)
	is.Equal(log[1].Path, "/repos/acme/widgets/commits/"+oid(3))
	is.Equal(log[1].Cost, 1)
	is.Equal(log[2].Status, http.StatusUnauthorized)
	is.Equal(log[2].Cost, 0)

	totals := s.Totals()
	is.Equal(totals.Requests, 3)
	is.Equal(totals.GraphQL, 1)
	is.Equal(totals.REST, 2)
	is.Equal(totals.Points, 1)
	is.Equal(totals.ByStatus[http.StatusOK], 2)
	is.Equal(totals.ByStatus[http.StatusUnauthorized], 1)
}

// TestSchemaValidation runs against GitHub's published schema.
func TestSchemaValidation(t *testing.T) {
	sch := schema(t)

	t.Run("bad field", func(t *testing.T) {
		is := is.New(t)
		s := githubtest.NewServer(t, githubtest.Options{Schema: sch}, fixture())

		a := graphql(t, s.GraphQLURL(), onWidgets(`nope`), nil)

		is.Equal(a.status, http.StatusOK)
		_, hasData := a.body["data"]
		is.True(!hasData)
		e := firstError(t, a)
		is.Equal(e["message"], "Field 'nope' doesn't exist on type 'Repository'")
		is.Equal(get(t, e, "extensions", "code"), "undefinedField")
		is.Equal(num(t, e, "locations", 0, "line"), 1)
		is.Equal(num(t, e, "locations", 0, "column"), 48)
		is.Equal(len(s.ValidationErrors()), 1)
	})

	t.Run("bad variable", func(t *testing.T) {
		is := is.New(t)
		s := githubtest.NewServer(t, githubtest.Options{Schema: sch}, fixture())

		a := graphql(t, s.GraphQLURL(), historyQuery, map[string]any{"first": "ten"})

		is.Equal(a.status, http.StatusOK)
		is.True(a.body["data"] == nil)
		is.Equal(len(s.ValidationErrors()), 1)
	})

	t.Run("ingestion query", func(t *testing.T) {
		is := is.New(t)
		s := githubtest.NewServer(t, githubtest.Options{Schema: sch}, fixture())

		a := graphql(t, s.GraphQLURL(), ingestionQuery, map[string]any{
			"owner": "acme", "name": "widgets", "since": base.Format(time.RFC3339),
		})

		is.Equal(a.body["errors"], nil)
		is.Equal(len(s.ValidationErrors()), 0)
		is.Equal(len(s.Unsupported()), 0)
		target := get(t, a.body, "data", "repository", "ref", "target")
		is.Equal(len(list(t, target, "commits", "edges")), 10)
		is.Equal(len(list(t, target, "doc0", "edges")), 4)
		is.Equal(len(list(t, a.body, "data", "repository", "pullRequests", "edges")), 5)
		is.Equal(len(list(t, a.body, "data", "repository", "issues", "edges")), 3)
	})

	t.Run("unsupported field", func(t *testing.T) {
		is := is.New(t)
		s := githubtest.NewServer(t, githubtest.Options{Schema: sch}, fixture())

		a := graphql(t, s.GraphQLURL(), onWidgets(`stargazerCount`), nil)

		is.True(a.body["data"] == nil)
		is.Equal(len(s.ValidationErrors()), 0)
		is.Equal(len(s.Unsupported()), 1)
	})
}

// ingestionQuery is the shape of query ingestion sends: every stream
// of a repository in one document.
const ingestionQuery = `query Activity($owner: String!, $name: String!, $since: GitTimestamp!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name }
    ref(qualifiedName: "refs/heads/main") {
      target {
        ... on Commit {
          commits: history(first: 100, since: $since) { ...commits }
          doc0: history(first: 100, since: $since, path: "docs/roadmap.md") { ...commits }
        }
      }
    }
    pullRequests(first: 100, orderBy: {field: UPDATED_AT, direction: DESC}) {
      edges { cursor node {
        fullDatabaseId number title state isDraft createdAt updatedAt mergedAt closedAt
        baseRefName headRefName author { __typename login } labels(first: 50) { nodes { name } }
      } }
      pageInfo { hasNextPage endCursor }
    }
    issues(first: 100, orderBy: {field: UPDATED_AT, direction: DESC},
      filterBy: {since: "2026-01-01T00:00:00Z"}) {
      edges { cursor node {
        fullDatabaseId number title state createdAt updatedAt closedAt
        author { __typename login } labels(first: 50) { nodes { name } }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
  rateLimit { cost limit remaining resetAt used nodeCount }
}
fragment commits on CommitHistoryConnection {
  edges { cursor node {
    oid message authoredDate committedDate author { name email user { login } }
  } }
  pageInfo { hasNextPage endCursor }
}`

package githubtest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

const smallQuery = `{ repository(owner: "acme", name: "widgets") {
  name
  pullRequests(first: 5) { totalCount }
  issues(first: 5) { totalCount }
} }`

const largeQuery = `{ repository(owner: "acme", name: "widgets") {
  name
  pullRequests(first: 100) { totalCount }
} }`

// TestFaults sends a run of requests to a server with one fault and
// checks the status of each.
func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    githubtest.Fault
		requests []string // "graphql", "large" (GraphQL with 100 a page) or "rest"
		want     []int
		fired    int
	}{
		{"secondary once", githubtest.Fault{Kind: githubtest.SecondaryLimit},
			[]string{"graphql", "graphql"}, []int{403, 200}, 1},
		{"secondary 429 twice", githubtest.Fault{Kind: githubtest.SecondaryLimit429, Times: 2},
			[]string{"rest", "graphql", "rest"}, []int{429, 429, 200}, 2},
		{"bad gateway from third", githubtest.Fault{Kind: githubtest.BadGateway, Skip: 2},
			[]string{"graphql", "graphql", "graphql", "graphql"}, []int{200, 200, 502, 200}, 1},
		{"rest only", githubtest.Fault{Kind: githubtest.BadGateway, API: githubtest.RESTAPI},
			[]string{"graphql", "rest", "rest"}, []int{200, 502, 200}, 1},
		{"graphql only", githubtest.Fault{Kind: githubtest.BadGateway, API: githubtest.GraphQLAPI},
			[]string{"rest", "graphql"}, []int{200, 502}, 1},
		{"every request", githubtest.Fault{Kind: githubtest.BadGateway, Times: -1},
			[]string{"rest", "graphql", "large"}, []int{502, 502, 502}, 3},
		{"large pages only",
			githubtest.Fault{Kind: githubtest.BadGateway, PageSizeOver: 50, Times: -1},
			[]string{"large", "graphql", "large"}, []int{502, 200, 502}, 2},
		{"rate limited rest", githubtest.Fault{Kind: githubtest.RateLimited},
			[]string{"rest", "rest"}, []int{403, 200}, 1},
		{"expired token", githubtest.Fault{Kind: githubtest.ExpiredToken, Skip: 1},
			[]string{"graphql", "rest", "graphql"}, []int{200, 401, 401}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())
			f := s.Inject(tt.fault)

			for i, kind := range tt.requests {
				var a response
				switch kind {
				case "rest":
					a = send(t, http.MethodGet, commitURL(s, 1),
						githubtest.DefaultToken, nil)
				case "large":
					a = graphql(t, s.GraphQLURL(), largeQuery, nil)
				default:
					a = graphql(t, s.GraphQLURL(), smallQuery, nil)
				}
				is.Equal(a.status, tt.want[i]) // status of request i
			}
			is.Equal(s.Fired(f), tt.fired)
		})
	}
}

func TestSecondaryLimitAnswer(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	s.Inject(githubtest.Fault{Kind: githubtest.SecondaryLimit, RetryAfter: 1500 * time.Millisecond})
	s.Inject(githubtest.Fault{Kind: githubtest.SecondaryLimit})

	a := graphql(t, s.GraphQLURL(), smallQuery, nil)
	is.Equal(a.status, http.StatusForbidden)
	is.Equal(a.header.Get("Retry-After"), "2")
	message := a.body["message"].(string)
	is.True(strings.HasPrefix(message, "You have exceeded a secondary rate limit"))
	is.Equal(a.header.Get("X-Ratelimit-Resource"), "graphql")

	a = graphql(t, s.GraphQLURL(), smallQuery, nil)
	is.Equal(a.status, http.StatusForbidden)
	is.Equal(a.header.Get("Retry-After"), "")

	is.Equal(s.Requests()[0].Fault, githubtest.SecondaryLimit)
	is.Equal(s.GraphQLRateLimit().Used, 0)
}

func TestBadGatewayBody(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	s.Inject(githubtest.Fault{Kind: githubtest.BadGateway})

	a := graphql(t, s.GraphQLURL(), smallQuery, nil)

	is.Equal(a.status, http.StatusBadGateway)
	is.True(a.body == nil) // not JSON
	is.True(strings.Contains(string(a.raw), "502 Bad Gateway"))
}

func TestRateLimitedFault(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	s.Inject(githubtest.Fault{Kind: githubtest.RateLimited})

	a := graphql(t, s.GraphQLURL(), smallQuery, nil)

	is.Equal(a.status, http.StatusOK)
	is.Equal(firstError(t, a)["type"], "RATE_LIMITED")
	is.Equal(a.body["data"], nil)
	is.Equal(a.header.Get("X-Ratelimit-Remaining"), "0")
}

func TestSlowFault(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	s.Inject(githubtest.Fault{Kind: githubtest.Slow, Delay: 2 * time.Second})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.GraphQLURL(),
		strings.NewReader(`{"query":"{ rateLimit { cost } }"}`))
	is.NoErr(err)
	req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
	start := time.Now()
	_, err = http.DefaultClient.Do(req)
	is.True(errors.Is(err, context.DeadlineExceeded))
	is.True(time.Since(start) < time.Second)

	a := graphql(t, s.GraphQLURL(), smallQuery, nil) // the fault was one-shot
	is.Equal(a.status, http.StatusOK)
}

func TestSlowFaultAnswers(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	s.Inject(githubtest.Fault{Kind: githubtest.Slow, Delay: 100 * time.Millisecond})

	start := time.Now()
	a := graphql(t, s.GraphQLURL(), smallQuery, nil)

	is.Equal(a.status, http.StatusOK)
	is.True(time.Since(start) >= 100*time.Millisecond)
	is.Equal(str(t, a.body, "data", "repository", "name"), "widgets")
}

func TestPartialError(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	f := s.Inject(githubtest.Fault{Kind: githubtest.PartialError, Field: "issues"})

	a := graphql(t, s.GraphQLURL(), `{ repository(owner: "acme", name: "widgets") { name } }`, nil)
	is.Equal(a.body["errors"], nil) // no issues field, so the fault waits
	is.Equal(s.Fired(f), 0)

	a = graphql(t, s.GraphQLURL(), smallQuery, nil)

	is.Equal(a.status, http.StatusOK)
	repo := get(t, a.body, "data", "repository")
	is.Equal(str(t, repo, "name"), "widgets")
	is.Equal(num(t, repo, "pullRequests", "totalCount"), 5)
	is.Equal(get(t, repo, "issues"), nil)
	e := firstError(t, a)
	is.Equal(e["type"], "FORBIDDEN")
	is.Equal(e["path"], []any{"repository", "issues"})
	is.Equal(e["message"], "Resource not accessible by integration")
	is.Equal(s.Fired(f), 1)

	a = graphql(t, s.GraphQLURL(), smallQuery, nil)
	is.Equal(a.body["errors"], nil)
}

package githubapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

// fullAnswer is a GitHub response to allStreams.
func fullAnswer() obj {
	pr := obj{
		"fullDatabaseId": "3000000001", "number": 17, "title": "Add release checklist",
		"state": "MERGED", "isDraft": false,
		"createdAt": "2026-02-10T09:00:00Z", "updatedAt": "2026-02-11T10:00:00Z",
		"mergedAt": "2026-02-11T10:00:00Z", "closedAt": "2026-02-11T10:00:00Z",
		"baseRefName": "main", "headRefName": "feature/release-checklist",
		"author": obj{"__typename": "User", "login": "alice"},
		"labels": obj{"nodes": arr{obj{"name": "release"}, nil, obj{"name": "docs"}}},
	}
	ghost := obj{
		"fullDatabaseId": "18", "number": 18, "title": "From a deleted account",
		"state": "OPEN", "isDraft": true,
		"createdAt": "2026-02-12T09:00:00Z", "updatedAt": "2026-02-12T09:30:00Z",
		"mergedAt": nil, "closedAt": nil,
		"baseRefName": "main", "headRefName": "ghost",
		"author": nil, "labels": obj{"nodes": arr{}},
	}
	issue := obj{
		"fullDatabaseId": "101", "number": 101, "title": "Fix flaky integration test",
		"state": "OPEN", "createdAt": "2026-02-05T08:00:00Z", "updatedAt": "2026-02-06T08:00:00Z",
		"closedAt": nil, "author": obj{"__typename": "Bot", "login": "dependabot"},
		"labels": nil,
	}
	withLogin := obj{"name": "Alice", "email": "alice@example.com", "user": obj{"login": "alice"}}
	noLogin := obj{"name": "Bob", "email": "bob@example.com", "user": nil}
	return obj{"data": obj{
		"repository": obj{
			"defaultBranchRef": obj{"name": "main"},
			"ref": obj{"name": "main", "target": obj{
				"oid": "abc123",
				"history": obj{
					"edges": arr{
						obj{"cursor": "h1", "node": commitJSON("abc123", "2026-02-20T10:00:00+02:00",
							withLogin)},
						obj{"cursor": "h2", "node": nil},
						obj{"cursor": "h3", "node": commitJSON("def456", "2026-02-19T10:00:00Z", noLogin)},
						obj{"cursor": "h4", "node": commitJSON("fed789", "2026-02-18T10:00:00Z", nil)},
					},
					"pageInfo": obj{"hasNextPage": true, "endCursor": "h4"},
				},
				"doc0": history(commitJSON("abc123", "2026-02-20T08:00:00Z", withLogin)),
				"doc1": obj{"edges": arr{}, "pageInfo": obj{"hasNextPage": false, "endCursor": nil}},
			}},
			"pullRequests": obj{
				"edges":    arr{obj{"cursor": "p1", "node": pr}, obj{"cursor": "p2", "node": ghost}},
				"pageInfo": obj{"hasNextPage": false, "endCursor": "p2"},
			},
			"issues": obj{
				"edges":    arr{obj{"cursor": "i1", "node": issue}},
				"pageInfo": obj{"hasNextPage": false, "endCursor": "i1"},
			},
		},
		"rateLimit": rateLimitJSON(),
	}}
}

// answerWith serves the same response to every request.
func answerWith(status int, answer any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, answer)
	}
}

func TestActivityMapsAllStreams(t *testing.T) {
	is := is.New(t)
	var seen graphQLRequest
	var auth, path string
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, auth, path = decodeGraphQL(t, r), r.Header.Get("Authorization"), r.URL.Path
		writeJSON(w, http.StatusOK, fullAnswer())
	}))

	a, err := h.client.Activity(context.Background(), allStreams())
	is.NoErr(err)

	is.Equal(path, "/api/graphql")
	is.Equal(auth, "Bearer "+testToken)
	is.Equal(seen.Variables["owner"], "octo")
	is.Equal(a.DefaultBranch, "main")
	is.True(a.BranchFound)
	is.Equal(a.HeadOID, "abc123")
	is.Equal(len(a.Errors), 0)

	is.Equal(len(a.Commits.Commits), 3) // the null node is skipped
	first := a.Commits.Commits[0]
	is.Equal(first.Cursor, "h1")
	is.Equal(first.OID, "abc123")
	is.Equal(first.Message, "Change abc123")
	is.Equal(first.CommittedDate, time.Date(2026, 2, 20, 8, 0, 0, 0, time.UTC))
	is.Equal(*first.Author, ingest.GitActor{Name: "Alice", Email: "alice@example.com", Login: "alice"})
	is.Equal(a.Commits.Commits[1].Author.Login, "")
	is.Equal(a.Commits.Commits[2].Author, nil)
	is.Equal(a.Commits.PageInfo, ingest.PageInfo{HasNextPage: true, EndCursor: "h4"})

	is.Equal(len(a.Docs), 2)
	is.Equal(a.Docs[0].Commits[0].OID, "abc123")
	is.Equal(len(a.Docs[1].Commits), 0)
	is.Equal(a.Docs[1].EndCursor, "")

	is.Equal(len(a.PullRequests.PullRequests), 2)
	pr := a.PullRequests.PullRequests[0]
	is.Equal(pr.DatabaseID, int64(3000000001))
	is.Equal(pr.Number, 17)
	is.Equal(pr.State, "MERGED")
	is.Equal(pr.MergedAt, time.Date(2026, 2, 11, 10, 0, 0, 0, time.UTC))
	is.Equal(pr.HeadRefName, "feature/release-checklist")
	is.Equal(*pr.Author, ingest.Actor{Login: "alice", Type: "User"})
	is.Equal(pr.Labels, []string{"release", "docs"})
	ghost := a.PullRequests.PullRequests[1]
	is.Equal(ghost.Author, nil)
	is.True(ghost.IsDraft)
	is.True(ghost.MergedAt.IsZero())

	is.Equal(len(a.Issues.Issues), 1)
	issue := a.Issues.Issues[0]
	is.Equal(issue.DatabaseID, int64(101))
	is.Equal(issue.Author.Type, "Bot")
	is.Equal(issue.Labels, nil)
	is.True(issue.ClosedAt.IsZero())

	is.Equal(a.Cost, ingest.Cost{
		Requests: 1, Points: 1, Remaining: 4999,
		ResetAt: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
	})
}

func TestActivityBranchNotFound(t *testing.T) {
	is := is.New(t)
	answer := fullAnswer()
	answer["data"].(obj)["repository"].(obj)["ref"] = nil
	h := newHarness(t, answerWith(http.StatusOK, answer))

	a, err := h.client.Activity(context.Background(), allStreams())
	is.NoErr(err)
	is.True(!a.BranchFound)
	is.Equal(a.HeadOID, "")
	is.Equal(a.Commits, nil)
	is.Equal(a.Docs, nil)
	is.Equal(len(a.PullRequests.PullRequests), 2)
}

func TestActivityEmptyRepository(t *testing.T) {
	is := is.New(t)
	answer := obj{"data": obj{
		"repository": obj{"defaultBranchRef": nil},
		"rateLimit":  nil,
	}}
	h := newHarness(t, answerWith(http.StatusOK, answer))
	q := allStreams()
	q.Branch, q.PullRequests, q.Issues = "", nil, nil

	a, err := h.client.Activity(context.Background(), q)
	is.NoErr(err)
	is.Equal(a.DefaultBranch, "")
	is.True(!a.BranchFound)
	is.Equal(a.Commits, nil)
	is.Equal(a.Cost.Remaining, -1) // a null rateLimit means no limit
}

func TestActivityPartialErrors(t *testing.T) {
	is := is.New(t)
	answer := fullAnswer()
	repo := answer["data"].(obj)["repository"].(obj)
	repo["pullRequests"] = nil
	repo["ref"].(obj)["target"].(obj)["doc1"] = nil
	answer["errors"] = arr{
		obj{"type": "FORBIDDEN", "path": arr{"repository", "pullRequests"}, "message": "no access"},
		obj{"type": "FORBIDDEN", "path": arr{"repository", "issues", "edges", 0, "node"},
			"message": "hidden"},
		obj{"type": "SERVICE_UNAVAILABLE", "path": arr{"repository", "ref", "target", "doc1"},
			"message": "slow"},
	}
	answer["data"].(obj)["repository"].(obj)["issues"].(obj)["edges"].(arr)[0].(obj)["node"] = nil
	h := newHarness(t, answerWith(http.StatusOK, answer))

	a, err := h.client.Activity(context.Background(), allStreams())
	is.NoErr(err)
	is.Equal(a.PullRequests, nil)
	is.Equal(len(a.Issues.Issues), 0)
	is.Equal(len(a.Commits.Commits), 3)
	is.True(a.Docs[0] != nil)
	is.Equal(a.Docs[1], nil)
	is.Equal(a.Errors, []ingest.PartialError{
		{Stream: "pull_request", Path: "repository.pullRequests", Type: "FORBIDDEN", Message: "no access"},
		{Stream: "issue", Path: "repository.issues.edges.0.node", Type: "FORBIDDEN", Message: "hidden"},
		{
			Stream: "doc_change", Path: "repository.ref.target.doc1",
			Type: "SERVICE_UNAVAILABLE", Message: "slow",
		},
	})
}

func TestActivityNotFound(t *testing.T) {
	tests := []struct {
		name   string
		answer obj
	}{
		{"not found error", obj{
			"data": obj{"repository": nil, "rateLimit": rateLimitJSON()},
			"errors": arr{obj{
				"type": "NOT_FOUND", "path": arr{"repository"}, "message": "Could not resolve",
			}},
		}},
		{"null repository", obj{"data": obj{"repository": nil, "rateLimit": rateLimitJSON()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			h := newHarness(t, answerWith(http.StatusOK, tt.answer))
			_, err := h.client.Activity(context.Background(), allStreams())
			is.True(errors.Is(err, ingest.ErrNotFound))
			is.True(strings.Contains(err.Error(), "octo/reef"))
		})
	}
}

func TestActivityAPIErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		answer   any
		wantErr  ingest.APIError
		requests int
	}{
		{"errors without data", http.StatusOK, obj{"errors": arr{obj{"message": "Parse error"}}},
			ingest.APIError{Message: "Parse error"}, 1},
		{"typed error without path", http.StatusOK,
			obj{"data": nil, "errors": arr{obj{"type": "MAX_NODE_LIMIT_EXCEEDED", "message": "too many"}}},
			ingest.APIError{Type: "MAX_NODE_LIMIT_EXCEEDED", Message: "too many"}, 1},
		{"unauthorized", http.StatusUnauthorized, obj{"message": "Bad credentials"},
			ingest.APIError{Status: 401, Message: "Bad credentials"}, 1},
		{"forbidden", http.StatusForbidden, obj{"message": "Resource not accessible by integration"},
			ingest.APIError{Status: 403, Message: "Resource not accessible by integration"}, 1},
		{"server error", http.StatusInternalServerError, obj{"message": "boom"},
			ingest.APIError{Status: 500, Message: "boom"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			var calls atomic.Int32
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				writeJSON(w, tt.status, tt.answer)
			}))
			_, err := h.client.Activity(context.Background(), allStreams())
			var apiErr *ingest.APIError
			is.True(errors.As(err, &apiErr))
			is.Equal(*apiErr, tt.wantErr)
			is.Equal(int(calls.Load()), tt.requests)
			is.Equal(len(h.clock.Sleeps()), 0)
		})
	}
}

func TestActivityShapeErrors(t *testing.T) {
	repo := func(a obj) obj { return a["data"].(obj)["repository"].(obj) }
	pr := func(a obj) obj {
		return repo(a)["pullRequests"].(obj)["edges"].(arr)[0].(obj)["node"].(obj)
	}
	tests := []struct {
		name   string
		change func(a obj)
		field  string
	}{
		{"null title", func(a obj) { pr(a)["title"] = nil },
			"repository.pullRequests.edges.0.node.title"},
		{"missing number", func(a obj) { delete(pr(a), "number") },
			"repository.pullRequests.edges.0.node.number"},
		{"bad database id", func(a obj) { pr(a)["fullDatabaseId"] = "12x" },
			"repository.pullRequests.edges.0.node.fullDatabaseId"},
		{"numeric title", func(a obj) { pr(a)["title"] = 12 },
			"repository.pullRequests.edges.0.node.title"},
		{"time without offset", func(a obj) { pr(a)["createdAt"] = "2026-02-10T09:00:00" },
			"repository.pullRequests.edges.0.node.createdAt"},
		{"missing page info", func(a obj) { delete(repo(a)["issues"].(obj), "pageInfo") },
			"repository.issues.pageInfo"},
		{"null edges", func(a obj) { repo(a)["issues"].(obj)["edges"] = nil },
			"repository.issues.edges"},
		{"null connection", func(a obj) { repo(a)["issues"] = nil }, "repository.issues"},
		{"null target", func(a obj) { repo(a)["ref"].(obj)["target"] = nil }, "repository.ref.target"},
		{"missing head oid", func(a obj) { delete(repo(a)["ref"].(obj)["target"].(obj), "oid") },
			"repository.ref.target.oid"},
		{"next page without cursor", func(a obj) {
			repo(a)["issues"].(obj)["pageInfo"] = obj{"hasNextPage": true, "endCursor": nil}
		}, "repository.issues.pageInfo.endCursor"},
		{"object for scalar", func(a obj) { pr(a)["title"] = obj{"text": "x"} }, "data"},
		{"unexpected field", func(a obj) { pr(a)["body"] = "x" }, "data"},
		{"null rate limit cost", func(a obj) { a["data"].(obj)["rateLimit"].(obj)["cost"] = nil },
			"rateLimit.cost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			answer := fullAnswer()
			tt.change(answer)
			h := newHarness(t, answerWith(http.StatusOK, answer))
			_, err := h.client.Activity(context.Background(), allStreams())
			var shape *ingest.ShapeError
			is.True(errors.As(err, &shape))
			is.Equal(shape.Field, tt.field)
		})
	}
}

func TestActivityNotJSON(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html>proxy login</html>"))
	}))
	_, err := h.client.Activity(context.Background(), allStreams())
	var shape *ingest.ShapeError
	is.True(errors.As(err, &shape))
	is.Equal(shape.Field, "response")
}

func TestActivityInvalidQuery(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("an invalid query must not reach GitHub")
	}))
	q := allStreams()
	q.Commits.First = 0
	_, err := h.client.Activity(context.Background(), q)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "page size 0"))
}

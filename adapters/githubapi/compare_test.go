package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/ingest"
)

// restCommit is a commit as GitHub's compare endpoint lists it.
func restCommit(sha, authored, committed string, gitAuthor, author any) obj {
	return obj{
		"sha": sha,
		"commit": obj{
			"message": "Change " + sha,
			"author":  gitAuthor,
			"committer": obj{
				"name": "GitHub", "email": "noreply@github.com", "date": committed,
			},
		},
		"author":  author,
		"parents": arr{obj{"sha": "parent"}},
	}
}

// compareAnswer is a comparison with one commit, which is enough for
// the tests of waits and errors.
func compareAnswer() obj {
	return obj{
		"status": "ahead", "ahead_by": 1, "behind_by": 0, "total_commits": 1,
		"commits": arr{restCommit("abc123", "2026-02-20T10:00:00Z", "2026-02-20T10:00:00Z",
			obj{"name": "Alice", "email": "alice@example.com", "date": "2026-02-20T10:00:00Z"},
			obj{"login": "alice"})},
		"files": arr{},
	}
}

func TestCompareMapsCommits(t *testing.T) {
	is := is.New(t)
	var uri string
	var server string
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uri = r.URL.RequestURI()
		w.Header().Set("Link", fmt.Sprintf(
			`<%s/api/v3/repositories/1/compare/a...b?page=3&per_page=100>; rel="next"`, server))
		writeJSON(w, http.StatusOK, obj{
			"status": "diverged", "ahead_by": 203, "behind_by": 4, "total_commits": 203,
			"commits": arr{
				restCommit("abc123", "2026-02-19T10:00:00+02:00", "2026-02-20T10:00:00Z",
					obj{"name": "Alice", "email": "alice@example.com",
						"date": "2026-02-19T10:00:00+02:00"},
					obj{"login": "alice", "type": "User"}),
				restCommit("def456", "2026-02-21T10:00:00Z", "2026-02-21T11:00:00Z",
					obj{"name": "Bob", "email": "bob@example.com", "date": "2026-02-21T10:00:00Z"},
					nil),
				restCommit("fed789", "", "2026-02-22T10:00:00Z", nil, nil),
			},
			"files": arr{},
		})
	}))
	server = h.server.URL

	got, err := h.client.Compare(context.Background(), "octo", "reef", "old", "feature/x", 2)
	is.NoErr(err)

	is.Equal(uri, "/api/v3/repos/octo/reef/compare/old...feature%2Fx?page=2&per_page=100")
	is.Equal(got.Status, "diverged")
	is.Equal(got.TotalCommits, 203)
	is.True(got.HasNextPage)
	is.Equal(got.Requests, 1)
	is.Equal(got.Commits, []ingest.Commit{
		{
			OID: "abc123", Message: "Change abc123",
			AuthoredDate:  time.Date(2026, 2, 19, 8, 0, 0, 0, time.UTC),
			CommittedDate: time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC),
			Author:        &ingest.GitActor{Name: "Alice", Email: "alice@example.com", Login: "alice"},
		},
		{
			OID: "def456", Message: "Change def456",
			AuthoredDate:  time.Date(2026, 2, 21, 10, 0, 0, 0, time.UTC),
			CommittedDate: time.Date(2026, 2, 21, 11, 0, 0, 0, time.UTC),
			Author:        &ingest.GitActor{Name: "Bob", Email: "bob@example.com"},
		},
		{
			OID: "fed789", Message: "Change fed789",
			CommittedDate: time.Date(2026, 2, 22, 10, 0, 0, 0, time.UTC),
		},
	})
}

func TestCompareLastPage(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, answerWith(http.StatusOK, obj{
		"status": "identical", "ahead_by": 0, "behind_by": 0, "total_commits": 0,
		"commits": arr{}, "files": arr{},
	}))

	got, err := h.client.Compare(context.Background(), "octo", "reef", "abc", "abc", 1)
	is.NoErr(err)
	is.Equal(got.Status, "identical")
	is.Equal(got.TotalCommits, 0)
	is.Equal(got.Commits, []ingest.Commit{})
	is.True(!got.HasNextPage)
}

func TestCompareErrors(t *testing.T) {
	noSHA := compareAnswer()
	noSHA["commits"].(arr)[0].(obj)["sha"] = nil
	noDate := compareAnswer()
	delete(noDate["commits"].(arr)[0].(obj)["commit"].(obj), "committer")
	noAuthorDate := compareAnswer()
	delete(noAuthorDate["commits"].(arr)[0].(obj)["commit"].(obj)["author"].(obj), "date")
	noStatus := compareAnswer()
	delete(noStatus, "status")
	noTotal := compareAnswer()
	delete(noTotal, "total_commits")

	tests := []struct {
		name     string
		status   int
		body     any
		notFound bool
		apiErr   *ingest.APIError
		field    string
	}{
		{"not found", 404, obj{"message": "Not Found"}, true, nil, ""},
		{"server error", 500, obj{"message": "boom"},
			false, &ingest.APIError{Status: 500, Message: "boom"}, ""},
		{"forbidden", 403, obj{"message": "Resource not accessible by integration"},
			false, &ingest.APIError{Status: 403,
				Message: "Resource not accessible by integration"}, ""},
		{"no sha", 200, noSHA, false, nil, "commits.0.sha"},
		{"no committer date", 200, noDate, false, nil, "commits.0.commit.committer.date"},
		{"no author date", 200, noAuthorDate, false, nil, "commits.0.commit.author.date"},
		{"no status", 200, noStatus, false, nil, "status"},
		{"no total", 200, noTotal, false, nil, "total_commits"},
		{"not an object", 200, arr{1, 2}, false, nil, "comparison"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			h := newHarness(t, answerWith(tt.status, tt.body))

			_, err := h.client.Compare(context.Background(), "octo", "reef", "a", "b", 1)
			is.True(err != nil)
			is.Equal(errors.Is(err, ingest.ErrNotFound), tt.notFound)
			is.True(strings.Contains(err.Error(), "compare a...b of octo/reef, page 1"))
			if tt.apiErr != nil {
				var apiErr *ingest.APIError
				is.True(errors.As(err, &apiErr))
				is.Equal(*apiErr, *tt.apiErr)
			}
			if tt.field != "" {
				var shape *ingest.ShapeError
				is.True(errors.As(err, &shape))
				is.Equal(shape.Field, tt.field)
			}
		})
	}
}

func TestCompareRejectsArguments(t *testing.T) {
	tests := []struct {
		name       string
		base, head string
		page       int
	}{
		{"blank base", " ", "main", 1},
		{"blank head", "abc", "", 1},
		{"page zero", "abc", "main", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Error("an invalid call must not reach GitHub")
			}))
			_, err := h.client.Compare(context.Background(), "octo", "reef", tt.base, tt.head,
				tt.page)
			is.True(err != nil)
		})
	}
}

func TestCompareWaitsAndRetries(t *testing.T) {
	tests := []struct {
		name   string
		steps  []step
		sleeps []time.Duration
	}{
		{"primary limit", []step{
			{403, spentBudget(10 * time.Minute), obj{"message": "API rate limit exceeded"}},
			ok(compareAnswer()),
		}, []time.Duration{10*time.Minute + time.Second}},
		{"secondary limit", []step{
			{429, map[string]string{"Retry-After": "7"}, secondaryBody()},
			ok(compareAnswer()),
		}, []time.Duration{7 * time.Second}},
		{"transient statuses", []step{
			{502, nil, obj{"message": "bad gateway"}},
			{503, nil, obj{"message": "unavailable"}},
			ok(compareAnswer()),
		}, []time.Duration{time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := &script{steps: tt.steps}
			h := newHarness(t, s)

			got, err := h.client.Compare(context.Background(), "octo", "reef", "a", "b", 1)
			is.NoErr(err)
			is.Equal(got.Requests, len(tt.steps))
			is.Equal(h.clock.Sleeps(), tt.sleeps)
			is.Equal(got.Commits[0].OID, "abc123")
		})
	}
}

func TestCompareSharesRESTBudget(t *testing.T) {
	is := is.New(t)
	var paths []string
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if strings.Contains(r.URL.Path, "/commits/") {
			for k, v := range spentBudget(5 * time.Minute) {
				w.Header().Set(k, v)
			}
			writeJSON(w, http.StatusOK, commitAnswer())
			return
		}
		writeJSON(w, http.StatusOK, compareAnswer())
	}))

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
	is.NoErr(err)
	got, err := h.client.Compare(context.Background(), "octo", "reef", "a", "b", 1)
	is.NoErr(err)
	is.Equal(got.Requests, 1)
	is.Equal(h.clock.Sleeps(), []time.Duration{5*time.Minute + time.Second})
	is.Equal(h.logs.Lines(t)[0]["reason"], "budget_spent")
	is.Equal(len(paths), 2)
}

func TestCompareRetriesExhausted(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{{503, nil, obj{"message": "unavailable"}}}}
	h := newHarness(t, s, WithRetries(2))

	got, err := h.client.Compare(context.Background(), "octo", "reef", "a", "b", 1)
	is.Equal(got, nil)
	var apiErr *ingest.APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Status, 503)
	is.True(!errors.Is(err, ingest.ErrNetwork)) // GitHub answered
	is.Equal(s.count(), 3)
}

// closedAddress returns a loopback URL that refuses connections.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestNetworkFailureWrapsErrNetwork(t *testing.T) {
	calls := []struct {
		name string
		call func(c *Client) error
	}{
		{"activity", func(c *Client) error {
			_, err := c.Activity(context.Background(), pullsQuery())
			return err
		}},
		{"commit files", func(c *Client) error {
			_, err := c.CommitFiles(context.Background(), "octo", "reef", "abc")
			return err
		}},
		{"compare", func(c *Client) error {
			_, err := c.Compare(context.Background(), "octo", "reef", "a", "b", 1)
			return err
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			clock := newFakeClock()
			client, err := New(Config{Token: testToken, APIURL: closedAddress(t)},
				WithClock(clock.Now, clock.Sleep), WithRetries(2))
			is.NoErr(err)

			err = tt.call(client)
			is.True(errors.Is(err, ingest.ErrNetwork))
			var opErr *net.OpError
			is.True(errors.As(err, &opErr)) // the cause stays in the chain
			is.Equal(len(clock.Sleeps()), 2)
			is.True(!strings.Contains(err.Error(), testToken))
		})
	}
}

func TestFakeGitHubCompare(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, _ := fakeClient(t, server, Config{Token: testToken})

	got, err := client.Compare(context.Background(), "octo", "reef", "b2", "main", 1)
	is.NoErr(err)
	is.Equal(got.Status, "ahead")
	is.Equal(got.TotalCommits, 3)
	is.True(!got.HasNextPage)
	is.Equal(got.Requests, 1)
	oids := []string{}
	for _, c := range got.Commits {
		oids = append(oids, c.OID)
	}
	is.Equal(oids, []string{"c3", "d4", "e5"})
	is.Equal(got.Commits[2], ingest.Commit{
		OID: "e5", Message: "Commit e5",
		AuthoredDate:  reefStart.Add(5 * time.Hour),
		CommittedDate: reefStart.Add(5 * time.Hour),
		Author:        &ingest.GitActor{Name: "Alice", Email: "alice@example.com", Login: "alice"},
	})

	got, err = client.Compare(context.Background(), "octo", "reef", "main", "c3", 1)
	is.NoErr(err)
	is.Equal(got.Status, "behind")
	is.Equal(len(got.Commits), 0)

	for _, ref := range [][2]string{{"gone", "main"}, {"b2", "gone"}} {
		_, err = client.Compare(context.Background(), "octo", "reef", ref[0], ref[1], 1)
		is.True(errors.Is(err, ingest.ErrNotFound))
	}
	_, err = client.Compare(context.Background(), "octo", "gone", "b2", "main", 1)
	is.True(errors.Is(err, ingest.ErrNotFound))
}

func TestFakeGitHubComparePages(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, sleep := fakeClient(t, server, Config{Token: testToken})
	is.NoErr(server.Update("octo", "reef", func(r *githubtest.Repository) {
		var commits []githubtest.Commit
		for i := range 250 {
			at := reefStart.Add(time.Duration(i+6) * time.Hour)
			commits = append([]githubtest.Commit{{
				OID: fmt.Sprintf("n%03d", i), MessageHeadline: "Late", AuthoredDate: at,
				CommittedDate: at,
			}}, commits...)
		}
		r.Commits = append(commits, r.Commits...)
	}))
	server.Inject(githubtest.Fault{Kind: githubtest.BadGateway, API: githubtest.RESTAPI,
		Skip: 1})

	var oids []string
	requests := 0
	for page := 1; ; page++ {
		got, err := client.Compare(context.Background(), "octo", "reef", "e5", "main", page)
		is.NoErr(err)
		is.Equal(got.TotalCommits, 250)
		requests += got.Requests
		for _, c := range got.Commits {
			oids = append(oids, c.OID)
		}
		if !got.HasNextPage {
			is.Equal(page, 3)
			break
		}
		is.Equal(len(got.Commits), ingest.ComparePageSize)
	}
	is.Equal(len(oids), 250)
	is.Equal(oids[0], "n000")
	is.Equal(oids[249], "n249")
	is.Equal(requests, 4) // the 502 on page 2 was retried
	is.Equal(sleep.Sleeps(), []time.Duration{time.Second})
	is.Equal(server.Totals().REST, 4)
}

func TestFakeGitHubHeadOID(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, _ := fakeClient(t, server, Config{Token: testToken})

	for _, branch := range []string{"", "main"} {
		q := reefQuery(2)
		q.Branch = branch
		a, err := client.Activity(context.Background(), q)
		is.NoErr(err)
		is.Equal(a.HeadOID, "e5")
	}

	q := reefQuery(2)
	q.Branch = "nope"
	a, err := client.Activity(context.Background(), q)
	is.NoErr(err)
	is.True(!a.BranchFound)
	is.Equal(a.HeadOID, "")

	q = reefQuery(2)
	q.Commits, q.Docs = nil, nil
	a, err = client.Activity(context.Background(), q)
	is.NoErr(err)
	is.Equal(a.HeadOID, "") // no history requested, no oid
}

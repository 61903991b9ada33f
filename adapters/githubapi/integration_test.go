package githubapi

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/ingest"
)

// reefStart is the time of the fake repository's first commit.
var reefStart = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// reef is a small repository for the fake GitHub: five commits, two of
// which touch docs/roadmap.md, three pull requests and two issues.
func reef() *githubtest.Repository {
	at := func(h int) time.Time { return reefStart.Add(time.Duration(h) * time.Hour) }
	alice := githubtest.GitActor{Name: "Alice", Email: "alice@example.com", Login: "alice"}
	commit := func(oid string, h int, files ...githubtest.ChangedFile) githubtest.Commit {
		return githubtest.Commit{
			OID: oid, MessageHeadline: "Commit " + oid, AuthoredDate: at(h), CommittedDate: at(h),
			Author: alice, Files: files,
		}
	}
	file := func(path, change string) githubtest.ChangedFile {
		return githubtest.ChangedFile{Path: path, ChangeType: change}
	}
	return &githubtest.Repository{
		Owner: "octo", Name: "reef", DefaultBranch: "main",
		Commits: []githubtest.Commit{
			commit("e5", 5, file("docs/roadmap.md", "MODIFIED"),
				githubtest.ChangedFile{Path: "docs/plan.md", PreviousPath: "plan.md", ChangeType: "RENAMED"},
				file("old.txt", "DELETED")),
			commit("d4", 4, file("src/main.go", "MODIFIED")),
			commit("c3", 3, file("docs/roadmap.md", "ADDED")),
			commit("b2", 2, file("README.md", "MODIFIED")),
			commit("a1", 1, file("README.md", "ADDED")),
		},
		PullRequests: []githubtest.PullRequest{
			{DatabaseID: 3_000_000_001, Number: 1, Title: "One", State: "MERGED",
				CreatedAt: at(1), UpdatedAt: at(2), MergedAt: at(2), ClosedAt: at(2),
				BaseRefName: "main", HeadRefName: "one", Author: &githubtest.Actor{Login: "alice"}},
			{DatabaseID: 3_000_000_002, Number: 2, Title: "Two", State: "OPEN", IsDraft: true,
				CreatedAt: at(3), UpdatedAt: at(4), BaseRefName: "main", HeadRefName: "two",
				Labels: []string{"docs"}},
			{DatabaseID: 3_000_000_003, Number: 3, Title: "Three", State: "CLOSED",
				CreatedAt: at(3), UpdatedAt: at(5), ClosedAt: at(5), BaseRefName: "main", HeadRefName: "three",
				Author: &githubtest.Actor{Login: "renovate", Type: "Bot"}},
		},
		Issues: []githubtest.Issue{
			{DatabaseID: 101, Number: 4, Title: "Bug", State: "OPEN", CreatedAt: at(1), UpdatedAt: at(3)},
			{DatabaseID: 102, Number: 5, Title: "Old", State: "CLOSED", CreatedAt: at(-100),
				UpdatedAt: at(-90), ClosedAt: at(-90)},
		},
	}
}

// fakeGitHub starts the fake GitHub serving reef, validating documents
// against GitHub's schema when it is available.
func fakeGitHub(t *testing.T, opts githubtest.Options) *githubtest.Server {
	t.Helper()
	path := os.Getenv("GHILLIE_GITHUB_SCHEMA")
	if path == "" {
		path = defaultSchemaPath
	}
	text, err := os.ReadFile(path)
	switch {
	case err == nil:
		if opts.Schema, err = githubtest.LoadSchema(path, string(text)); err != nil {
			t.Fatal(err)
		}
	case !errors.Is(err, fs.ErrNotExist) || os.Getenv("CI") == "true":
		t.Fatalf("read GitHub schema: %v", err)
	}
	if len(opts.Tokens) == 0 && opts.AppKey == nil {
		opts.Tokens = []string{testToken}
	}
	server := githubtest.NewServer(t, opts, reef())
	t.Cleanup(func() {
		for _, e := range server.ValidationErrors() {
			t.Errorf("document invalid against the schema: %s", e.Message)
		}
		for _, e := range server.Unsupported() {
			t.Errorf("document uses a field the fake does not serve: %s", e.Message)
		}
	})
	return server
}

// recordingSleep records waits without waiting. Its clock is the real
// one, because the fake GitHub keeps real time, moved ahead by the waits.
type recordingSleep struct {
	mu     sync.Mutex
	sleeps []time.Duration
	ahead  time.Duration
}

func (r *recordingSleep) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Now().Add(r.ahead)
}

func (r *recordingSleep) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sleeps = append(r.sleeps, d)
	r.ahead += d
	return ctx.Err()
}

func (r *recordingSleep) Sleeps() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.sleeps...)
}

func fakeClient(t *testing.T, server *githubtest.Server, cfg Config) (*Client, *recordingSleep) {
	t.Helper()
	sleep := &recordingSleep{}
	cfg.APIURL = server.URL
	client, err := New(cfg, WithClock(sleep.Now, sleep.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	client.limits.jitter = func(time.Duration) time.Duration { return 0 }
	return client, sleep
}

// reefQuery requests every stream of reef in pages of size.
func reefQuery(size int) ingest.ActivityQuery {
	since := reefStart.Add(-24 * time.Hour)
	return ingest.ActivityQuery{
		Owner: "octo", Name: "reef",
		Commits:      &ingest.Page{Since: since, First: size},
		PullRequests: &ingest.Page{First: size},
		Issues:       &ingest.Page{Since: since, First: size},
		Docs:         []ingest.PathPage{{Path: "docs/roadmap.md", Page: ingest.Page{Since: since, First: size}}},
	}
}

func TestFakeGitHubPagesAllStreams(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, _ := fakeClient(t, server, Config{Token: testToken})

	q := reefQuery(2)
	var commits, docs []string
	var pulls []int64
	var issues []int
	for range 10 {
		a, err := client.Activity(context.Background(), q)
		is.NoErr(err)
		is.Equal(a.DefaultBranch, "main")
		is.True(a.BranchFound)
		is.Equal(len(a.Errors), 0)
		is.True(a.Cost.Remaining > 0)
		is.Equal(a.Cost.Requests, 1)

		more := false
		if q.Commits != nil {
			for _, c := range a.Commits.Commits {
				commits = append(commits, c.OID)
			}
			q.Commits, more = nextPage(q.Commits, a.Commits.PageInfo), more || a.Commits.HasNextPage
		}
		if q.PullRequests != nil {
			for _, p := range a.PullRequests.PullRequests {
				pulls = append(pulls, p.DatabaseID)
			}
			q.PullRequests = nextPage(q.PullRequests, a.PullRequests.PageInfo)
			more = more || a.PullRequests.HasNextPage
		}
		if q.Issues != nil {
			for _, i := range a.Issues.Issues {
				issues = append(issues, i.Number)
			}
			q.Issues, more = nextPage(q.Issues, a.Issues.PageInfo), more || a.Issues.HasNextPage
		}
		if len(q.Docs) > 0 {
			for _, c := range a.Docs[0].Commits {
				docs = append(docs, c.OID)
			}
			if next := nextPage(&q.Docs[0].Page, a.Docs[0].PageInfo); next != nil {
				q.Docs[0].Page = *next
				more = true
			} else {
				q.Docs = nil
			}
		}
		if !more {
			break
		}
	}

	is.Equal(commits, []string{"e5", "d4", "c3", "b2", "a1"})
	is.Equal(docs, []string{"e5", "c3"})
	is.Equal(pulls, []int64{3_000_000_003, 3_000_000_002, 3_000_000_001})
	is.Equal(issues, []int{4}) // the other issue is older than since
}

// nextPage returns the page after info, or nil when there is none.
func nextPage(p *ingest.Page, info ingest.PageInfo) *ingest.Page {
	if !info.HasNextPage {
		return nil
	}
	next := *p
	next.After = info.EndCursor
	return &next
}

func TestFakeGitHubMapsFields(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, _ := fakeClient(t, server, Config{Token: testToken})

	a, err := client.Activity(context.Background(), reefQuery(10))
	is.NoErr(err)
	head := a.Commits.Commits[0]
	is.Equal(head.Message, "Commit e5")
	is.True(head.CommittedDate.Equal(reefStart.Add(5 * time.Hour)))
	is.Equal(*head.Author, ingest.GitActor{Name: "Alice", Email: "alice@example.com", Login: "alice"})

	three := a.PullRequests.PullRequests[0]
	is.Equal(three.Number, 3)
	is.Equal(*three.Author, ingest.Actor{Login: "renovate", Type: "Bot"})
	two := a.PullRequests.PullRequests[1]
	is.True(two.IsDraft)
	is.Equal(two.Labels, []string{"docs"})
	is.Equal(two.Author, nil)
	is.True(two.MergedAt.IsZero())
}

func TestFakeGitHubCommitFiles(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, _ := fakeClient(t, server, Config{Token: testToken})

	files, err := client.CommitFiles(context.Background(), "octo", "reef", "e5")
	is.NoErr(err)
	is.Equal(files.Requests, 1)
	is.Equal(files.Files, []ingest.ChangedFile{
		{Path: "docs/roadmap.md", Status: "modified"},
		{Path: "docs/plan.md", PreviousPath: "plan.md", Status: "renamed"},
		{Path: "old.txt", Status: "removed"},
	})

	_, err = client.CommitFiles(context.Background(), "octo", "gone", "e5")
	is.True(errors.Is(err, ingest.ErrNotFound))
}

func TestFakeGitHubMissingRepository(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, _ := fakeClient(t, server, Config{Token: testToken})

	q := reefQuery(10)
	q.Name = "gone"
	_, err := client.Activity(context.Background(), q)
	is.True(errors.Is(err, ingest.ErrNotFound))
}

func TestFakeGitHubFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    githubtest.Fault
		requests int
		waits    int
		check    func(is *is.I, a *ingest.Activity, sleeps []time.Duration)
	}{
		{"bad gateway on large pages", githubtest.Fault{Kind: githubtest.BadGateway, PageSizeOver: 50}, 2, 1,
			func(is *is.I, a *ingest.Activity, sleeps []time.Duration) {
				is.Equal(sleeps, []time.Duration{time.Second})
			}},
		{"secondary limit", githubtest.Fault{Kind: githubtest.SecondaryLimit, RetryAfter: 3 * time.Second}, 2, 1,
			func(is *is.I, a *ingest.Activity, sleeps []time.Duration) {
				is.Equal(sleeps, []time.Duration{3 * time.Second})
			}},
		{"secondary limit 429", githubtest.Fault{Kind: githubtest.SecondaryLimit429}, 2, 1,
			func(is *is.I, a *ingest.Activity, sleeps []time.Duration) {
				is.Equal(sleeps, []time.Duration{time.Minute})
			}},
		{"rate limited", githubtest.Fault{Kind: githubtest.RateLimited}, 2, 1,
			func(is *is.I, a *ingest.Activity, sleeps []time.Duration) {
				is.True(sleeps[0] > time.Second) // until the fake's reset, an hour away at most
				is.True(sleeps[0] <= time.Hour+2*time.Second)
			}},
		{"partial error", githubtest.Fault{Kind: githubtest.PartialError, Field: "issues"}, 1, 0,
			func(is *is.I, a *ingest.Activity, sleeps []time.Duration) {
				is.Equal(a.Issues, nil)
				is.Equal(len(a.Errors), 1)
				is.Equal(a.Errors[0].Stream, "issue")
				is.Equal(a.Errors[0].Type, "FORBIDDEN")
				is.True(a.PullRequests != nil)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			server := fakeGitHub(t, githubtest.Options{})
			client, sleep := fakeClient(t, server, Config{Token: testToken})
			tt.fault.API = githubtest.GraphQLAPI
			fault := server.Inject(tt.fault)

			a, err := client.Activity(context.Background(), reefQuery(100))
			is.NoErr(err)
			is.Equal(server.Fired(fault), 1)
			is.Equal(a.Cost.Requests, tt.requests)
			is.Equal(len(sleep.Sleeps()), tt.waits)
			is.Equal(len(a.Commits.Commits), 5)
			tt.check(is, a, sleep.Sleeps())
		})
	}
}

func TestFakeGitHubRESTRateLimited(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	client, sleep := fakeClient(t, server, Config{Token: testToken})
	server.Inject(githubtest.Fault{Kind: githubtest.RateLimited, API: githubtest.RESTAPI})

	files, err := client.CommitFiles(context.Background(), "octo", "reef", "c3")
	is.NoErr(err)
	is.Equal(files.Requests, 2)
	is.Equal(len(sleep.Sleeps()), 1)
	is.Equal(files.Files, []ingest.ChangedFile{{Path: "docs/roadmap.md", Status: "added"}})
}

func TestFakeGitHubApp(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{AppID: 42, AppKey: &testKey().PublicKey})
	client, _ := fakeClient(t, server, Config{
		App: &AppConfig{AppID: 42, InstallationID: 7, PrivateKey: testKey()},
	})

	_, err := client.Activity(context.Background(), reefQuery(10))
	is.NoErr(err)
	_, err = client.CommitFiles(context.Background(), "octo", "reef", "e5")
	is.NoErr(err)
	is.Equal(server.MintedTokens(), 1)

	server.Inject(githubtest.Fault{Kind: githubtest.ExpiredToken})
	a, err := client.Activity(context.Background(), reefQuery(10))
	is.NoErr(err)
	is.Equal(a.Cost.Requests, 2) // the 401 and the retry with a new token
	is.Equal(server.MintedTokens(), 2)
}

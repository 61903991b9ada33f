package githubtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

// compareURL is the REST address of a comparison of the fixture.
func compareURL(s *githubtest.Server, basehead string) string {
	return s.URL + "/repos/acme/widgets/compare/" + basehead
}

// shas lists the sha of every commit of a comparison.
func shas(t *testing.T, a response) []string {
	t.Helper()

	var out []string
	for _, c := range list(t, a.body, "commits") {
		out = append(out, str(t, c, "sha"))
	}
	return out
}

// nextLink returns the rel="next" target of a Link header, or "".
func nextLink(header string) string {
	for part := range strings.SplitSeq(header, ", ") {
		if target, ok := strings.CutSuffix(part, `>; rel="next"`); ok {
			return strings.TrimPrefix(target, "<")
		}
	}
	return ""
}

func TestCompareAhead(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	path := compareURL(s, oid(2)+"...main")
	url := path + "?per_page=3"

	var got []string
	var links []string
	for next := url; next != ""; {
		a := send(t, http.MethodGet, next, githubtest.DefaultToken, nil)
		is.Equal(a.status, http.StatusOK)
		is.Equal(str(t, a.body, "status"), "ahead")
		is.Equal(num(t, a.body, "ahead_by"), 7)
		is.Equal(num(t, a.body, "behind_by"), 0)
		is.Equal(num(t, a.body, "total_commits"), 7)
		is.Equal(len(list(t, a.body, "files")), 0)
		got = append(got, shas(t, a)...)
		links = append(links, a.header.Get("Link"))
		next = nextLink(a.header.Get("Link"))
	}

	is.Equal(got, []string{oid(3), oid(4), oid(5), oid(6), oid(7), oid(8), oid(9)})
	is.Equal(links[0], fmt.Sprintf(`<%s?page=2&per_page=3>; rel="next", `+
		`<%s?page=3&per_page=3>; rel="last"`, path, path))
	is.Equal(len(links), 3)
	is.Equal(s.Totals().REST, 3)
	is.Equal(s.RESTRateLimit().Used, 3)
}

func TestCompareCommitShape(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	// GitHub Enterprise Server's prefix, an abbreviated sha and no page
	// size, which lists up to 250 commits without a Link header.
	a := send(t, http.MethodGet, s.EnterpriseURL()+"/repos/acme/widgets/compare/"+
		oid(6)[:7]+"..."+oid(8), githubtest.DefaultToken, nil)

	is.Equal(a.status, http.StatusOK)
	is.Equal(a.header.Get("Link"), "")
	is.Equal(a.header.Get("X-Ratelimit-Resource"), "core")
	is.Equal(shas(t, a), []string{oid(7), oid(8)})
	bot := get(t, a.body, "commits", 0)
	is.Equal(str(t, bot, "commit", "message"), "Change 7")
	is.Equal(str(t, bot, "commit", "author", "name"), "dependabot[bot]")
	is.Equal(str(t, bot, "commit", "author", "date"),
		base.Add(7*24*time.Hour-time.Hour).Format(time.RFC3339))
	is.Equal(str(t, bot, "commit", "committer", "date"),
		base.Add(7*24*time.Hour).Format(time.RFC3339))
	is.Equal(str(t, bot, "author", "login"), "dependabot[bot]")
	is.Equal(str(t, bot, "parents", 0, "sha"), oid(6))
	is.Equal(str(t, a.body, "base_commit", "sha"), oid(6))
}

func TestCompareStatus(t *testing.T) {
	tests := []struct {
		name     string
		basehead string
		status   string
		ahead    int
		behind   int
	}{
		{"identical", "main..." + oid(9), "identical", 0, 0},
		{"identical branch", "main...main", "identical", 0, 0},
		{"behind", "main..." + oid(5), "behind", 0, 4},
		{"ahead of root", oid(0) + "..." + oid(1), "ahead", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())

			a := send(t, http.MethodGet, compareURL(s, tt.basehead), githubtest.DefaultToken, nil)

			is.Equal(a.status, http.StatusOK)
			is.Equal(str(t, a.body, "status"), tt.status)
			is.Equal(num(t, a.body, "ahead_by"), tt.ahead)
			is.Equal(num(t, a.body, "total_commits"), tt.ahead)
			is.Equal(num(t, a.body, "behind_by"), tt.behind)
			is.Equal(len(list(t, a.body, "commits")), tt.ahead)
		})
	}
}

// rewrite returns commits that continue the fixture's history after
// commit from, one hour apart from at, with the given oids.
func rewrite(from int, at time.Time, oids ...string) []githubtest.Commit {
	var out []githubtest.Commit
	parent := oid(from)
	for i, o := range oids {
		out = append([]githubtest.Commit{{
			OID: o, Parents: []string{parent}, MessageHeadline: "Rewrite " + o,
			AuthoredDate:  at.Add(time.Duration(i) * time.Hour),
			CommittedDate: at.Add(time.Duration(i) * time.Hour),
			Author:        githubtest.GitActor{Name: "Dev Two", Email: "dev2@example.invalid"},
		}}, out...)
		parent = o
	}
	return out
}

func TestCompareForcePush(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())
	later := base.Add(20 * 24 * time.Hour)

	// A force push replaces c06 to c09 on main with two new commits, and a
	// backup branch keeps the old ones.
	is.NoErr(s.Update("acme", "widgets", func(r *githubtest.Repository) {
		r.Branches = map[string][]githubtest.Commit{"backup": r.Commits}
		r.Commits = append(rewrite(5, later, "n1aaaaaaaa", "n2bbbbbbbb"), r.Commits[4:]...)
	}))

	a := send(t, http.MethodGet, compareURL(s, oid(9)+"...main"), githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusOK)
	is.Equal(str(t, a.body, "status"), "diverged")
	is.Equal(num(t, a.body, "ahead_by"), 2)
	is.Equal(num(t, a.body, "behind_by"), 4)
	is.Equal(shas(t, a), []string{"n1aaaaaaaa", "n2bbbbbbbb"})

	// Without the backup branch the old head is gone, as after GitHub
	// collected it.
	is.NoErr(s.Update("acme", "widgets", func(r *githubtest.Repository) { r.Branches = nil }))
	a = send(t, http.MethodGet, compareURL(s, oid(9)+"...main"), githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusNotFound)
	is.Equal(a.body["message"], "Not Found")
}

func TestCompareMergeBringsOlderCommits(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	// A topic branch forked at c03, with commits dated before c09, is
	// merged into main after c09.
	topic := rewrite(3, base.Add(4*24*time.Hour+time.Hour), "t1aaaaaaaa", "t2bbbbbbbb")
	is.NoErr(s.Update("acme", "widgets", func(r *githubtest.Repository) {
		r.Branches = map[string][]githubtest.Commit{"topic": topic}
		merge := githubtest.Commit{
			OID: "m1cccccccc", Parents: []string{oid(9), "t2bbbbbbbb"},
			MessageHeadline: "Merge topic", AuthoredDate: base.Add(10 * 24 * time.Hour),
			CommittedDate: base.Add(10 * 24 * time.Hour),
		}
		r.Commits = append([]githubtest.Commit{merge}, r.Commits...)
	}))

	a := send(t, http.MethodGet, compareURL(s, oid(9)+"...main"), githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusOK)
	is.Equal(str(t, a.body, "status"), "ahead")
	is.Equal(shas(t, a), []string{"t1aaaaaaaa", "t2bbbbbbbb", "m1cccccccc"})
	is.Equal(len(list(t, a.body, "commits", 2, "parents")), 2)

	// Compared with the topic branch, main is ahead by c04 to c09 and the
	// merge, listed by date, each after its parents.
	a = send(t, http.MethodGet, compareURL(s, "topic...main"), githubtest.DefaultToken, nil)
	is.Equal(str(t, a.body, "status"), "ahead")
	is.Equal(shas(t, a), []string{oid(4), oid(5), oid(6), oid(7), oid(8), oid(9), "m1cccccccc"})

	a = send(t, http.MethodGet, compareURL(s, "main...topic"), githubtest.DefaultToken, nil)
	is.Equal(str(t, a.body, "status"), "behind")
	is.Equal(num(t, a.body, "behind_by"), 7)
}

func TestCompareImpliedParents(t *testing.T) {
	is := is.New(t)
	repo := fixture()
	for i := range repo.Commits {
		repo.Commits[i].Parents = nil
	}
	s := githubtest.NewServer(t, githubtest.Options{}, repo)

	a := send(t, http.MethodGet, compareURL(s, oid(7)+"...main"), githubtest.DefaultToken, nil)
	is.Equal(shas(t, a), []string{oid(8), oid(9)})
	is.Equal(str(t, a.body, "commits", 0, "parents", 0, "sha"), oid(7))
}

func TestCompareErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"unknown repository", "/repos/acme/gadgets/compare/main...main"},
		{"unknown base", "/repos/acme/widgets/compare/deadbeef...main"},
		{"unknown head", "/repos/acme/widgets/compare/main...nope"},
		{"short sha", "/repos/acme/widgets/compare/" + oid(1)[:6] + "...main"},
		{"two dots", "/repos/acme/widgets/compare/" + oid(1) + "..main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())

			a := send(t, http.MethodGet, s.URL+tt.path, githubtest.DefaultToken, nil)

			is.Equal(a.status, http.StatusNotFound)
			is.Equal(a.body["message"], "Not Found")
			is.True(strings.HasPrefix(a.body["documentation_url"].(string),
				"https://docs.github.com/"))
			is.Equal(s.Totals().ByStatus[http.StatusNotFound], 1)
		})
	}
}

func TestCompareLimitsAndFaults(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{RESTLimit: 2, ResetInterval: time.Hour},
		fixture())
	url := compareURL(s, oid(8)+"...main")
	s.Inject(githubtest.Fault{Kind: githubtest.BadGateway, API: githubtest.RESTAPI})

	a := send(t, http.MethodGet, url, githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusBadGateway)
	a = send(t, http.MethodGet, url, "", nil)
	is.Equal(a.status, http.StatusUnauthorized)
	for range 2 {
		a = send(t, http.MethodGet, url, githubtest.DefaultToken, nil)
		is.Equal(a.status, http.StatusOK)
	}
	a = send(t, http.MethodGet, url, githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusForbidden)
	is.Equal(a.header.Get("X-Ratelimit-Remaining"), "0")
	is.Equal(s.Requests()[4].Path, "/repos/acme/widgets/compare/"+oid(8)+"...main")
}

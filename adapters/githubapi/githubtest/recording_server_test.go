package githubtest_test

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

const recordedHistoryQuery = `query($owner: String!, $name: String!, $after: String,
  $since: GitTimestamp, $path: String) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef {
      target {
        ... on Commit {
          history(first: 100, after: $after, since: $since, path: $path) {
            nodes { oid committedDate }
            pageInfo { hasNextPage endCursor }
          }
        }
      }
    }
  }
}`

// countHistory pages a recorded repository's history over HTTP and
// returns the number of commits.
func countHistory(t *testing.T, s *githubtest.Server, vars map[string]any) int {
	t.Helper()

	n := 0
	for {
		a := graphql(t, s.GraphQLURL(), recordedHistoryQuery, vars)
		if a.status != http.StatusOK || a.body["errors"] != nil {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		h := get(t, a.body, "data", "repository", "defaultBranchRef", "target", "history")
		n += len(list(t, h, "nodes"))
		if get(t, h, "pageInfo", "hasNextPage") != true {
			return n
		}
		vars["after"] = str(t, h, "pageInfo", "endCursor")
	}
}

// TestRecordingsServed loads the recordings into the fake and pages
// through them over HTTP.
func TestRecordingsServed(t *testing.T) {
	dir := dataDir(t)
	var expected struct {
		Repositories map[string]expectedCounts `json:"repositories"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "expected-counts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)

	var repos []*githubtest.Repository
	var recs []*githubtest.Recording
	for _, name := range []string{"rstest-bdd", "ortho-config"} {
		rec, err := githubtest.LoadRecording(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		repo, err := githubtest.FromRecording(rec, rec.ShiftTo(now))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
		repos = append(repos, repo)
	}
	s := githubtest.NewServer(t, githubtest.Options{}, repos...)

	for i, rec := range recs {
		name := rec.Repository.Name
		want := expected.Repositories[name]
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			vars := func() map[string]any {
				return map[string]any{"owner": rec.Repository.Owner, "name": name}
			}
			shift := rec.ShiftTo(now)

			is.Equal(countHistory(t, s, vars()), want.Commits)

			since := vars()
			since["since"] = want.Earliest.Add(shift).Format(time.RFC3339)
			is.Equal(countHistory(t, s, since), want.Commits) // since is inclusive

			docs := vars()
			docs["path"] = "docs/roadmap.md"
			is.Equal(countHistory(t, s, docs), want.DocChangeRows)

			adr := vars()
			adr["path"] = "docs/adr/"
			is.Equal(countHistory(t, s, adr), want.DocChangeRowsByArea["docs/adr/"])

			is.True(repos[i].Commits[0].CommittedDate.Equal(now))
			is.Equal(len(repos[i].PullRequests), want.PullRequestsDerived)
		})
	}
}

func TestFromRecording(t *testing.T) {
	is := is.New(t)
	rec, err := githubtest.LoadRecording(filepath.Join(dataDir(t), "rstest-bdd.json"))
	is.NoErr(err)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	shift := rec.ShiftTo(now)

	repo, err := githubtest.FromRecording(rec, shift)
	is.NoErr(err)

	is.Equal(repo.Owner, "leynos")
	is.Equal(repo.DefaultBranch, "main")
	is.Equal(len(repo.Commits), len(rec.Commits))
	is.True(repo.Commits[0].CommittedDate.Equal(now))

	pr := repo.PullRequest(rec.PullRequests[0].Number)
	is.True(pr != nil)
	is.True(pr.DatabaseID > math.MaxInt32)
	is.True(pr.MergedAt.Equal(rec.PullRequests[0].MergedAt.Add(shift)))
	is.True(pr.CreatedAt.Equal(pr.MergedAt.Add(-time.Hour)))
	is.True(pr.UpdatedAt.Equal(pr.MergedAt))
	is.Equal(pr.BaseRefName, "main")
	is.Equal(*pr.Author, githubtest.Actor{Login: "dependabot", Type: "Bot"})

	kinds := 0
	for _, thread := range rec.Issues {
		if thread.Kind == "issue" {
			kinds++
		}
	}
	is.Equal(len(repo.Issues), kinds)
	issue := repo.Issue(763)
	is.True(issue != nil)
	created := time.Date(2026, 9, 13, 0, 0, 0, 0, time.UTC).Add(shift)
	is.True(issue.CreatedAt.Equal(created)) // midnight UTC, shifted
	is.True(issue.DatabaseID > math.MaxInt32)
	is.Equal(issue.Labels, []string{"refactor", "testing"})
	is.True(repo.Issue(723) == nil) // a pull request thread
}

// TestRecordedIssuesServed reads the recorded issues as GitHub's issues
// connection shows them.
func TestRecordedIssuesServed(t *testing.T) {
	is := is.New(t)
	rec, err := githubtest.LoadRecording(filepath.Join(dataDir(t), "rstest-bdd.json"))
	is.NoErr(err)
	repo, err := githubtest.FromRecording(rec, 0)
	is.NoErr(err)
	s := githubtest.NewServer(t, githubtest.Options{}, repo)

	a := graphql(t, s.GraphQLURL(), `{ repository(owner: "leynos", name: "rstest-bdd") {
	  issues(first: 100, orderBy: {field: UPDATED_AT, direction: DESC}) {
	    totalCount nodes { number createdAt author { __typename login } }
	  }
	  pullRequests(first: 1, orderBy: {field: UPDATED_AT, direction: DESC}) {
	    totalCount nodes { number author { __typename login } }
	  }
	} }`, nil)

	is.Equal(a.body["errors"], nil)
	issues := get(t, a.body, "data", "repository", "issues")
	is.Equal(num(t, issues, "totalCount"), len(repo.Issues))
	is.Equal(num(t, issues, "nodes", 0, "number"), 763)
	is.Equal(str(t, issues, "nodes", 0, "createdAt"), "2026-09-13T00:00:00Z")
	prs := get(t, a.body, "data", "repository", "pullRequests")
	is.Equal(num(t, prs, "totalCount"), 116)
	is.Equal(num(t, prs, "nodes", 0, "number"), rec.PullRequests[0].Number)
	is.Equal(str(t, prs, "nodes", 0, "author", "__typename"), "Bot")
}

package githubtest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
)

// defaultDataDir is where the recorded repositories sit beside a checkout
// of this repository, seen from this package's folder.
const defaultDataDir = "../../../../shared/data/github"

// dataDir returns the folder of recorded GitHub activity, from
// GHILLIE_GITHUB_DATA or the default. Without it the test is skipped,
// except with CI=true, where it fails.
func dataDir(t *testing.T) string {
	t.Helper()

	dir := os.Getenv("GHILLIE_GITHUB_DATA")
	if dir == "" {
		dir = defaultDataDir
	}
	if _, err := os.Stat(filepath.Join(dir, "expected-counts.json")); err != nil {
		msg := "recorded GitHub activity not found in " + dir + ": set GHILLIE_GITHUB_DATA (" + err.Error() + ")"
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

type expectedCounts struct {
	Commits             int            `json:"commits"`
	BotCommits          int            `json:"botCommits"`
	ChoreColonCommits   int            `json:"choreColonCommits"`
	DocCommits          int            `json:"docCommits"`
	DocChangeRows       int            `json:"docChangeRows"`
	DocChangeRowsByArea map[string]int `json:"docChangeRowsByArea"`
	PullRequestsDerived int            `json:"pullRequestsDerived"`
	Earliest            time.Time      `json:"earliestCommittedDate"`
	Latest              time.Time      `json:"latestCommittedDate"`
	Informational       struct {
		CommitsTouchingADRFiles int `json:"commitsTouchingDocsAdrDashFiles"`
		ADRFileRows             int `json:"docsAdrDashFileRows"`
	} `json:"informational"`
}

// TestRecordingsMatchExpectedCounts checks the recordings, and the path
// and noise rules ingestion will apply to them, against the counts that
// the data's authors computed.
func TestRecordingsMatchExpectedCounts(t *testing.T) {
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
	if len(expected.Repositories) == 0 {
		t.Fatal("expected-counts.json lists no repositories")
	}

	for name, want := range expected.Repositories {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			rec, err := githubtest.LoadRecording(filepath.Join(dir, name+".json"))
			is.NoErr(err)
			is.Equal(rec.Repository.Name, name)

			is.Equal(len(rec.Commits), want.Commits)
			is.Equal(len(rec.PullRequests), want.PullRequestsDerived)
			is.True(rec.Commits[len(rec.Commits)-1].CommittedDate.Equal(want.Earliest))
			is.True(rec.Commits[0].CommittedDate.Equal(want.Latest)) // newest first

			bots, chores := 0, 0
			for _, c := range rec.Commits {
				if strings.HasSuffix(c.Author.Name, "[bot]") || strings.HasSuffix(c.Author.Login, "[bot]") {
					bots++
				}
				if strings.HasPrefix(c.MessageHeadline, "chore:") {
					chores++
				}
			}
			is.Equal(bots, want.BotCommits)
			is.Equal(chores, want.ChoreColonCommits)

			docs := docCounts(t, rec, "docs/roadmap.md", "docs/adr/")
			is.Equal(docs.commits, want.DocCommits)
			is.Equal(docs.rows, want.DocChangeRows)
			for area, rows := range want.DocChangeRowsByArea {
				is.Equal(docs.byPath[catalogue.NormalizePath(area)], rows) // rows per documentation path
			}

			adrs := docCounts(t, rec, "docs/adr-*.md")
			is.Equal(adrs.commits, want.Informational.CommitsTouchingADRFiles)
			is.Equal(adrs.files, want.Informational.ADRFileRows)
		})
	}
}

type docCount struct {
	commits, rows, files int
	byPath               map[string]int
}

// docCounts counts, for documentation paths, the commits touching them,
// the (commit, path) rows ingestion writes and the matching files.
func docCounts(t *testing.T, rec *githubtest.Recording, paths ...string) docCount {
	t.Helper()

	matcher, err := ingest.CompileDocPaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	out := docCount{byPath: map[string]int{}}
	for _, c := range rec.Commits {
		matched := map[string]bool{}
		for _, f := range c.Files {
			if p, ok := matcher.Match(f.Path); ok {
				matched[p] = true
				out.files++
			}
		}
		if len(matched) > 0 {
			out.commits++
		}
		for p := range matched {
			out.rows++
			out.byPath[p]++
		}
	}
	return out
}

// TestBotCommitsAreNoise checks that the example catalogue's noise rules,
// given the recorded bots, drop exactly the bot commits.
func TestBotCommitsAreNoise(t *testing.T) {
	dir := dataDir(t)
	filter, err := ingest.CompileNoiseFilter(catalogue.NoiseFilters{
		Enabled:       true,
		Toggles:       catalogue.NoiseFilterToggles{IgnoreAuthors: true},
		IgnoreAuthors: []string{"dependabot[bot]", "lodyai[bot]"},
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"ortho-config", "rstest-bdd"} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			rec, err := githubtest.LoadRecording(filepath.Join(dir, name+".json"))
			is.NoErr(err)

			dropped, bots := 0, 0
			for _, c := range rec.Commits {
				payload := map[string]any{
					"author_name": c.Author.Name, "author_email": c.Author.Email, "message": c.Message(),
				}
				if filter.Drops(payload) {
					dropped++
				}
				if strings.HasSuffix(c.Author.Name, "[bot]") {
					bots++
				}
			}
			is.True(bots > 0)
			is.Equal(dropped, bots)
		})
	}
}

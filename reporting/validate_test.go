package reporting_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/reporting"
)

func codes(issues []gold.ValidationIssue) []string {
	out := []string{}
	for _, i := range issues {
		out = append(out, i.Code)
		if i.Message == "" {
			panic("issue without a message: " + i.Code)
		}
	}
	return out
}

func repoBundle(commits int) *evidence.RepositoryBundle {
	b := &evidence.RepositoryBundle{Repository: evidence.Repository{Owner: "acme", Name: "widget"},
		PullRequests: []evidence.PullRequest{{Number: 42, Title: "Add login"}},
		Issues:       []evidence.Issue{{Number: 10, Title: "Crash"}}}
	for range commits {
		b.Commits = append(b.Commits, evidence.Commit{SHA: "x"})
	}
	return b
}

func withPrevious(b *evidence.RepositoryBundle, risk string) *evidence.RepositoryBundle {
	b.PreviousReports = []evidence.PreviousReport{{Risks: []string{risk}}}
	return b
}

func withCommit(b *evidence.RepositoryBundle, message string) *evidence.RepositoryBundle {
	b.Commits = append(b.Commits, evidence.Commit{SHA: "y", Message: message})
	return b
}

func TestValidateRepository(t *testing.T) {
	highlights := func(n int) []string { return make([]string, n) }
	tests := []struct {
		name    string
		summary gold.MachineSummary
		bundle  *evidence.RepositoryBundle
		want    []string
	}{
		{"valid", gold.MachineSummary{Summary: "acme/widget merged #42 and fixed #10.",
			Highlights: highlights(1)}, repoBundle(3), []string{}},
		{"named by a commit", gold.MachineSummary{Summary: "Merged the config loader (#410)."},
			withCommit(repoBundle(1), "feat: add the config loader (#410)"), []string{}},
		{"named by nothing", gold.MachineSummary{Summary: "Merged the config loader (#411)."},
			withCommit(repoBundle(1), "feat: add the config loader (#410)"), []string{"unknown_reference"}},
		{"empty", gold.MachineSummary{Summary: ""}, repoBundle(3), []string{"empty_summary"}},
		{"blank", gold.MachineSummary{Summary: "   \n  "}, repoBundle(3), []string{"empty_summary"}},
		{"dots", gold.MachineSummary{Summary: "The repository was active and..."}, repoBundle(3),
			[]string{"truncated_summary"}},
		{"ellipsis", gold.MachineSummary{Summary: "Active and…"}, repoBundle(3),
			[]string{"truncated_summary"}},
		{"only dots", gold.MachineSummary{Summary: "..."}, repoBundle(3), []string{"truncated_summary"}},
		{"too many", gold.MachineSummary{Summary: "Busy.", Highlights: highlights(21)},
			&evidence.RepositoryBundle{Commits: []evidence.Commit{{}}}, []string{"implausible_highlights"}},
		{"zero events", gold.MachineSummary{Summary: "Quiet.", Highlights: highlights(6)},
			&evidence.RepositoryBundle{}, []string{"implausible_highlights"}},
		{"five ok", gold.MachineSummary{Summary: "Quiet.", Highlights: highlights(5)},
			&evidence.RepositoryBundle{}, []string{}},
		{"ten events", gold.MachineSummary{Summary: "Busy.", Highlights: highlights(2)}, repoBundle(8),
			[]string{}},
		{"unknown pr", gold.MachineSummary{Summary: "Merged #43.", Risks: []string{"#43 again"}},
			repoBundle(1), []string{"unknown_reference"}},
		{"unknown repo", gold.MachineSummary{Summary: "acme/gadget shipped; CI/CD and docs/a.md fine."},
			repoBundle(1), []string{"unknown_repository"}},
		{"too many commits", gold.MachineSummary{Summary: "acme/widget had 12 commits."},
			repoBundle(3), []string{"count_mismatch"}},
		{"subset", gold.MachineSummary{Summary: "Review 1 open PR.", NextSteps: []string{"Triage 1 open issue"}},
			repoBundle(3), []string{}},
		{"events", gold.MachineSummary{Summary: "acme/widget is on track with 5 events including " +
			"3 commits, 1 pull request, and 1 issue."}, repoBundle(3), []string{}},
		{"url", gold.MachineSummary{Summary: "See https://github.com/acme/secret/pull/5 too."},
			repoBundle(1), []string{"unknown_repository"}},
		{"own url", gold.MachineSummary{Summary: "See https://github.com/acme/widget/pull/42."},
			repoBundle(1), []string{}},
		{"carried over", gold.MachineSummary{Summary: "Quiet week.",
			Risks: []string{"(Ongoing) Issue #13 is still open, 2 bug issues require attention"}},
			withPrevious(repoBundle(1), "#13 crashes on empty walks"), []string{}},
		{"old number", gold.MachineSummary{Summary: "Issue #13 is still open."},
			withPrevious(repoBundle(1), "#13 crashes on empty walks"), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is.New(t).Equal(codes(reporting.ValidateRepository(tt.summary, tt.bundle)), tt.want)
		})
	}
}

func TestValidateProjectAndEstate(t *testing.T) {
	is := is.New(t)
	b := projectBundle()

	ok := reporting.ValidateProject(gold.MachineSummary{Status: gold.StatusAtRisk,
		Summary: "leynos/wildside is on track; leynos/engine has not reported."}, b)
	is.Equal(codes(ok), []string{})

	b.Components[0].RepositorySummary.Status = gold.StatusBlocked
	bad := reporting.ValidateProject(gold.MachineSummary{Status: gold.StatusOnTrack,
		Summary: "All fine, leynos/other too."}, b)
	is.Equal(codes(bad), []string{"unknown_repository", "status_contradiction"})
	is.True(strings.Contains(bad[1].Message, "leynos/wildside"))

	estate := &evidence.EstateBundle{Projects: []evidence.ProjectSummary{
		{ProjectKey: "a", Status: gold.StatusOnTrack}, {ProjectKey: "b", Status: gold.StatusAtRisk}}}
	is.Equal(codes(reporting.ValidateEstate(gold.MachineSummary{Status: gold.StatusOnTrack,
		Summary: "Fine."}, estate)), []string{"status_contradiction"})
	is.Equal(codes(reporting.ValidateEstate(gold.MachineSummary{Status: gold.StatusBlocked,
		Summary: "Blocked."}, estate)), []string{})
	is.Equal(codes(reporting.ValidateEstate(gold.MachineSummary{Status: gold.StatusUnknown,
		Summary: "Unclear."}, estate)), []string{})
}

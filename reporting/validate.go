package reporting

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
)

// Validation issue codes.
const (
	IssueEmptySummary          = "empty_summary"
	IssueTruncatedSummary      = "truncated_summary"
	IssueImplausibleHighlights = "implausible_highlights"
	IssueUnknownReference      = "unknown_reference"
	IssueUnknownRepository     = "unknown_repository"
	IssueCountMismatch         = "count_mismatch"
	IssueStatusContradiction   = "status_contradiction"
)

// highlightRatio is how many highlights per event a report may have
// before they are implausible.
const highlightRatio = 5

var (
	numberRef = regexp.MustCompile(`#(\d+)\b`)
	pathRef   = regexp.MustCompile(`[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+`)
	countRef  = regexp.MustCompile(`(?i)\b(\d+)\s+(?:[a-z-]+\s+)?` +
		`(commits?|pull requests?|prs?|issues?|events?)\b`)
)

// texts returns every text of a summary.
func texts(ms gold.MachineSummary) []string {
	out := []string{ms.Summary}
	out = append(out, ms.Highlights...)
	out = append(out, ms.Risks...)
	return append(out, ms.NextSteps...)
}

// current returns the texts of a summary that describe its own window:
// an item marked "(Ongoing)" carries a risk over from an earlier report,
// whose counts were checked against that report's evidence.
func current(ms gold.MachineSummary) []string {
	var out []string
	for _, t := range texts(ms) {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "(ongoing)") {
			out = append(out, t)
		}
	}
	return out
}

// basic checks what every scope must satisfy: a summary that is there
// and not cut off, and highlights in proportion to the evidence.
func basic(ms gold.MachineSummary, items int) []gold.ValidationIssue {
	var issues []gold.ValidationIssue
	if strings.TrimSpace(ms.Summary) == "" {
		issues = append(issues, gold.ValidationIssue{Code: IssueEmptySummary,
			Message: "Summary is empty or contains only whitespace."})
	}
	trimmed := strings.TrimRight(ms.Summary, " \t\r\n")
	if strings.HasSuffix(trimmed, "...") || strings.HasSuffix(trimmed, "…") {
		issues = append(issues, gold.ValidationIssue{Code: IssueTruncatedSummary,
			Message: "Summary appears truncated (trailing ellipsis)."})
	}
	if len(ms.Highlights) > highlightRatio*max(items, 1) {
		issues = append(issues, gold.ValidationIssue{Code: IssueImplausibleHighlights,
			Message: fmt.Sprintf("Highlight count (%d) is implausibly high relative to event count (%d).",
				len(ms.Highlights), items)})
	}
	return issues
}

// unknownRepositories reports owner/name mentions whose owner owns a
// repository of the evidence but which name none of them. Other text with
// a slash, such as "CI/CD" or a file path, is left alone.
func unknownRepositories(ms gold.MachineSummary, known []string) []gold.ValidationIssue {
	owners := map[string]bool{}
	slugs := map[string]bool{}
	for _, s := range known {
		owner, _, _ := strings.Cut(s, "/")
		owners[strings.ToLower(owner)] = true
		slugs[strings.ToLower(s)] = true
	}

	// Every pair of neighbouring segments of a path-like word is a
	// candidate, so a URL such as github.com/owner/name is checked too.
	var issues []gold.ValidationIssue
	reported := map[string]bool{}
	for _, text := range texts(ms) {
		for _, word := range pathRef.FindAllString(text, -1) {
			segs := strings.Split(word, "/")
			for i := 0; i+1 < len(segs); i++ {
				owner, name := segs[i], strings.TrimRight(segs[i+1], ".")
				slug := strings.ToLower(owner + "/" + name)
				if name == "" || !owners[strings.ToLower(owner)] || slugs[slug] || reported[slug] {
					continue
				}
				reported[slug] = true
				issues = append(issues, gold.ValidationIssue{Code: IssueUnknownRepository,
					Message: fmt.Sprintf("The report names repository %s/%s, which is not in its evidence.",
						owner, name)})
			}
		}
	}
	return issues
}

// ValidateRepository checks a repository summary against its bundle:
// the basic checks, pull request and issue numbers that the bundle has or
// names,
// repositories it names, and counts of commits, pull requests, issues or
// events no larger than the bundle's.
func ValidateRepository(ms gold.MachineSummary, b *evidence.RepositoryBundle) []gold.ValidationIssue {
	issues := basic(ms, b.TotalEvents())

	// Known numbers are those of the window's pull requests and issues and
	// those that its commit messages and titles name, such as a squash
	// merge's "(#410)" for a pull request of an earlier window. Numbers
	// that earlier reports named count too, because a summary may carry
	// them over.
	numbers := map[int]bool{}
	named := func(text string) {
		for _, m := range numberRef.FindAllStringSubmatch(text, -1) {
			if n, err := strconv.Atoi(m[1]); err == nil {
				numbers[n] = true
			}
		}
	}
	for _, p := range b.PullRequests {
		numbers[p.Number] = true
		named(p.Title)
	}
	for _, i := range b.Issues {
		numbers[i.Number] = true
		named(i.Title)
	}
	for _, c := range b.Commits {
		named(c.Message)
	}
	for _, prev := range b.PreviousReports {
		for _, text := range append(slices.Clone(prev.Highlights), prev.Risks...) {
			named(text)
		}
	}
	reported := map[int]bool{}
	for _, text := range texts(ms) {
		for _, m := range numberRef.FindAllStringSubmatch(text, -1) {
			n, err := strconv.Atoi(m[1])
			if err != nil || numbers[n] || reported[n] {
				continue
			}
			reported[n] = true
			issues = append(issues, gold.ValidationIssue{Code: IssueUnknownReference,
				Message: fmt.Sprintf("The report names #%d, which is not a pull request or issue in its evidence.", n)})
		}
	}

	issues = append(issues, unknownRepositories(ms, []string{b.Repository.Slug()})...)
	return append(issues, counts(ms, map[string]int{
		"commit": len(b.Commits), "pull request": len(b.PullRequests), "pr": len(b.PullRequests),
		"issue": len(b.Issues), "event": b.TotalEvents(),
	})...)
}

// counts reports a number of commits, pull requests, issues or events
// larger than the evidence holds. A smaller one may count a subset, such
// as the open pull requests.
func counts(ms gold.MachineSummary, totals map[string]int) []gold.ValidationIssue {
	var issues []gold.ValidationIssue
	for _, text := range current(ms) {
		for _, m := range countRef.FindAllStringSubmatch(text, -1) {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				continue
			}
			kind := strings.TrimSuffix(strings.ToLower(m[2]), "s")
			if total, ok := totals[kind]; ok && n > total {
				issues = append(issues, gold.ValidationIssue{Code: IssueCountMismatch,
					Message: fmt.Sprintf("The report counts %d %s, but its evidence has %d.", n, m[2], total)})
			}
		}
	}
	return issues
}

// severity orders statuses by concern; unknown has none.
func severity(s gold.Status) int {
	return map[gold.Status]int{gold.StatusOnTrack: 1, gold.StatusAtRisk: 2, gold.StatusBlocked: 3}[s]
}

// contradiction reports a status better than the worst status of the
// reports it summarises: an on-track project with a blocked repository.
func contradiction(status gold.Status, parts map[string]gold.Status, kind string) []gold.ValidationIssue {
	if severity(status) == 0 {
		return nil
	}
	names := make([]string, 0, len(parts))
	for name := range parts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if severity(parts[name]) > severity(status) {
			return []gold.ValidationIssue{{Code: IssueStatusContradiction,
				Message: fmt.Sprintf("The report's status is %s, but the %s report of %s is %s.",
					status, kind, name, parts[name])}}
		}
	}
	return nil
}

// ValidateProject checks a project summary against its bundle: the
// basic checks, repositories it names, and a status no better than any
// component's latest repository report.
func ValidateProject(ms gold.MachineSummary, b *evidence.ProjectBundle) []gold.ValidationIssue {
	issues := basic(ms, len(b.Components))

	var slugs []string
	parts := map[string]gold.Status{}
	for _, c := range b.Components {
		if c.RepositorySlug != "" {
			slugs = append(slugs, c.RepositorySlug)
		}
		if c.RepositorySummary != nil {
			parts[c.RepositorySlug] = c.RepositorySummary.Status
		}
	}
	issues = append(issues, unknownRepositories(ms, slugs)...)
	return append(issues, contradiction(ms.Status, parts, "repository")...)
}

// ValidateEstate checks an estate summary against its bundle: the basic
// checks and a status no better than any project's latest report.
func ValidateEstate(ms gold.MachineSummary, b *evidence.EstateBundle) []gold.ValidationIssue {
	issues := basic(ms, len(b.Projects))

	parts := map[string]gold.Status{}
	for _, p := range b.Projects {
		parts[p.ProjectKey] = p.Status
	}
	return append(issues, contradiction(ms.Status, parts, "project")...)
}

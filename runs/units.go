package runs

import (
	"fmt"
	"strings"

	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/reporting"
)

// The units below are built the same way by the background workers and
// by the command line's local runs, so that a run prints the same words
// whichever of them carried it out.

// DetailNoEvents is the detail of a repository report skipped because
// its window holds no new events.
const DetailNoEvents = "no events in the window"

// Ingested returns the succeeded unit of a repository's ingestion, with
// its counts as detail, such as "12 commits, 3 pull requests, 2 issues,
// 1 documentation change; 2 GitHub requests, 2 points". Duplicates,
// dropped events and a backlog left for the next run are added when
// there are any.
func Ingested(slug string, res ingest.Result) Unit {
	var duplicates, dropped int
	backlog := false
	for _, s := range res.Streams {
		duplicates += s.Duplicates
		dropped += s.Dropped
		backlog = backlog || s.Truncated
	}

	parts := []string{
		count(res.Streams[ingest.KindCommit].Ingested, "commit", "commits") + ", " +
			count(res.Streams[ingest.KindPullRequest].Ingested, "pull request", "pull requests") + ", " +
			count(res.Streams[ingest.KindIssue].Ingested, "issue", "issues") + ", " +
			count(res.Streams[ingest.KindDocChange].Ingested, "documentation change",
				"documentation changes"),
	}
	if duplicates > 0 || dropped > 0 {
		parts = append(parts, count(duplicates, "duplicate", "duplicates")+", "+
			fmt.Sprintf("%d dropped", dropped))
	}
	parts = append(parts, count(res.Requests, "GitHub request", "GitHub requests")+", "+
		count(res.Points, "point", "points"))
	if backlog {
		parts = append(parts, "backlog left")
	}
	return Unit{Name: slug, State: UnitSucceeded, Detail: strings.Join(parts, "; ")}
}

// Reported returns the unit of a report that the reporting service
// returned without an error: skipped with DetailNoEvents, or succeeded
// with the report's id and status. A report that another run stored
// first for the same window is marked existing.
func Reported(name string, out reporting.Outcome) Unit {
	if out.Report == nil {
		return Unit{Name: name, State: UnitSkipped, Detail: DetailNoEvents}
	}
	detail := fmt.Sprintf("report %s, status %s", out.Report.ID, out.Report.Summary.Status)
	if !out.Created {
		detail = "existing " + detail
	}
	return Unit{Name: name, State: UnitSucceeded, Detail: detail}
}

// RolledUp returns the roll-up unit of an estate report run from the
// outcomes of its project and estate reports, which all succeeded:
// skipped when none was written, as when no repository report is newer
// than the estate's latest report.
func RolledUp(outcomes []reporting.Outcome) Unit {
	written := 0
	for _, o := range outcomes {
		if o.Report != nil {
			written++
		}
	}
	if written == 0 {
		return Unit{Name: RollupUnit, State: UnitSkipped,
			Detail: "no repository report since the estate's latest report"}
	}
	return Unit{Name: RollupUnit, State: UnitSucceeded,
		Detail: count(written, "project and estate report", "project and estate reports")}
}

// RollupNotRun returns the failed roll-up unit of an estate report run
// whose repository reports failed: a roll-up of partial evidence would
// stand for its window for good, so none is written.
func RollupNotRun(failedReports int) Unit {
	return Unit{Name: RollupUnit, State: UnitFailed,
		Detail: fmt.Sprintf("project and estate reports %s: %d repository reports failed",
			reporting.ErrNotRun, failedReports)}
}

// Failed returns the failed unit with the error as its detail.
func Failed(name string, err error) Unit {
	return Unit{Name: name, State: UnitFailed, Detail: err.Error()}
}

// count writes n with the singular or plural noun.
func count(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %s", n, plural)
}

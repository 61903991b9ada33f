package cli

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/metrics"
)

func (a *app) metricsRequiredCommand() *cobra.Command {
	var (
		sf scopeFlags
		wf windowFlags
	)

	cmd := &cobra.Command{
		Use:   "required",
		Short: "Show the delivery metrics of a repository or an estate for a window",
		Long: "Count the pull requests merged and closed without merge in the window, their\n" +
			"mean time to merge, the issues resolved in the window and those still open at\n" +
			"its end, how long the resolved issues were open (mean and median) and how old\n" +
			"the open ones were at the end (mean and maximum). The window is [start, end):\n" +
			"an event exactly at its start counts and one exactly at its end does not.\n\n" +
			"--scope estate lists every repository of the estate and the estate's totals.",
		Example: "  ghillie metrics required --scope repository --owner leynos --name wildside\n" +
			"  ghillie metrics required --scope estate --estate-key wildside --window-days 28",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if err := sf.checkRepositoryOrEstate(); err != nil {
				return err
			}
			start, end, err := wf.window(cmd, time.Now())
			if err != nil {
				return err
			}

			repo, estate, err := a.requiredMetrics(ctx, sf, start, end)
			if err != nil {
				return err
			}

			t := table{header: []string{"REPOSITORY", "PRS MERGED", "PRS CLOSED UNMERGED",
				"MEAN TIME TO MERGE", "ISSUES RESOLVED", "ISSUES OUTSTANDING", "MEAN TIME OPEN",
				"MEDIAN TIME OPEN", "MEAN AGE OPEN", "MAX AGE OPEN"}}
			if estate == nil {
				t.rows = append(t.rows, requiredRow(repo.Repository, repo.Metrics))
				return a.render(repo, t)
			}
			for _, r := range estate.Repositories {
				t.rows = append(t.rows, requiredRow(r.Repository, r.Metrics))
			}
			t.rows = append(t.rows, requiredRow("total", estate.Totals))
			return a.render(estate, t)
		},
	}
	sf.addRepositoryOrEstate(cmd, "what to measure")
	wf.add(cmd)
	return cmd
}

// requiredRow is the table row of one repository's metrics.
func requiredRow(name string, m metrics.Required) []string {
	return []string{name, strconv.Itoa(m.PullRequestsMerged),
		strconv.Itoa(m.PullRequestsClosedUnmerged), duration(m.MeanTimeToMergeSeconds),
		strconv.Itoa(m.IssuesResolved), strconv.Itoa(m.IssuesOutstanding),
		duration(m.ResolvedIssueOpenSeconds.Mean), duration(m.ResolvedIssueOpenSeconds.Median),
		duration(m.OutstandingIssueAgeSeconds.Mean), duration(m.OutstandingIssueAgeSeconds.Max)}
}

// duration formats seconds as a Go duration rounded to the second, or
// "-" for none.
func duration(seconds *float64) string {
	if seconds == nil {
		return "-"
	}
	return (time.Duration(*seconds * float64(time.Second))).Round(time.Second).String()
}

// requiredMetrics returns the metrics of the repository, or of the
// estate when estate is not nil, from the API or the database.
func (a *app) requiredMetrics(ctx context.Context, sf scopeFlags, start,
	end time.Time) (repo *metrics.RepositoryMetrics, estate *metrics.EstateMetrics, err error) {
	if a.remote() {
		q := url.Values{"window_start": {start.Format(time.RFC3339Nano)},
			"window_end": {end.Format(time.RFC3339Nano)}}
		if sf.scope == "estate" {
			estate = &metrics.EstateMetrics{}
			err = a.api.getJSON(ctx, pathEscape("/estates/%s/metrics/required", sf.estateKey), q,
				estate)
			return nil, estate, err
		}
		repo = &metrics.RepositoryMetrics{}
		err = a.api.getJSON(ctx, pathEscape("/metrics/repositories/%s/%s/required", sf.owner,
			sf.name), q, repo)
		return repo, nil, err
	}

	db, err := a.openDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	sub, err := a.resolveSubject(ctx, db, sf)
	if err != nil {
		return nil, nil, err
	}
	if sub.isEstate() {
		m, err := metrics.ForEstate(ctx, db, sub.estateID, start, end)
		return nil, &m, err
	}
	m, err := metrics.ForRepository(ctx, db, sub.repository.ID, start, end)
	return &m, nil, err
}

package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/runs"
)

// remoteReportRun queues a report run on the server. The server's runs
// cover a repository or a whole estate, start where each subject's last
// report ended, end at as_of or now, and write to the server's sink, so
// the flags that choose otherwise are rejected. --window-days, when set,
// is sent as window_days.
func (a *app) remoteReportRun(cmd *cobra.Command, sf scopeFlags, asOf string, windowDays int,
	wf *waitFlags) error {
	if sf.scope == "project" {
		return usageError{fmt.Errorf("report run --scope project does not work against the API "+
			"at %s: the server reports on a repository or a whole estate, which includes its "+
			"projects; run it with --database-url where the database is", a.api.base)}
	}
	for _, flag := range []struct{ name, reason string }{
		{"window-start", "the server's runs start where each subject's last report ended, " +
			"so that no two reports overlap; use --as-of, and --window-days for a first window"},
		{"window-end", "the server's runs end at --as-of or now; use --as-of"},
		{"sink-path", "the server writes Markdown only below its own " +
			"GHILLIE_REPORT_SINK_PATH, and a client may not choose a folder on its disk"},
		{"estate-only", "the server's estate runs write every report of the estate from its " +
			"repositories up; run it with --database-url where the database is"},
	} {
		if err := a.localOnly(cmd, flag.name, flag.reason); err != nil {
			return err
		}
	}

	q := runQuery(sf.scope, sf.owner, sf.name, sf.estateKey)
	if asOf != "" {
		q.Set("as_of", asOf)
	}
	if cmd.Flags().Changed("window-days") {
		q.Set("window_days", strconv.Itoa(windowDays))
	}
	return a.startRemoteRun(cmd, runs.KindReport, q, wf)
}

// latestReportPath returns the API path of the subject's latest report.
func latestReportPath(sf scopeFlags) string {
	switch sf.scope {
	case "repository":
		return pathEscape("/repositories/%s/%s/reports/latest", sf.owner, sf.name)
	case "project":
		return pathEscape("/estates/%s/projects/%s/reports/latest", sf.estateKey, sf.projectKey)
	}
	return pathEscape("/estates/%s/reports/latest", sf.estateKey)
}

// remoteShownReport reads the subject's latest report and its Markdown
// from the API.
func (a *app) remoteShownReport(ctx context.Context, sf scopeFlags) (shownReport, error) {
	path := latestReportPath(sf)

	var body httpapi.ReportBody
	if a.output != "table" {
		if err := a.api.getJSON(ctx, path, nil, &body); err != nil {
			return shownReport{}, err
		}
	}

	var markdown []byte
	err := a.api.do(ctx, request{method: http.MethodGet, path: path, accept: "text/markdown"},
		func(resp *http.Response) error {
			var err error
			markdown, err = io.ReadAll(resp.Body)
			return err
		})
	if err != nil {
		return shownReport{}, err
	}

	// NOTE: a report stored between the two requests would pair this
	// JSON with the newer report's Markdown; the window is milliseconds.
	return shownReport{Scope: sf.scope, ReportID: body.ReportID, WindowStart: body.WindowStart,
		WindowEnd: body.WindowEnd, GeneratedAt: body.GeneratedAt, Model: body.Model,
		Summary: gold.MachineSummary{Summary: body.Summary, Status: gold.Status(body.Status),
			Highlights: body.Highlights, Risks: body.Risks, NextSteps: body.NextSteps},
		Markdown: string(markdown)}, nil
}

// remoteReviews lists review markers through the API.
func (a *app) remoteReviews(ctx context.Context, state, scope string) error {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	var body struct {
		Reviews []reviewRow `json:"reviews"`
	}
	if err := a.api.getJSON(ctx, "/reports/reviews", q, &body); err != nil {
		return err
	}
	return a.renderReviewRows(body.Reviews)
}

// remoteResolve resolves a review marker through the API.
func (a *app) remoteResolve(ctx context.Context, id, note string) error {
	var row reviewRow
	err := a.api.sendJSON(ctx, http.MethodPost, pathEscape("/reports/reviews/%s/resolve", id), nil,
		map[string]string{"note": note}, &row)
	if err != nil {
		return err
	}
	return a.renderReviewRows([]reviewRow{row})
}

package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

func (a *app) reportCommand() *cobra.Command {
	return group("report", "Write, show and review status reports",
		a.reportRunCommand(), a.reportShowCommand(), a.reportReviewsCommand(),
		a.runStatusCommand(runs.KindReport))
}

// scopeFlags select a report subject on the command line.
type scopeFlags struct {
	scope, owner, name, estateKey, projectKey string
}

func (f *scopeFlags) add(cmd *cobra.Command) {
	flags := cmd.Flags()
	flags.StringVar(&f.scope, "scope", "", "what to report on: repository, project or estate")
	flags.StringVar(&f.owner, "owner", "", "repository owner (with --scope repository)")
	flags.StringVar(&f.name, "name", "", "repository name (with --scope repository)")
	flags.StringVar(&f.estateKey, "estate-key", "", "estate key (with --scope project or estate)")
	flags.StringVar(&f.projectKey, "project-key", "", "project key (with --scope project)")
}

func (f *scopeFlags) check() error {
	switch f.scope {
	case "repository":
		if f.owner == "" || f.name == "" {
			return usageError{errors.New("--scope repository needs --owner and --name")}
		}
		if f.estateKey != "" || f.projectKey != "" {
			return usageError{errors.New("--estate-key and --project-key go with --scope project or estate")}
		}
	case "project":
		if f.estateKey == "" || f.projectKey == "" {
			return usageError{errors.New("--scope project needs --estate-key and --project-key")}
		}
	case "estate":
		if f.estateKey == "" {
			return usageError{errors.New("--scope estate needs --estate-key")}
		}
		if f.projectKey != "" {
			return usageError{errors.New("--project-key goes with --scope project")}
		}
	case "":
		return usageError{errors.New("--scope is required: repository, project or estate")}
	default:
		return usageError{fmt.Errorf("invalid --scope %q: use repository, project or estate", f.scope)}
	}
	if f.scope != "repository" && (f.owner != "" || f.name != "") {
		return usageError{errors.New("--owner and --name go with --scope repository")}
	}
	return checkNames(f.owner, f.name, map[string]string{"estate-key": f.estateKey,
		"project-key": f.projectKey})
}

// estateID returns the id of the estate with the key.
func estateID(ctx context.Context, db *store.DB, key string) (string, error) {
	var id string
	cat := db.Catalogue()
	err := cat.GetContext(ctx, &id, cat.Rebind(`SELECT id FROM estates WHERE key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("estate %q not found: import its catalogue with 'ghillie estate import' "+
			"or check the key", key)
	}
	if err != nil {
		return "", fmt.Errorf("look up estate %q: %w", key, store.Classify(err))
	}
	return id, nil
}

// parseTime reads a flag's RFC 3339 time, which must carry an offset.
func parseTime(flag, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("invalid %s %q: use RFC 3339 with an offset, "+
			"such as 2024-07-14T00:00:00Z", flag, value)}
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, usageError{fmt.Errorf("invalid %s %q: use a time from %d to %d",
			flag, value, minTime.Year(), maxTime.Year()-1)}
	}
	return t, nil
}

// The times that flags and query parameters accept. GitHub activity
// starts after 1970, and the end keeps every window's length inside
// time.Duration, which overflows after 292 years.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// outcomeRow is the JSON and YAML form of one report run.
type outcomeRow struct {
	Scope       string    `json:"scope" yaml:"scope"`
	Subject     string    `json:"subject" yaml:"subject"`
	WindowStart time.Time `json:"window_start" yaml:"window_start"`
	WindowEnd   time.Time `json:"window_end" yaml:"window_end"`
	Outcome     string    `json:"outcome" yaml:"outcome"`
	ReportID    string    `json:"report_id,omitempty" yaml:"report_id,omitempty"`
	Status      string    `json:"status,omitempty" yaml:"status,omitempty"`
	Summary     string    `json:"summary,omitempty" yaml:"summary,omitempty"`
	Model       string    `json:"model,omitempty" yaml:"model,omitempty"`
	LatencyMS   *int      `json:"latency_ms,omitempty" yaml:"latency_ms,omitempty"`
	TotalTokens *int      `json:"total_tokens,omitempty" yaml:"total_tokens,omitempty"`
	Error       string    `json:"error,omitempty" yaml:"error,omitempty"`
}

func newOutcomeRow(o reporting.Outcome) outcomeRow {
	row := outcomeRow{Scope: string(o.Scope), Subject: o.Subject, WindowStart: o.WindowStart,
		WindowEnd: o.WindowEnd, Outcome: "skipped, no events"}
	if o.Scope != gold.ScopeRepository {
		row.Outcome = "skipped, no new repository report"
	}
	if o.Report != nil {
		row.Outcome = "created"
		if !o.Created {
			row.Outcome = "existing"
		}
		row.ReportID, row.Status = o.Report.ID, string(o.Report.Summary.Status)
		row.Summary, row.Model = o.Report.Summary.Summary, o.Report.Model
		row.LatencyMS, row.TotalTokens = o.Report.LatencyMS, o.Report.TotalTokens
	}
	switch {
	case errors.Is(o.Err, reporting.ErrNotRun):
		row.Outcome, row.Error = "not run", o.Err.Error()
	case o.Err != nil:
		row.Outcome, row.Error = "failed", o.Err.Error()
	}
	return row
}

func (a *app) reportRunCommand() *cobra.Command {
	var (
		sf               scopeFlags
		asOf, start, end string
		windowDays       int
		sinkPath         string
		estateOnly       bool
		wf               waitFlags
	)

	cmd := &cobra.Command{
		Use:   "run",
		Short: "Write a status report for a repository, project or estate",
		Long: "Build the evidence of a reporting window, request a summary from the status\n" +
			"model, check it against the evidence and store it. The window runs from where\n" +
			"the subject's last report ended (or --window-days before, for a first report)\n" +
			"to --as-of, or now; --window-start and --window-end choose one explicitly.\n" +
			"A repository window without events is skipped.\n\n" +
			"--scope estate writes every report of the estate from the bottom up: each\n" +
			"repository with ingestion enabled, each project, then the estate itself;\n" +
			"--estate-only writes only the estate's roll-up of its latest project reports.\n\n" +
			"GHILLIE_STATUS_MODEL_BACKEND selects the model (mock or openai, with the\n" +
			"GHILLIE_OPENAI_* variables). GHILLIE_REPORT_SINK_PATH, or --sink-path, writes\n" +
			"each report as Markdown below that folder. The run is recorded and printed\n" +
			"with one unit per report, as 'ghillie report status' prints it later.\n\n" +
			"With --api-base-url the server's workers run it for a repository or an estate,\n" +
			"with --as-of and --window-days; --window-start, --window-end, --sink-path and\n" +
			"--estate-only work only locally. Either way a window that is reported already\n" +
			"gives that report again, as an existing report.\n\n" +
			"The exit status is 3 when any report failed and others were written or\n" +
			"skipped, and 1 when the run failed as a whole; a report that failed\n" +
			"validation is marked for review.",
		Example: "  ghillie report run --scope repository --owner leynos --name wildside\n" +
			"  ghillie report run --scope estate --estate-key wildside --as-of 2024-07-14T00:00:00Z",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if err := sf.check(); err != nil {
				return err
			}
			var opts reporting.RunOptions
			var err error
			if opts.AsOf, err = parseTime("--as-of", asOf); err != nil {
				return err
			}
			if opts.Start, err = parseTime("--window-start", start); err != nil {
				return err
			}
			if opts.End, err = parseTime("--window-end", end); err != nil {
				return err
			}
			if (start == "") != (end == "") {
				return usageError{errors.New("--window-start and --window-end go together")}
			}
			if start != "" && !opts.End.After(opts.Start) {
				return usageError{fmt.Errorf("--window-end %s must be after --window-start %s", end, start)}
			}
			if start != "" && asOf != "" {
				return usageError{errors.New("--as-of and --window-start/--window-end exclude each other")}
			}
			// The server rejects a future --as-of too; checking it here
			// gives both modes the same error and exit status.
			if asOf != "" && opts.AsOf.After(time.Now().Add(reporting.MaxClockSkew)) {
				return usageError{fmt.Errorf("invalid --as-of %s: it is in the future; "+
					"choose a time that has passed, or leave it out for now", asOf)}
			}
			if estateOnly && sf.scope != "estate" {
				return usageError{errors.New("--estate-only goes with --scope estate")}
			}
			if cmd.Flags().Changed("window-days") {
				if windowDays < 1 || windowDays > reporting.MaxWindowDays {
					return usageError{fmt.Errorf("invalid --window-days %d: use 1 to %d", windowDays,
						reporting.MaxWindowDays)}
				}
				opts.WindowDays = windowDays
			}
			if a.remote() {
				return a.remoteReportRun(cmd, sf, asOf, windowDays, &wf)
			}
			if err := wf.checkLocal(cmd); err != nil {
				return err
			}

			cfg, err := reporting.ConfigFromEnv(a.env)
			if err != nil {
				return usageError{err}
			}
			if sinkPath != "" {
				cfg.SinkPath = sinkPath
			}
			model, err := status.FromEnv(a.env)
			if err != nil {
				return err
			}

			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			svc, err := reporting.NewService(db, model, cfg, reporting.WithLogger(a.logger))
			if err != nil {
				return err
			}

			run, err := a.runReports(ctx, db, svc, sf, opts, estateOnly)
			if err != nil {
				return err
			}
			return a.finishRun(run)
		},
	}

	sf.add(cmd)
	flags := cmd.Flags()
	flags.StringVar(&asOf, "as-of", "", "end the window at this time (RFC 3339), instead of now")
	flags.StringVar(&start, "window-start", "", "start of an explicit window (RFC 3339)")
	flags.StringVar(&end, "window-end", "", "end of an explicit window (RFC 3339)")
	flags.IntVar(&windowDays, "window-days", 0,
		"length in days of a first window, 1 to 3650 (env GHILLIE_REPORTING_WINDOW_DAYS, "+
			"default 7)")
	flags.StringVar(&sinkPath, "sink-path", "",
		"write Markdown below this folder (env GHILLIE_REPORT_SINK_PATH)")
	flags.BoolVar(&estateOnly, "estate-only", false,
		"with --scope estate, write only the estate's report, not its repositories' and projects'")
	wf.add(cmd)
	return cmd
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// windowText writes a window as "START to END" in days, or "-" for a
// roll-up skipped before its window was chosen.
func windowText(start, end time.Time) string {
	if start.IsZero() && end.IsZero() {
		return "-"
	}
	return day(start) + " to " + day(end)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runReports writes the reports the flags select as a run with one unit
// per report, and for a whole estate one unit per repository and the
// roll-up unit of its project and estate reports, as the workers do.
// Errors before the run starts, such as an unknown subject, are returned
// without a run.
func (a *app) runReports(ctx context.Context, db *store.DB, svc *reporting.Service, sf scopeFlags,
	opts reporting.RunOptions, estateOnly bool) (runs.Run, error) {
	if sf.scope == "repository" {
		repo, err := registry.NewService(db, a.logger).Get(ctx, sf.owner, sf.name)
		if err != nil {
			return runs.Run{}, err
		}
		return runOneReport(ctx, db, runs.ScopeRepository, repo.Slug(), repo.Slug(),
			func() (reporting.Outcome, error) { return svc.RunRepository(ctx, repo.ID, opts) })
	}

	estate, err := estateID(ctx, db, sf.estateKey)
	if err != nil {
		return runs.Run{}, err
	}
	switch {
	case sf.scope == "project":
		if err := checkProject(ctx, db, estate, sf); err != nil {
			return runs.Run{}, err
		}
		return runOneReport(ctx, db, runs.ScopeProject, sf.estateKey+"/"+sf.projectKey,
			sf.projectKey, func() (reporting.Outcome, error) {
				return svc.RunProject(ctx, estate, sf.projectKey, opts)
			})
	case estateOnly:
		return runOneReport(ctx, db, runs.ScopeEstate, sf.estateKey, sf.estateKey,
			func() (reporting.Outcome, error) { return svc.RunEstate(ctx, estate, opts) })
	}
	return runEstateReports(ctx, db, svc, estate, sf.estateKey, opts)
}

// runOneReport records a run of one report, whose unit is named unit.
func runOneReport(ctx context.Context, db *store.DB, scope runs.Scope, subject, unit string,
	report func() (reporting.Outcome, error)) (runs.Run, error) {
	lr, err := startLocalRun(ctx, db, runs.KindReport, scope, subject, 1)
	if err != nil {
		return runs.Run{}, err
	}
	defer lr.close()

	out, err := report()
	u := runs.Reported(unit, out)
	if err != nil {
		u = runs.Failed(unit, err)
	}
	if err := lr.finish(ctx, u); err != nil {
		return runs.Run{}, err
	}
	return lr.get(ctx)
}

// runEstateReports records a run of every report of an estate: its
// repositories' reports, then, when none failed, its project and estate
// reports as the roll-up unit.
func runEstateReports(ctx context.Context, db *store.DB, svc *reporting.Service, estate, key string,
	opts reporting.RunOptions) (runs.Run, error) {
	if opts.AsOf.IsZero() && opts.Start.IsZero() {
		opts.AsOf = time.Now() // one end for every report of the run
	}
	lr, err := startLocalRun(ctx, db, runs.KindReport, runs.ScopeEstate, key, -1)
	if err != nil {
		return runs.Run{}, err
	}
	defer lr.close()

	outcomes, err := svc.RunEstateRepositories(ctx, estate, opts)
	if err != nil && len(outcomes) == 0 {
		// The repositories could not be listed, so the run has no plan.
		if ferr := lr.fail(ctx, err); ferr != nil {
			return runs.Run{}, errors.Join(err, ferr)
		}
		return lr.get(ctx)
	}
	if err := lr.plan(ctx, len(outcomes)+1); err != nil {
		return runs.Run{}, err
	}

	invalid := 0
	for _, o := range outcomes {
		if errors.Is(o.Err, reporting.ErrWindow) {
			invalid++
		}
	}

	failed := 0
	for _, o := range outcomes {
		u := runs.Reported(o.Subject, o)
		switch {
		case errors.Is(o.Err, reporting.ErrWindow) && invalid < len(outcomes):
			// The workers skip such a repository before they queue its
			// report, and so does this run, unless no repository has a
			// window to report: then --as-of is wrong, not the repository.
			u = runs.Unit{Name: o.Subject, State: runs.UnitSkipped, Detail: o.Err.Error()}
		case o.Err != nil:
			failed++
			u = runs.Failed(o.Subject, o.Err)
		}
		if err := lr.finish(ctx, u); err != nil {
			return runs.Run{}, err
		}
	}

	rollup := runs.RollupNotRun(failed)
	if failed == 0 {
		rollups, err := svc.RunEstateRollups(ctx, estate, opts)
		rollup = runs.RolledUp(rollups)
		if err != nil {
			rollup = runs.Failed(runs.RollupUnit, err)
		}
	}
	if err := lr.finish(ctx, rollup); err != nil {
		return runs.Run{}, err
	}
	return lr.get(ctx)
}

// checkProject returns an error naming the fix when the estate has no
// project with the key of sf.
func checkProject(ctx context.Context, db *store.DB, estate string, sf scopeFlags) error {
	known, err := catalogue.HasProject(ctx, db, estate, sf.projectKey)
	if err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("project %q not found in estate %q: check the key", sf.projectKey,
			sf.estateKey)
	}
	return nil
}

func (a *app) reportShowCommand() *cobra.Command {
	var sf scopeFlags

	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the latest report of a repository, project or estate as Markdown",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := sf.check(); err != nil {
				return err
			}

			shown, err := a.shownReport(ctx, sf)
			if err != nil {
				return err
			}
			if a.output == "table" {
				_, err = fmt.Fprint(a.stdout, shown.Markdown)
				return err
			}
			return a.render(shown, table{})
		},
	}
	sf.add(cmd)
	return cmd
}

// shownReport is the JSON and YAML form of report show.
type shownReport struct {
	Scope       string              `json:"scope" yaml:"scope"`
	ReportID    string              `json:"report_id" yaml:"report_id"`
	WindowStart time.Time           `json:"window_start" yaml:"window_start"`
	WindowEnd   time.Time           `json:"window_end" yaml:"window_end"`
	GeneratedAt time.Time           `json:"generated_at" yaml:"generated_at"`
	Model       string              `json:"model" yaml:"model"`
	Summary     gold.MachineSummary `json:"machine_summary" yaml:"machine_summary"`
	Markdown    string              `json:"markdown" yaml:"markdown"`
}

// shownReport returns the subject's latest report with its Markdown,
// from the API or the database.
func (a *app) shownReport(ctx context.Context, sf scopeFlags) (shownReport, error) {
	if a.remote() {
		return a.remoteShownReport(ctx, sf)
	}

	db, err := a.openDB(ctx)
	if err != nil {
		return shownReport{}, err
	}
	defer db.Close()

	r, md, err := a.latestReport(ctx, db, sf)
	if err != nil {
		return shownReport{}, err
	}
	return shownReport{Scope: sf.scope, ReportID: r.ID, WindowStart: r.WindowStart.UTC(),
		WindowEnd: r.WindowEnd.UTC(), GeneratedAt: r.GeneratedAt.UTC(), Model: r.Model,
		Summary: r.Summary, Markdown: md}, nil
}

// latestReport returns the subject's latest report and its Markdown.
func (a *app) latestReport(ctx context.Context, db *store.DB, sf scopeFlags) (*gold.Report, string, error) {
	g := gold.NewStore(db)
	b := evidence.NewBuilder(db)
	noReport := fmt.Errorf("no %s report yet: write one with 'ghillie report run'", sf.scope)
	if sf.scope != "repository" {
		// Project reports are written with their estate's, from the
		// repositories up.
		noReport = fmt.Errorf("no %s report yet: write one with "+
			"'ghillie report run --scope estate --estate-key %s'", sf.scope, sf.estateKey)
	}

	if sf.scope == "repository" {
		repo, err := registry.NewService(db, a.logger).Get(ctx, sf.owner, sf.name)
		if err != nil {
			return nil, "", err
		}
		r, err := g.Latest(ctx, gold.Subject{Scope: gold.ScopeRepository, ID: repo.ID})
		if err != nil || r == nil {
			return nil, "", errors.Join(err, noReport)
		}
		return r, reporting.RenderRepository(*r, repo.Owner, repo.Name), nil
	}

	estate, err := estateID(ctx, db, sf.estateKey)
	if err != nil {
		return nil, "", err
	}
	if sf.scope == "estate" {
		r, err := g.Latest(ctx, gold.Subject{Scope: gold.ScopeEstate, ID: estate})
		if err != nil || r == nil {
			return nil, "", errors.Join(err, noReport)
		}
		bundle, err := b.Estate(ctx, estate, r.WindowStart, r.WindowEnd)
		if err != nil {
			return nil, "", err
		}
		return r, reporting.RenderEstate(*r, bundle), nil
	}

	if err := checkProject(ctx, db, estate, sf); err != nil {
		return nil, "", err
	}
	ref, err := g.ProjectID(ctx, estate, sf.projectKey)
	if err != nil || ref == "" {
		return nil, "", errors.Join(err, noReport)
	}
	r, err := g.Latest(ctx, gold.Subject{Scope: gold.ScopeProject, ID: ref})
	if err != nil || r == nil {
		return nil, "", errors.Join(err, noReport)
	}
	bundle, err := b.Project(ctx, estate, sf.projectKey, r.WindowStart, r.WindowEnd)
	if err != nil {
		return nil, "", err
	}
	return r, reporting.RenderProject(*r, bundle), nil
}

// reviewRow is the JSON and YAML form of a review marker.
type reviewRow struct {
	ID          string                 `json:"id" yaml:"id"`
	Scope       string                 `json:"scope" yaml:"scope"`
	Subject     string                 `json:"subject" yaml:"subject"`
	SubjectID   string                 `json:"subject_id" yaml:"subject_id"`
	WindowStart time.Time              `json:"window_start" yaml:"window_start"`
	WindowEnd   time.Time              `json:"window_end" yaml:"window_end"`
	Model       string                 `json:"model,omitempty" yaml:"model,omitempty"`
	Attempts    int                    `json:"attempt_count" yaml:"attempt_count"`
	Issues      []gold.ValidationIssue `json:"validation_issues" yaml:"validation_issues"`
	State       string                 `json:"state" yaml:"state"`
	Note        string                 `json:"resolution_note,omitempty" yaml:"resolution_note,omitempty"`
}

func newReviewRow(r gold.Review) reviewRow {
	return reviewRow{ID: r.ID, Scope: string(r.Subject.Scope), Subject: r.SubjectName,
		SubjectID:   r.Subject.ID,
		WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(), Model: r.Model, Attempts: r.AttemptCount,
		Issues: r.Issues, State: string(r.State), Note: r.ResolutionNote}
}

func (a *app) renderReviews(reviews []gold.Review) error {
	rows := make([]reviewRow, 0, len(reviews))
	for _, r := range reviews {
		rows = append(rows, newReviewRow(r))
	}
	return a.renderReviewRows(rows)
}

func (a *app) renderReviewRows(rows []reviewRow) error {
	t := table{header: []string{"ID", "SCOPE", "SUBJECT", "WINDOW", "STATE", "ATTEMPTS",
		"FIRST ISSUE"}}
	for _, row := range rows {
		first := "-"
		if len(row.Issues) > 0 {
			first = row.Issues[0].Code
		}
		subject := row.Subject
		if subject == "" {
			subject = "(deleted)"
		}
		t.rows = append(t.rows, []string{row.ID, row.Scope, subject,
			day(row.WindowStart) + " to " + day(row.WindowEnd), row.State,
			strconv.Itoa(row.Attempts), first})
	}
	return a.render(rows, t)
}

func (a *app) reportReviewsCommand() *cobra.Command {
	var state, scope string

	cmd := &cobra.Command{
		Use:   "reviews",
		Short: "List review markers of reports that failed validation, or resolve one",
		Long: "List the windows whose reports failed validation after every attempt. A marker\n" +
			"stays resolved when its window fails again; resolve one with 'reviews resolve'.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			switch state {
			case "", "pending", "resolved":
			default:
				return usageError{fmt.Errorf("invalid --state %q: use pending or resolved", state)}
			}
			switch scope {
			case "", "repository", "project", "estate":
			default:
				return usageError{fmt.Errorf("invalid --scope %q: use repository, project or estate", scope)}
			}

			if a.remote() {
				return a.remoteReviews(ctx, state, scope)
			}
			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			reviews, err := gold.NewStore(db).Reviews(ctx, gold.ReviewFilter{
				State: gold.ReviewState(state), Scope: gold.Scope(scope)})
			if err != nil {
				return err
			}
			return a.renderReviews(reviews)
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "list only pending or resolved markers")
	cmd.Flags().StringVar(&scope, "scope", "", "list only markers of this scope")
	cmd.AddCommand(a.reportReviewsResolveCommand())
	return cmd
}

func (a *app) reportReviewsResolveCommand() *cobra.Command {
	var note string

	cmd := &cobra.Command{
		Use:   "resolve ID",
		Short: "Mark a review as resolved",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()

			if a.remote() {
				return a.remoteResolve(ctx, args[0], note)
			}
			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			review, err := gold.NewStore(db).ResolveReview(ctx, args[0], note)
			if errors.Is(err, gold.ErrNotFound) {
				return fmt.Errorf("review %q not found: list them with 'ghillie report reviews'", args[0])
			}
			if errors.Is(err, gold.ErrAlreadyResolved) {
				return fmt.Errorf("review %q is already resolved: %q", args[0], review.ResolutionNote)
			}
			if err != nil {
				return err
			}
			return a.renderReviews([]gold.Review{review})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why the marker is resolved")
	return cmd
}

func (a *app) metricsCommand() *cobra.Command {
	return group("metrics", "Show metrics",
		setMode(a.metricsReportingCommand(), "database"), a.metricsRequiredCommand())
}

func (a *app) metricsReportingCommand() *cobra.Command {
	var from, to, estateKey, scope string

	cmd := &cobra.Command{
		Use:   "reporting",
		Short: "Sum up the status model calls of the reports generated in a period",
		Long: "Count the reports generated in [--from, --to) and sum up their model calls:\n" +
			"average and 95th percentile latency, and prompt, completion and total tokens.",
		Example: "  ghillie metrics reporting --from 2024-07-01T00:00:00Z --to 2024-08-01T00:00:00Z",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			var q reporting.MetricsQuery
			var err error
			if q.Start, err = parseTime("--from", from); err != nil {
				return err
			}
			if q.End, err = parseTime("--to", to); err != nil {
				return err
			}
			if from == "" || to == "" {
				return usageError{errors.New("--from and --to are required")}
			}
			if !q.End.After(q.Start) {
				return usageError{fmt.Errorf("--to %s must be after --from %s", to, from)}
			}
			switch scope {
			case "", "repository", "project", "estate":
				q.Scope = gold.Scope(scope)
			default:
				return usageError{fmt.Errorf("invalid --scope %q: use repository, project or estate", scope)}
			}

			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if estateKey != "" {
				if q.EstateID, err = estateID(ctx, db, estateKey); err != nil {
					return err
				}
			}

			snap, err := reporting.NewMetrics(db).Snapshot(ctx, q)
			if err != nil {
				return err
			}
			num := func(f *float64) string {
				if f == nil {
					return "-"
				}
				return strconv.FormatFloat(*f, 'f', 1, 64)
			}
			return a.render(snap, table{
				header: []string{"REPORTS", "WITH METRICS", "AVG LATENCY MS", "P95 LATENCY MS",
					"PROMPT TOKENS", "COMPLETION TOKENS", "TOTAL TOKENS"},
				rows: [][]string{{strconv.Itoa(snap.TotalReports), strconv.Itoa(snap.ReportsWithMetrics),
					num(snap.AvgLatencyMS), num(snap.P95LatencyMS),
					strconv.FormatInt(snap.TotalPromptTokens, 10),
					strconv.FormatInt(snap.TotalCompletionTokens, 10),
					strconv.FormatInt(snap.TotalTokens, 10)}},
			})
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&from, "from", "", "start of the period (RFC 3339, required)")
	flags.StringVar(&to, "to", "", "end of the period, excluded (RFC 3339, required)")
	flags.StringVar(&estateKey, "estate-key", "", "only reports of this estate")
	flags.StringVar(&scope, "scope", "", "only reports of this scope")
	return cmd
}

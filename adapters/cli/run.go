package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// defaultSinkPath is the folder 'ghillie run' writes Markdown to when neither
// --sink-path nor GHILLIE_REPORT_SINK_PATH is set.
const defaultSinkPath = "reports"

// runSummary is the JSON and YAML form of a whole run.
type runSummary struct {
	Database    string                 `json:"database" yaml:"database"`
	Estate      string                 `json:"estate" yaml:"estate"`
	Catalogue   catalogue.ImportResult `json:"catalogue" yaml:"catalogue"`
	Registry    registry.SyncResult    `json:"registry" yaml:"registry"`
	Ingestion   []ingestRow            `json:"ingestion" yaml:"ingestion"`
	Transform   transformReport        `json:"transform" yaml:"transform"`
	Reports     []outcomeRow           `json:"reports" yaml:"reports"`
	ReportsPath string                 `json:"reports_path" yaml:"reports_path"`
}

func (a *app) runCommand() *cobra.Command {
	var (
		estate                  catalogue.Estate
		cataloguePath, sinkPath string
		recordDir, replayDir    string
		asOf                    string
		lookbackDays, maxEvents int
	)

	cmd := &cobra.Command{
		Use:   "run",
		Short: "Do the whole job once: migrate, import, sync, ingest, transform and report",
		Long: "Migrate the database, import the catalogue into the estate, sync its\n" +
			"repositories, ingest their GitHub activity, refine it into Silver and write\n" +
			"the reports of every repository, project and the estate, then print where\n" +
			"the Markdown reports are. Each step is the command of the same name; see\n" +
			"their help for the settings they read (GitHub access, the status model and\n" +
			"the reporting window).\n\n" +
			"Reports go below --sink-path, or GHILLIE_REPORT_SINK_PATH, or ./reports.\n" +
			"--replay DIR reads GitHub activity recorded with --record DIR instead of\n" +
			"asking GitHub, and needs no token. A replay runs ingestion at the time the\n" +
			"recording was made and ends the reporting windows there unless --as-of is\n" +
			"given, so it reproduces the recorded run. With GHILLIE_STATUS_MODEL_BACKEND\n" +
			"unset, a replay uses the mock status model; a run against GitHub needs it set.\n\n" +
			"The exit status is 3 when some repositories or reports failed and the rest\n" +
			"went through, and 1 when a step could not run at all.",
		Example: "  ghillie run --catalogue examples/quickstart/catalogue.yaml --estate-key kestrel \\\n" +
			"    --replay examples/quickstart/recording\n" +
			"  GHILLIE_STATUS_MODEL_BACKEND=mock GHILLIE_GITHUB_TOKEN=github_pat_... ghillie run \\\n" +
			"    --catalogue examples/wildside-catalogue.yaml --estate-key wildside",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkIngestFlags(recordDir, replayDir, lookbackDays, maxEvents); err != nil {
				return err
			}
			if err := checkEstateKey(estate.Key); err != nil {
				return err
			}
			var opts reporting.RunOptions
			if asOf != "" {
				t, err := parseTime("--as-of", asOf)
				if err != nil {
					return err
				}
				if t.After(time.Now().Add(reporting.MaxClockSkew)) {
					return usageError{fmt.Errorf("invalid --as-of %s: it is in the future; "+
						"choose a time that has passed", asOf)}
				}
				opts.AsOf = t
			}
			return a.runAll(cmd.Context(), runPlan{estate: estate, cataloguePath: cataloguePath,
				sinkPath: sinkPath, recordDir: recordDir, replayDir: replayDir, opts: opts,
				ingest: ingest.Config{InitialLookback: time.Duration(lookbackDays) * 24 * time.Hour,
					MaxEventsPerKind: maxEvents}})
		},
	}

	flags := cmd.Flags()
	flags.StringVar(&cataloguePath, "catalogue", "", "catalogue YAML file of the estate (required)")
	flags.StringVar(&estate.Key, "estate-key", "", "key of the estate, such as wildside (required)")
	flags.StringVar(&estate.Name, "estate-name", "", "display name of the estate (default: the key)")
	flags.StringVar(&sinkPath, "sink-path", "",
		"write Markdown below this folder (env GHILLIE_REPORT_SINK_PATH, default ./reports)")
	flags.StringVar(&asOf, "as-of", "",
		"end the reporting windows at this time (RFC 3339), instead of now or, with --replay, "+
			"the time of the recording")
	flags.IntVar(&lookbackDays, "lookback-days", 14,
		"how far back a repository's first ingestion reads, in days")
	flags.IntVar(&maxEvents, "max-events-per-kind", 500,
		"most items one ingestion reads per stream; the rest of a backlog waits for the next run")
	flags.StringVar(&recordDir, "record", "",
		"save every GitHub request and response in `DIR`, for --replay")
	flags.StringVar(&replayDir, "replay", "",
		"serve the GitHub responses recorded in `DIR` instead of asking GitHub; needs no token")
	for _, name := range []string{"catalogue", "estate-key"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// runPlan holds the settings of 'ghillie run'.
type runPlan struct {
	estate                  catalogue.Estate
	cataloguePath, sinkPath string
	recordDir, replayDir    string
	opts                    reporting.RunOptions
	ingest                  ingest.Config
}

func (a *app) runAll(ctx context.Context, p runPlan) error {
	cfg, err := reporting.ConfigFromEnv(a.env)
	if err != nil {
		return usageError{err}
	}
	switch {
	case p.sinkPath != "":
		cfg.SinkPath = p.sinkPath
	case cfg.SinkPath == "":
		cfg.SinkPath = defaultSinkPath
	}
	model, err := a.runStatusModel(p.replayDir != "")
	if err != nil {
		return err
	}
	access, err := a.gitHubClient(p.recordDir, p.replayDir)
	if err != nil {
		return err
	}
	if p.opts.AsOf.IsZero() && !access.recordedAt.IsZero() {
		// The recorded activity has fixed dates, so windows ending now
		// would report none of it once the recording is a week old.
		p.opts.AsOf = access.recordedAt
	}

	db, err := a.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	sum := runSummary{Database: db.String(), Estate: p.estate.Key}
	sum.Catalogue, err = catalogue.NewImporter(db, a.logger).ImportFile(ctx, p.estate, p.cataloguePath, "")
	var invalid *catalogue.ValidationError
	if errors.As(err, &invalid) {
		return a.reportInvalid(p.cataloguePath, invalid)
	}
	if err != nil {
		return err
	}
	if sum.Registry, err = registry.NewService(db, a.logger).Sync(ctx, p.estate.Key); err != nil {
		return err
	}

	failed, err := a.runIngestion(ctx, db, access, p, &sum)
	if access.recorder != nil {
		if cerr := access.recorder.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}

	refined, err := silver.NewTransformer(db, a.logger).ProcessPending(ctx, 0)
	if err != nil {
		return err
	}
	sum.Transform = transformReport{Processed: refined.Processed, Failed: refined.Failed,
		Skipped: refined.Skipped}

	reportsFailed, err := a.runEstateReports(ctx, db, model, cfg, p, &sum)
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(cfg.SinkPath); err == nil {
		sum.ReportsPath = abs
	}

	if err := a.renderRunSummary(sum); err != nil {
		return err
	}
	if failed+reportsFailed > 0 {
		fmt.Fprintf(a.stderr, "%s failed to ingest and %s failed or were not written\n",
			countOf(failed, "repository", "repositories"), countOf(reportsFailed, "report", "reports"))
		return &exitError{code: ExitRunFailed}
	}
	return nil
}

// runStatusModel returns the status model that GHILLIE_STATUS_MODEL_BACKEND
// selects. A replay with the variable unset gets the mock, so a recording
// reproduces a run with no setting and no network. A run against GitHub
// still needs the variable, so the mock never reports on a real estate
// unasked.
func (a *app) runStatusModel(replay bool) (status.Model, error) {
	if replay && strings.TrimSpace(a.env(status.EnvBackend)) == "" {
		fmt.Fprintf(a.stderr, "%s is not set: replaying with the mock status model\n",
			status.EnvBackend)
		return status.NewMock(), nil
	}
	return status.FromEnv(a.env)
}

// runIngestion ingests the estate's repositories with ingestion enabled
// and returns how many failed or were not run.
func (a *app) runIngestion(ctx context.Context, db *store.DB, access gitHubAccess, p runPlan,
	sum *runSummary) (int, error) {
	// An estate of planned components only has nothing to ingest, and
	// its project and estate reports are still written.
	enabled := true
	repos, err := registry.NewService(db, nil).List(ctx,
		registry.ListOptions{EstateKey: p.estate.Key, Ingestion: &enabled})
	if err != nil {
		return 0, err
	}
	if len(repos) == 0 {
		fmt.Fprintf(a.stderr, "estate %s has no repositories with ingestion enabled: "+
			"nothing to ingest\n", p.estate.Key)
		return 0, nil
	}

	progress := newProgressLine(a.stderr)
	opts := append(access.ingestOptions(), ingest.WithLogger(a.logger),
		ingest.WithProgress(progress.update))
	w, err := ingest.NewWorker(db, access.client, p.ingest, opts...)
	if err != nil {
		return 0, err
	}
	results, err := a.ingestAll(ctx, w, repos, progress, nil)
	if err != nil {
		return 0, err
	}
	for _, r := range results {
		sum.Ingestion = append(sum.Ingestion, r.row())
		if r.err != nil {
			fmt.Fprintf(a.stderr, "%s: %s\n", r.slug, r.err)
		}
	}
	failed, notRun := ingestionCounts(results)
	if ctx.Err() != nil {
		return 0, fmt.Errorf("interrupted during ingestion: %d of %d repositories were not run, "+
			"and nothing was refined or reported", notRun, len(results))
	}
	stop := stopOf(results)
	if stop != nil {
		return 0, fmt.Errorf("ingestion stopped after an error that every repository would meet%s: %w",
			stopHint(stop), stop)
	}
	return failed + notRun, nil
}

// runEstateReports writes the estate's reports and returns how many
// failed or were not written.
func (a *app) runEstateReports(ctx context.Context, db *store.DB, model status.Model, cfg reporting.Config,
	p runPlan, sum *runSummary) (int, error) {
	svc, err := reporting.NewService(db, model, cfg, reporting.WithLogger(a.logger))
	if err != nil {
		return 0, err
	}
	id, err := estateID(ctx, db, p.estate.Key)
	if err != nil {
		return 0, err
	}

	outcomes, _ := svc.RunEstateAll(ctx, id, p.opts)
	failed := 0
	for _, o := range outcomes {
		if o.Err != nil {
			failed++
		}
		sum.Reports = append(sum.Reports, newOutcomeRow(o))
	}
	return failed, ctx.Err()
}

// countOf writes n with the singular or plural noun.
func countOf(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %s", n, plural)
}

func (a *app) renderRunSummary(sum runSummary) error {
	t := table{header: []string{"SCOPE", "SUBJECT", "WINDOW", "OUTCOME", "STATUS", "REPORT"}}
	for _, row := range sum.Reports {
		t.rows = append(t.rows, []string{row.Scope, row.Subject,
			windowText(row.WindowStart, row.WindowEnd), row.Outcome,
			dash(row.Status), dash(row.ReportID)})
	}
	if err := a.render(sum, t); err != nil {
		return err
	}
	if a.output != "table" {
		return nil
	}

	events := 0
	for _, r := range sum.Ingestion {
		events += r.Commits + r.PullRequests + r.Issues + r.DocChanges
	}
	failed := 0
	for _, r := range sum.Ingestion {
		if r.Status != "ok" {
			failed++
		}
	}
	fmt.Fprintf(a.stdout, "\nIngested %s from %s (%d failed); refined %s.\nReports are in %s\n",
		plural(events, "event"), countOf(len(sum.Ingestion), "repository", "repositories"), failed,
		plural(sum.Transform.Processed, "event"), sum.ReportsPath)
	return nil
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/store"
)

func (a *app) ingestCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Ingest GitHub activity into Bronze and report ingestion health",
	}
	cmd.AddCommand(a.ingestRunCommand(), a.ingestHealthCommand(), a.runStatusCommand(runs.KindIngestion))
	return cmd
}

// ingestRow is the JSON and YAML form of one repository's run.
type ingestRow struct {
	Repository    string `json:"repository" yaml:"repository"`
	Commits       int    `json:"commits_ingested" yaml:"commits_ingested"`
	PullRequests  int    `json:"pull_requests_ingested" yaml:"pull_requests_ingested"`
	Issues        int    `json:"issues_ingested" yaml:"issues_ingested"`
	DocChanges    int    `json:"doc_changes_ingested" yaml:"doc_changes_ingested"`
	Duplicates    int    `json:"duplicates" yaml:"duplicates"`
	Dropped       int    `json:"dropped" yaml:"dropped"`
	Requests      int    `json:"github_requests" yaml:"github_requests"`
	Points        int    `json:"github_points" yaml:"github_points"`
	Backlog       bool   `json:"backlog" yaml:"backlog"`
	Status        string `json:"status" yaml:"status"`
	ErrorCategory string `json:"error_category,omitempty" yaml:"error_category,omitempty"`
	Error         string `json:"error,omitempty" yaml:"error,omitempty"`
}

func newIngestRow(res ingest.Result, err error) ingestRow {
	row := ingestRow{
		Repository:   res.RepoSlug,
		Commits:      res.Streams[ingest.KindCommit].Ingested,
		PullRequests: res.Streams[ingest.KindPullRequest].Ingested,
		Issues:       res.Streams[ingest.KindIssue].Ingested,
		DocChanges:   res.Streams[ingest.KindDocChange].Ingested,
		Requests:     res.Requests,
		Points:       res.Points,
		Status:       "ok",
	}
	for _, s := range res.Streams {
		row.Duplicates += s.Duplicates
		row.Dropped += s.Dropped
		row.Backlog = row.Backlog || s.Truncated
	}
	if err != nil {
		row.Status = "failed"
		row.ErrorCategory = ingest.Categorize(err)
		row.Error = err.Error()
	}
	return row
}

func (a *app) ingestRunCommand() *cobra.Command {
	var (
		scope, owner, name, estateKey string
		recordDir, replayDir          string
		lookbackDays, maxEvents       int
		wf                            waitFlags
	)

	cmd := &cobra.Command{
		Use:   "run",
		Short: "Read new GitHub activity of one repository or an estate into Bronze",
		Long: "Read the commits on the default branch, pull requests, issues and documentation\n" +
			"changes that are new since the last run of each repository, drop what the\n" +
			"catalogue's noise filters name, and append the rest to Bronze. Repositories\n" +
			"with ingestion disabled are skipped. Run 'ghillie transform' afterwards to\n" +
			"refine the new events into Silver.\n\n" +
			"GitHub access comes from GHILLIE_GITHUB_TOKEN, or from a GitHub App\n" +
			"(GHILLIE_GITHUB_APP_ID, GHILLIE_GITHUB_APP_INSTALLATION_ID and\n" +
			"GHILLIE_GITHUB_APP_PRIVATE_KEY or GHILLIE_GITHUB_APP_PRIVATE_KEY_PATH), and\n" +
			"GHILLIE_GITHUB_API_URL points at GitHub Enterprise Server.\n\n" +
			"--record DIR also saves every GitHub request and response of the run in DIR,\n" +
			"one JSON file each and an index, without tokens. --replay DIR serves the\n" +
			"responses of such a recording instead of asking GitHub, offline and without a\n" +
			"token, to reproduce a run. Set GHILLIE_GITHUB_API_URL as when recording. A\n" +
			"replay runs its clock at the time the recording was made, so the lookback\n" +
			"and watermarks are those of the recorded run.\n\n" +
			"With --api-base-url the server's workers run it. --lookback-days and\n" +
			"--max-events-per-kind then apply to this run only, and without them the\n" +
			"workers use their own settings; --record and --replay work only locally.\n\n" +
			"The run is recorded and printed with one unit per repository, whose detail\n" +
			"gives its counts or its error, as 'ghillie ingest status' prints it later.\n" +
			"The exit status is 3 when any repository failed or was not run; the others\n" +
			"are still ingested. It is 1 when the run could not start, or stopped at an\n" +
			"error every repository would meet, such as rejected credentials.",
		Example: "  ghillie ingest run --scope repository --owner leynos --name wildside\n" +
			"  ghillie ingest run --scope estate --estate-key wildside --lookback-days 30\n" +
			"  ghillie ingest run --scope estate --estate-key wildside --record ./recording\n" +
			"  ghillie ingest run --scope estate --estate-key wildside --replay ./recording",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if err := checkIngestFlags(recordDir, replayDir, lookbackDays, maxEvents); err != nil {
				return err
			}
			if err := checkIngestScope(scope, owner, name, estateKey); err != nil {
				return err
			}
			if a.remote() {
				q := runQuery(scope, owner, name, estateKey)
				return a.remoteIngestRun(cmd, q, lookbackDays, maxEvents, &wf)
			}
			if err := wf.checkLocal(cmd); err != nil {
				return err
			}

			access, err := a.gitHubClient(recordDir, replayDir)
			if err != nil {
				return err
			}
			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			repos, err := ingestTargets(ctx, db, scope, owner, name, estateKey)
			if err != nil {
				return err
			}

			progress := newProgressLine(a.stderr)
			logger := a.logger
			if progress.on {
				// Each log line first clears the progress line, so the two
				// never run into each other.
				logger = slog.New(slog.NewTextHandler(clearingWriter{progress},
					&slog.HandlerOptions{Level: a.level}))
			}
			opts := append(access.ingestOptions(), ingest.WithLogger(logger),
				ingest.WithProgress(progress.update))
			worker, err := ingest.NewWorker(db, access.client, ingest.Config{
				InitialLookback:  time.Duration(lookbackDays) * 24 * time.Hour,
				MaxEventsPerKind: maxEvents,
			}, opts...)
			if err != nil {
				return err
			}

			runScope, subject := runs.ScopeEstate, estateKey
			if scope == "repository" {
				runScope, subject = runs.ScopeRepository, repos[0].Slug()
			}
			lr, err := startLocalRun(ctx, db, runs.KindIngestion, runScope, subject, len(repos))
			if err != nil {
				return err
			}
			defer lr.close()
			results, err := a.ingestAll(ctx, worker, repos, progress,
				func(r repoIngestion) error { return lr.finish(ctx, r.unit()) })
			if access.recorder != nil {
				if cerr := access.recorder.Close(); cerr != nil {
					return errors.Join(err, cerr)
				}
				a.logger.InfoContext(ctx, "github.recording.saved", "dir", recordDir,
					"exchanges", access.recorder.Exchanges())
			}
			if err != nil {
				return err
			}
			run, err := lr.get(ctx)
			if err != nil {
				return err
			}
			exit := a.finishRun(run)

			failed, notRun := ingestionCounts(results)
			stop := stopOf(results)
			switch {
			case ctx.Err() != nil && notRun > 0:
				fmt.Fprintf(a.stderr, "interrupted: %d of %d repositories were not run\n",
					notRun, len(results))
			case stop != nil:
				fmt.Fprintf(a.stderr, "stopped after an error that every repository would meet "+
					"(%s): %d of %d repositories were not run%s\n", ingest.Categorize(stop), notRun,
					len(results), stopHint(stop))
			}
			if failed > 0 {
				fmt.Fprintf(a.stderr, "%d of %d repositories failed\n", failed, len(results))
			}
			if stop != nil {
				// Nothing after the error could run, so the command failed
				// as a whole, also where the run records some successes.
				return &exitError{code: ExitFailure}
			}
			return exit
		},
	}

	flags := cmd.Flags()
	flags.StringVar(&scope, "scope", "", "what to ingest: repository or estate")
	flags.StringVar(&owner, "owner", "", "repository owner (with --scope repository)")
	flags.StringVar(&name, "name", "", "repository name (with --scope repository)")
	flags.StringVar(&estateKey, "estate-key", "",
		"ingest every repository of this estate with ingestion enabled (with --scope estate)")
	flags.IntVar(&lookbackDays, "lookback-days", 14,
		"how far back a repository's first run reads, in days (1 to 3650)")
	flags.IntVar(&maxEvents, "max-events-per-kind", 500,
		"max items one run reads per stream (1 to 10000); the rest of a backlog waits for the next run")
	flags.StringVar(&recordDir, "record", "",
		"save every GitHub request and response of the run in `DIR`, for --replay")
	flags.StringVar(&replayDir, "replay", "",
		"serve the GitHub responses recorded in `DIR` instead of asking GitHub; needs no token")
	wf.add(cmd)
	return cmd
}

// checkIngestFlags checks the ingestion flags that 'ghillie ingest run'
// and 'ghillie run' share.
func checkIngestFlags(recordDir, replayDir string, lookbackDays, maxEvents int) error {
	if recordDir != "" && replayDir != "" {
		return usageError{errors.New("--record and --replay exclude each other: " +
			"record a run with --record DIR, then replay it with --replay DIR")}
	}
	if lookbackDays < 1 || lookbackDays > ingest.MaxLookbackDays {
		return usageError{fmt.Errorf("invalid --lookback-days %d: use 1 to %d",
			lookbackDays, ingest.MaxLookbackDays)}
	}
	if maxEvents < 1 || maxEvents > ingest.MaxEventsPerKindLimit {
		return usageError{fmt.Errorf("invalid --max-events-per-kind %d: use 1 to %d", maxEvents,
			ingest.MaxEventsPerKindLimit)}
	}
	return nil
}

func checkIngestScope(scope, owner, name, estateKey string) error {
	switch scope {
	case "repository":
		if owner == "" || name == "" {
			return usageError{errors.New("--scope repository needs --owner and --name")}
		}
		if estateKey != "" {
			return usageError{errors.New("--estate-key goes with --scope estate, not repository")}
		}
	case "estate":
		if estateKey == "" {
			return usageError{errors.New("--scope estate needs --estate-key")}
		}
		if owner != "" || name != "" {
			return usageError{errors.New("--owner and --name go with --scope repository, not estate")}
		}
	case "":
		return usageError{errors.New("--scope is required: repository or estate")}
	default:
		return usageError{fmt.Errorf("invalid --scope %q: use repository or estate", scope)}
	}
	return checkNames(owner, name, map[string]string{"estate-key": estateKey})
}

// ingestTargets returns the repositories a run covers.
func ingestTargets(ctx context.Context, db *store.DB, scope, owner, name,
	estateKey string) ([]registry.Repository, error) {
	svc := registry.NewService(db, nil) // the worker logs each run
	if scope == "repository" {
		repo, err := svc.Get(ctx, owner, name)
		if err != nil {
			return nil, err
		}
		if !repo.IngestionEnabled {
			return nil, registry.DisabledError(repo)
		}
		return []registry.Repository{repo}, nil
	}

	enabled := true
	repos, err := svc.List(ctx, registry.ListOptions{EstateKey: estateKey, Ingestion: &enabled})
	if err != nil {
		return nil, err
	}
	if len(repos) == 0 {
		return nil, fmt.Errorf("estate %q has no repositories with ingestion enabled: "+
			"run 'ghillie estate sync --estate-key %s' first", estateKey, estateKey)
	}
	return repos, nil
}

// repoIngestion is the outcome of one repository in ingestAll. notRun
// gives the reason when the repository was not run.
type repoIngestion struct {
	slug   string
	result ingest.Result
	err    error
	notRun string
}

// unit returns the run unit of the outcome.
func (r repoIngestion) unit() runs.Unit {
	switch {
	case r.notRun != "":
		return runs.Unit{Name: r.slug, State: runs.UnitFailed, Detail: "not run: " + r.notRun}
	case r.err != nil:
		return runs.Failed(r.slug, r.err)
	}
	return runs.Ingested(r.slug, r.result)
}

// row returns the outcome as a row of 'ghillie run'.
func (r repoIngestion) row() ingestRow {
	if r.notRun != "" {
		return ingestRow{Repository: r.slug, Status: "not run"}
	}
	return newIngestRow(r.result, r.err)
}

// ingestionCounts returns how many repositories failed and how many were
// not run.
func ingestionCounts(results []repoIngestion) (failed, notRun int) {
	for _, r := range results {
		switch {
		case r.notRun != "":
			notRun++
		case r.err != nil:
			failed++
		}
	}
	return failed, notRun
}

// ingestAll runs every repository, going on after a failure unless it is
// one that every other repository would meet too. The repositories not
// run, after an interruption or such a failure, get outcomes saying so.
// done, when set, receives each outcome once it is known, and an error
// from it ends the loop.
func (a *app) ingestAll(ctx context.Context, worker *ingest.Worker, repos []registry.Repository,
	progress *progressLine, done func(repoIngestion) error) ([]repoIngestion, error) {
	var results []repoIngestion
	var stop error
	for i, repo := range repos {
		r := repoIngestion{slug: repo.Slug()}
		switch {
		case ctx.Err() != nil:
			r.notRun = "interrupted"
		case stop != nil:
			r.notRun = "stopped after an error that every repository would meet"
		default:
			progress.start(i+1, len(repos), r.slug)
			r.result, r.err = worker.IngestRepository(ctx, repo)
			progress.clear()
			if r.err != nil && stopsEveryRepository(r.err) {
				stop = r.err
			}
		}

		results = append(results, r)
		if done == nil {
			continue
		}
		if err := done(r); err != nil {
			return results, err
		}
	}
	return results, nil
}

// stopOf returns the error that stopped ingestAll, or nil.
func stopOf(results []repoIngestion) error {
	for _, r := range results {
		if r.err != nil && stopsEveryRepository(r.err) {
			return r.err
		}
	}
	return nil
}

// stopsEveryRepository reports an error the next repositories would meet
// too: a missing or invalid setting, rejected credentials, or a rate
// limit whose reset is further away than the client waits.
func stopsEveryRepository(err error) bool {
	var apiErr *ingest.APIError
	switch {
	case ingest.Categorize(err) == ingest.CategoryConfiguration:
		return true
	case errors.As(err, &apiErr):
		return apiErr.Status == 401 || apiErr.Type == "RATE_LIMITED"
	}
	return false
}

// stopHint returns the fix of an error that stops a run, when one is
// known, as text to append to the message.
func stopHint(err error) string {
	var apiErr *ingest.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 401 {
		return "; GitHub rejected the credentials: check GHILLIE_GITHUB_TOKEN, or the " +
			"GHILLIE_GITHUB_APP_* settings"
	}
	return ""
}

// clearingWriter clears the progress line before each write.
type clearingWriter struct {
	p *progressLine
}

func (w clearingWriter) Write(b []byte) (int, error) {
	w.p.clear()
	return w.p.w.Write(b)
}

// replayToken is the placeholder token of a replay, which sends no
// request to GitHub.
const replayToken = "ghillie-replay"

// gitHubAccess is a command's GitHub client, with the Recorder of
// --record or the date of the --replay recording.
type gitHubAccess struct {
	client ingest.GitHubClient

	// recorder saves the exchanges with --record; the caller closes it.
	recorder *githubapi.Recorder

	// recordedAt is, with --replay, when the recording was made, and zero
	// for a recording without that date.
	recordedAt time.Time
}

// ingestOptions returns the worker options of a replay, which stop the
// clock at the time of the recording. The recorded responses hold
// activity at fixed dates, and a clock at the present would put it
// outside the lookback.
func (g gitHubAccess) ingestOptions() []ingest.Option {
	if g.recordedAt.IsZero() {
		return nil
	}
	at := g.recordedAt
	return []ingest.Option{ingest.WithClock(func() time.Time { return at })}
}

// gitHubClient builds the GitHub client. Without recordDir and replayDir
// it talks to GitHub with the settings from the environment. With
// recordDir it also saves every exchange there, through the Recorder it
// returns, which the caller closes. With replayDir it serves the responses of
// that recording and reads only GHILLIE_GITHUB_API_URL, which shapes the
// request paths.
func (a *app) gitHubClient(recordDir, replayDir string) (gitHubAccess, error) {
	if replayDir != "" {
		replayer, err := githubapi.NewReplayer(replayDir)
		if err != nil {
			return gitHubAccess{}, err
		}
		cfg := githubapi.Config{
			Token:  replayToken,
			APIURL: strings.TrimSpace(a.env(githubapi.EnvAPIURL)),
		}
		client, err := githubapi.New(cfg, githubapi.WithTransport(replayer),
			githubapi.WithLogger(a.logger))
		if err != nil {
			return gitHubAccess{}, err
		}
		if at := replayer.RecordedAt(); !at.IsZero() {
			a.logger.Info("github.replay.clock", "dir", replayDir,
				"recorded_at", at.Format(time.RFC3339))
		}
		return gitHubAccess{client: client, recordedAt: replayer.RecordedAt()}, nil
	}

	cfg, err := githubapi.ConfigFromEnv(a.env)
	if err != nil {
		return gitHubAccess{}, err
	}
	if recordDir == "" {
		client, err := githubapi.New(cfg, githubapi.WithLogger(a.logger))
		return gitHubAccess{client: client}, err
	}
	recorder, err := githubapi.NewRecorder(recordDir, nil)
	if err != nil {
		return gitHubAccess{}, err
	}
	client, err := githubapi.New(cfg, githubapi.WithTransport(recorder),
		githubapi.WithLogger(a.logger))
	return gitHubAccess{client: client, recorder: recorder}, err
}

// progressLine shows the repository being ingested on one line of a
// terminal, rewritten after every GitHub request. It writes nothing
// when the output is not a terminal.
type progressLine struct {
	w       io.Writer
	on      bool
	prefix  string
	written bool
}

func newProgressLine(w io.Writer) *progressLine {
	f, ok := w.(*os.File)
	return &progressLine{w: w, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progressLine) start(i, n int, slug string) {
	p.prefix = fmt.Sprintf("[%d/%d] %s", i, n, slug)
	p.show(p.prefix + ": starting")
}

func (p *progressLine) update(res ingest.Result) {
	seen, total := 0, res.Total()
	for _, s := range res.Streams {
		seen += s.Seen
	}
	p.show(fmt.Sprintf("%s: %d items read, %d new events, %d requests", p.prefix, seen, total,
		res.Requests))
}

func (p *progressLine) show(text string) {
	if !p.on {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s", text)
	p.written = true
}

func (p *progressLine) clear() {
	if p.on && p.written {
		fmt.Fprint(p.w, "\r\033[K")
		p.written = false
	}
}

// lagCells returns the table row of one repository's lag.
func lagCells(l ingest.Lag) []string {
	age := func(s *float64) string {
		if s == nil {
			return "never"
		}
		return humanAge(time.Duration(*s) * time.Second)
	}
	backlog, stalled := "no", "no"
	if l.HasPendingCursors {
		backlog = "yes"
	}
	if l.IsStalled {
		stalled = "yes"
	}
	lastErr := l.LastErrorCategory
	if lastErr == "" {
		lastErr = "-"
	}
	return []string{l.RepoSlug, age(l.TimeSinceLastIngestionSeconds),
		age(l.OldestWatermarkAgeSeconds), backlog, stalled, lastErr}
}

func (a *app) ingestHealthCommand() *cobra.Command {
	var (
		threshold   time.Duration
		stalledOnly bool
		failStalled bool
	)

	cmd := &cobra.Command{
		Use:   "health",
		Short: "Show ingestion lag and stalled repositories",
		Long: "List every repository with ingestion enabled: the time since a crawl of its\n" +
			"GitHub activity last completed, the age of its oldest stream watermark, whether\n" +
			"a backlog remains, and whether it is stalled: never ingested, or not ingested\n" +
			"for longer than --stalled-threshold. With --fail-on-stalled the exit status is\n" +
			"1 when any repository is stalled, for alerting from cron.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if threshold <= 0 {
				return usageError{fmt.Errorf("invalid --stalled-threshold %s: use a positive duration "+
					"such as 30m", threshold)}
			}

			lags, err := a.ingestionLags(ctx, threshold)
			if err != nil {
				return err
			}

			listed := []ingest.Lag{}
			stalled := 0
			for _, l := range lags {
				if l.IsStalled {
					stalled++
				}
				if l.IsStalled || !stalledOnly {
					listed = append(listed, l)
				}
			}
			t := table{header: []string{"REPOSITORY", "SINCE LAST INGESTION", "OLDEST WATERMARK",
				"BACKLOG", "STALLED", "LAST ERROR"}}
			for _, l := range listed {
				t.rows = append(t.rows, lagCells(l))
			}
			if err := a.render(listed, t); err != nil {
				return err
			}
			if failStalled && stalled > 0 {
				fmt.Fprintf(a.stderr, "%d repositories are stalled\n", stalled)
				return &exitError{code: ExitFailure}
			}
			return nil
		},
	}

	flags := cmd.Flags()
	flags.DurationVar(&threshold, "stalled-threshold", ingest.DefaultStalledThreshold,
		"a repository not ingested for longer than this is stalled")
	flags.BoolVar(&stalledOnly, "stalled", false, "list only stalled repositories")
	flags.BoolVar(&failStalled, "fail-on-stalled", false, "exit with status 1 when any is stalled")
	return cmd
}

// ingestionLags returns the lag of every repository with ingestion
// enabled, from the API or the database.
func (a *app) ingestionLags(ctx context.Context, threshold time.Duration) ([]ingest.Lag, error) {
	if a.remote() {
		var body struct {
			Repositories []ingest.Lag `json:"repositories"`
		}
		err := a.api.getJSON(ctx, "/ingestion/health",
			url.Values{"stalled_threshold": {threshold.String()}}, &body)
		return body.Repositories, err
	}

	db, err := a.openDB(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return ingest.NewHealthService(db, threshold).All(ctx)
}

// remoteIngestRun queues an ingestion run on the server with the query
// q. --lookback-days and --max-events-per-kind are sent only when set, so
// that the workers' own settings apply otherwise.
func (a *app) remoteIngestRun(cmd *cobra.Command, q url.Values, lookbackDays, maxEvents int,
	wf *waitFlags) error {
	for _, flag := range []struct{ name, reason string }{
		{"record", "the server talks to GitHub, so record on a machine with the database"},
		{"replay", "the server talks to GitHub, so replay with --database-url"},
	} {
		if err := a.localOnly(cmd, flag.name, flag.reason); err != nil {
			return err
		}
	}

	// The flags' values, defaults included, go with the run, so that the
	// same command reads the same period in both modes: the workers'
	// own lookback is shorter than the command's default.
	q.Set("lookback_days", strconv.Itoa(lookbackDays))
	q.Set("max_events_per_kind", strconv.Itoa(maxEvents))
	return a.startRemoteRun(cmd, runs.KindIngestion, q, wf)
}

// runQuery returns the query parameters of a run of a repository or an
// estate.
func runQuery(scope, owner, name, estateKey string) url.Values {
	if scope == "repository" {
		return url.Values{"scope": {scope}, "owner": {owner}, "name": {name}}
	}
	return url.Values{"scope": {scope}, "estate_key": {estateKey}}
}

// humanAge formats an age to the second, in days and hours from two days
// on: "539d14h" reads better than "12950h47m14s".
func humanAge(d time.Duration) string {
	if d < 48*time.Hour {
		return d.Round(time.Second).String()
	}
	days := d / (24 * time.Hour)
	hours := (d % (24 * time.Hour)) / time.Hour
	return fmt.Sprintf("%dd%dh", days, hours)
}

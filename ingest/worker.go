package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
)

// Config tunes a Worker. Zero fields take their defaults.
type Config struct {
	// InitialLookback is how far back a stream without a watermark
	// starts. Default 7 days, at most MaxLookbackDays days.
	InitialLookback time.Duration

	// Overlap is subtracted from every lower bound, so that items GitHub
	// lists late are still read. Default 5 minutes.
	Overlap time.Duration

	// MaxEventsPerKind caps the items one run reads per stream; the rest
	// of a backlog is read by the next runs. Default 500, at most
	// MaxEventsPerKindLimit.
	MaxEventsPerKind int

	// PageSize is the largest page asked of GitHub, 1 to 100. Default
	// 100.
	PageSize int
}

// Limits of the settings that callers choose per run.
const (
	// MaxLookbackDays bounds InitialLookback: ten years is more history
	// than a first run needs, and far from overflowing a duration.
	MaxLookbackDays = 3650

	// MaxEventsPerKindLimit bounds MaxEventsPerKind. At 100 items a page
	// a stream then makes at most 100 list requests per run, which keeps
	// one repository's run well inside the 5,000 requests an hour that
	// GitHub allows a token.
	MaxEventsPerKindLimit = 10000
)

func (c Config) withDefaults() (Config, error) {
	if c.InitialLookback == 0 {
		c.InitialLookback = 7 * 24 * time.Hour
	}
	if c.Overlap == 0 {
		c.Overlap = 5 * time.Minute
	}
	if c.MaxEventsPerKind == 0 {
		c.MaxEventsPerKind = 500
	}
	if c.PageSize == 0 {
		c.PageSize = MaxPageSize
	}

	limits := Limits{InitialLookback: c.InitialLookback, MaxEventsPerKind: c.MaxEventsPerKind}
	if err := limits.Validate(); err != nil {
		return c, err
	}
	switch {
	case c.Overlap < 0:
		return c, fmt.Errorf("overlap %s: must not be negative", c.Overlap)
	case c.PageSize < 1 || c.PageSize > MaxPageSize:
		return c, fmt.Errorf("page size %d: must be 1 to %d", c.PageSize, MaxPageSize)
	}
	return c, nil
}

// Worker ingests repositories incrementally: each run reads what changed
// on GitHub since the previous one, drops noise, appends the rest to
// Bronze and records how far it got. It is safe for concurrent use on
// different repositories. When two runs ingest one repository at once,
// one of them fails with ErrConcurrentRun and nothing is lost.
type Worker struct {
	db       *store.DB
	client   GitHubClient
	writer   *bronze.Writer
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics
	now      func() time.Time
	progress func(Result)
}

// Option configures a Worker.
type Option func(*Worker)

// WithLogger sends the worker's log events to l. Without it, or with
// nil, the worker logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(w *Worker) {
		if l != nil {
			w.log = l
		}
	}
}

// WithMetrics records runs in m.
func WithMetrics(m *Metrics) Option { return func(w *Worker) { w.metrics = m } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(w *Worker) { w.now = now } }

// WithProgress calls fn after every GitHub request of a run with the
// run's counts so far.
func WithProgress(fn func(Result)) Option { return func(w *Worker) { w.progress = fn } }

// NewWorker returns a worker writing to db, which must be migrated, and
// reading GitHub through client.
func NewWorker(db *store.DB, client GitHubClient, cfg Config, opts ...Option) (*Worker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ingestion worker: %w", err)
	}

	w := &Worker{
		db: db, client: client, writer: bronze.NewWriter(db), cfg: cfg,
		log: slog.New(slog.DiscardHandler), now: time.Now,
	}
	for _, o := range opts {
		o(w)
	}
	return w, nil
}

// Limits are the settings of Config that a caller may choose for one
// run. Zero fields keep the worker's settings.
type Limits struct {
	InitialLookback  time.Duration
	MaxEventsPerKind int
}

// Validate returns an error naming the field when a non-zero limit is
// outside the range that Config accepts.
func (l Limits) Validate() error {
	switch {
	case l.InitialLookback < 0 || l.InitialLookback > MaxLookbackDays*24*time.Hour:
		return fmt.Errorf("invalid initial lookback %s: use at most %d days", l.InitialLookback,
			MaxLookbackDays)
	case l.MaxEventsPerKind < 0 || l.MaxEventsPerKind > MaxEventsPerKindLimit:
		return fmt.Errorf("invalid max events per kind %d: use 1 to %d", l.MaxEventsPerKind,
			MaxEventsPerKindLimit)
	}
	return nil
}

// WithLimits returns a copy of the worker that runs with the non-zero
// limits of l in place of its own, such as the lookback that one queued
// run requests. The copy shares the worker's client, logger and metrics.
// Limits outside those Config accepts are an error naming the field.
func (w *Worker) WithLimits(l Limits) (*Worker, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}

	cfg := w.cfg
	if l.InitialLookback != 0 {
		cfg.InitialLookback = l.InitialLookback
	}
	if l.MaxEventsPerKind != 0 {
		cfg.MaxEventsPerKind = l.MaxEventsPerKind
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ingestion limits: %w", err)
	}

	copied := *w
	copied.cfg = cfg
	return &copied, nil
}

// StreamResult is the outcome of a run in one stream.
type StreamResult struct {
	Kind Kind

	// Seen counts the items read from GitHub inside the window.
	Seen int

	// Ingested counts new Bronze rows, Duplicates the events Bronze
	// already held, and Dropped the events noise filters dropped.
	Ingested   int
	Duplicates int
	Dropped    int

	// Complete reports that the stream reached its lower bound; Truncated
	// that it stopped at MaxEventsPerKind with a backlog left.
	Complete  bool
	Truncated bool

	// Err is the stream's failure, nil when it did not fail.
	Err error
}

// Result is the outcome of a run.
type Result struct {
	RepoSlug string
	EstateID string
	Streams  [len(Kinds)]StreamResult

	// Requests and Points are what the run spent of GitHub's budget;
	// RateRemaining is the budget left after its last request, -1 when
	// GitHub sets no limit.
	Requests      int
	Points        int
	RateRemaining int

	Duration time.Duration
}

// Total returns the number of new Bronze rows of every stream.
func (r Result) Total() int {
	n := 0
	for _, s := range r.Streams {
		n += s.Ingested
	}
	return n
}

// IngestRepository runs one incremental ingestion of repo. A repository
// with ingestion disabled is skipped without a request or a log line.
//
// Progress is stored after every GitHub request, so a run that fails
// resumes where it stopped, and a stream GitHub refuses fails alone: the
// other streams still complete, and the run then returns the error.
func (w *Worker) IngestRepository(ctx context.Context, repo registry.Repository) (Result, error) {
	res := Result{RepoSlug: repo.Owner + "/" + repo.Name, EstateID: repo.EstateID, RateRemaining: -1}
	for _, k := range Kinds {
		res.Streams[k].Kind = k
	}
	if !repo.IngestionEnabled {
		return res, nil
	}

	start := w.now()
	w.log.InfoContext(ctx, "ingestion.run.started", "repo_slug", res.RepoSlug,
		"estate_id", repo.EstateID, "started_at", start.UTC())

	r := &run{w: w, repo: repo, start: start, res: &res}
	err := r.execute(ctx)
	res.Duration = w.now().Sub(start)
	w.metrics.observe(&res, err)

	if err != nil {
		r.recordFailure(ctx, err)
		w.log.ErrorContext(ctx, "ingestion.run.failed", "repo_slug", res.RepoSlug,
			"estate_id", repo.EstateID, "duration_seconds", res.Duration.Seconds(),
			"error_type", errorType(err), "error_category", Categorize(err),
			"error_message", err.Error())
		return res, err
	}

	w.log.InfoContext(ctx, "ingestion.run.completed", "repo_slug", res.RepoSlug,
		"estate_id", repo.EstateID, "duration_seconds", res.Duration.Seconds(),
		"commits_ingested", res.Streams[KindCommit].Ingested,
		"pull_requests_ingested", res.Streams[KindPullRequest].Ingested,
		"issues_ingested", res.Streams[KindIssue].Ingested,
		"doc_changes_ingested", res.Streams[KindDocChange].Ingested,
		"total_events", res.Total(), "github_requests", res.Requests,
		"github_points", res.Points, "github_remaining", res.RateRemaining)
	return res, nil
}

// errorType names the kind of error for logs.
func errorType(err error) string {
	var (
		apiErr    *APIError
		shapeErr  *ShapeError
		configErr *ConfigError
		storeErr  *store.Error
		partial   PartialError
	)
	switch {
	case errors.As(err, &apiErr):
		return "APIError"
	case errors.As(err, &shapeErr):
		return "ShapeError"
	case errors.As(err, &configErr):
		return "ConfigError"
	case errors.As(err, &partial):
		return "PartialError"
	case errors.Is(err, ErrNotFound):
		return "NotFound"
	case errors.Is(err, ErrConcurrentRun):
		return "ConcurrentRun"
	case errors.As(err, &storeErr):
		return "StoreError"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "ContextError"
	}
	return fmt.Sprintf("%T", err)
}

// run is the state of one IngestRepository call.
type run struct {
	w     *Worker
	repo  registry.Repository
	info  repoInfo
	start time.Time
	res   *Result

	off     *offsets
	rules   *rules
	streams [3]*stream // commits, pull requests, issues
	docs    *docStream

	branchSwitched bool
	cursorBranch   string
	files          map[string][]ChangedFile

	// headOID is the branch head at the run's first request, and
	// compareLast the last commit a capped comparison reached. noCompare
	// reports that the stored head could not be compared, so the history
	// is read by time.
	headOID     string
	compareLast string
	noCompare   bool
}

// stream is the progress of one stream during a run.
type stream struct {
	kind       Kind
	since      time.Time
	after      string
	crawlStart time.Time
	lastCursor string

	active    bool
	done      bool
	truncated bool
	resume    string
	err       error
}

// docStream is the progress of the documentation stream: one history
// per path, sharing a cap.
type docStream struct {
	crawlStart time.Time
	paths      []*stream
	histories  map[*stream]string
	seen       int
	done       []string
}

func (r *run) execute(ctx context.Context) error {
	w := r.w
	r.info = repoInfo{owner: r.repo.Owner, name: r.repo.Name, branch: r.repo.DefaultBranch}
	r.files = map[string][]ChangedFile{}

	off, err := loadOffsets(ctx, w.db, r.res.RepoSlug)
	if err != nil {
		return err
	}
	r.off = off
	off.lastAttemptAt = r.start
	if err := off.save(ctx, w.db); err != nil {
		return err
	}

	r.rules, err = loadRules(ctx, w.db, r.repo.Owner, r.repo.Name, r.repo.DocumentationPaths)
	if err != nil {
		return err
	}
	r.plan()

	for r.anyActive() {
		if err := r.round(ctx); err != nil {
			return err
		}
		if w.progress != nil {
			w.progress(*r.res)
		}
	}

	return r.finish(ctx)
}

// bound returns a stream's lower bound: its watermark, or the initial
// lookback before the crawl's start, less the overlap.
func (r *run) bound(watermark, crawlStart time.Time) time.Time {
	if watermark.IsZero() {
		return crawlStart.Add(-r.w.cfg.InitialLookback - r.w.cfg.Overlap)
	}
	return watermark.Add(-r.w.cfg.Overlap)
}

// plan positions every stream from the stored offsets.
func (r *run) plan() {
	for i, k := range []Kind{KindCommit, KindPullRequest, KindIssue} {
		stored := r.off.streams[k]
		st := &stream{kind: k, after: stored.Cursor, crawlStart: r.start, active: true}
		if stored.Cursor != "" && !stored.BacklogStart.IsZero() {
			st.crawlStart = stored.BacklogStart
		}
		st.since = r.bound(stored.Watermark, st.crawlStart)
		if stored.Cursor != "" && !stored.Since.IsZero() {
			st.since = stored.Since // a backlog keeps the bound it started with
		}
		r.streams[i] = st
	}

	// Cursors belong to the branch they were taken on: a backlog left on
	// GitHub's default branch, when the catalogue's was missing, goes on
	// there.
	r.cursorBranch = r.off.branch
	if r.cursorBranch == "" {
		r.cursorBranch = r.info.branch
	}
	if r.cursorBranch != r.info.branch && (r.streams[0].after != "" || r.off.docs.backlog()) {
		r.info.branch = r.cursorBranch
	}

	stored := r.off.streams[KindDocChange]
	d := &docStream{crawlStart: r.start, histories: map[*stream]string{}}
	resuming := r.off.docs.backlog()
	if resuming && !stored.BacklogStart.IsZero() {
		d.crawlStart = stored.BacklogStart
	}
	for _, h := range r.rules.histories() {
		if resuming && slices.Contains(r.off.docs.Done, h) {
			d.done = append(d.done, h)
			continue
		}
		watermark := stored.Watermark
		if !slices.Contains(r.off.docs.Covered, h) {
			watermark = time.Time{} // a new path is backfilled
		}
		st := &stream{
			kind: KindDocChange, after: r.off.docs.After[h], crawlStart: d.crawlStart,
			since: r.bound(watermark, d.crawlStart), active: true,
		}
		if since, ok := r.off.docs.Since[h]; ok && st.after != "" {
			st.since = since
		}
		d.paths = append(d.paths, st)
		d.histories[st] = h
	}
	r.docs = d
}

func (r *run) anyActive() bool {
	for _, st := range r.streams {
		if st.active {
			return true
		}
	}
	for _, st := range r.docs.paths {
		if st.active {
			return true
		}
	}
	return false
}

// pageSize is the page to ask for: no more than the cap leaves.
func (r *run) pageSize(seen int) int {
	return min(r.w.cfg.PageSize, r.w.cfg.MaxEventsPerKind-seen)
}

// round sends one GitHub request for every active stream, stores what it
// returns and saves the progress.
func (r *run) round(ctx context.Context) error {
	q := ActivityQuery{Owner: r.repo.Owner, Name: r.repo.Name, Branch: r.info.branch}
	pages := [3]**Page{&q.Commits, &q.PullRequests, &q.Issues}
	for i, st := range r.streams {
		if st.active {
			*pages[i] = &Page{Since: st.since, After: st.after,
				First: r.pageSize(r.res.Streams[st.kind].Seen)}
		}
	}
	var docPaths []*stream
	for _, st := range r.docs.paths {
		if st.active {
			q.Docs = append(q.Docs, PathPage{Path: r.docs.histories[st],
				Page: Page{Since: st.since, After: st.after, First: r.pageSize(r.docs.seen)}})
			docPaths = append(docPaths, st)
		}
	}

	act, err := r.w.client.Activity(ctx, q)
	if err != nil {
		r.res.Requests++ // at least the one that failed

		// The client's error names the repository and the request already.
		return err
	}
	r.res.Requests += act.Cost.Requests
	r.res.Points += act.Cost.Points
	r.res.RateRemaining = act.Cost.Remaining

	for _, e := range act.Errors {
		r.failStream(e)
	}

	readsBranch := q.Commits != nil || len(q.Docs) > 0
	if readsBranch && !act.BranchFound {
		r.missingBranch(ctx, act.DefaultBranch)
	}

	var envs []bronze.Envelope
	if st := r.streams[0]; q.Commits != nil && st.active && act.BranchFound {
		if r.headOID == "" {
			r.headOID = act.HeadOID
		}
		compared, more, err := r.compare(ctx, st, act.HeadOID)
		if err != nil {
			return err
		}
		if compared {
			envs = append(envs, more...)
		} else {
			envs = r.consumeCommits(st, act.Commits, envs)
		}
	}
	if st := r.streams[1]; q.PullRequests != nil && st.active {
		envs = r.consumePullRequests(st, act.PullRequests, envs)
	}
	if st := r.streams[2]; q.Issues != nil && st.active {
		envs = r.consumeIssues(st, act.Issues, envs)
	}
	if len(docPaths) > 0 && act.BranchFound {
		docEnvs, err := r.consumeDocs(ctx, docPaths, act.Docs)
		if err != nil {
			return err
		}
		envs = append(envs, docEnvs...)
	}

	if err := r.write(ctx, envs); err != nil {
		return err
	}
	r.store()
	return r.off.save(ctx, r.w.db)
}

// failStream stops the stream GitHub refused; the others go on.
func (r *run) failStream(e PartialError) {
	for _, st := range r.streams {
		if st.kind.String() == e.Stream && st.active {
			st.active, st.err = false, e
		}
	}
	if e.Stream == KindDocChange.String() {
		for _, st := range r.docs.paths {
			if st.active {
				st.active, st.err = false, e
			}
		}
	}
}

// missingBranch handles a branch GitHub does not have: it follows
// GitHub's default branch once, and otherwise (an empty repository)
// completes the streams that read the branch.
func (r *run) missingBranch(ctx context.Context, defaultBranch string) {
	if defaultBranch != "" && !r.branchSwitched && defaultBranch != r.info.branch {
		r.w.log.WarnContext(ctx, "ingestion.branch.missing", "repo_slug", r.res.RepoSlug,
			"branch", r.info.branch, "default_branch", defaultBranch)
		r.info.branch = defaultBranch
		r.branchSwitched = true

		// Cursors of another branch mean nothing on this one.
		if defaultBranch != r.cursorBranch {
			r.streams[0].after = ""
			for _, st := range r.docs.paths {
				st.after = ""
			}
		}
		return
	}

	if st := r.streams[0]; st.active {
		st.active, st.done = false, true
	}
	for _, st := range r.docs.paths {
		if st.active {
			st.active, st.done = false, true
		}
	}
}

// advance moves a stream past a page it read entirely.
func (r *run) advance(st *stream, info PageInfo, seen int) {
	switch {
	case !info.HasNextPage || info.EndCursor == "":
		st.active, st.done = false, true
	case seen >= r.w.cfg.MaxEventsPerKind:
		r.truncate(st, info.EndCursor)
	default:
		st.after = info.EndCursor
	}
}

// truncate stops a stream at the cap. With no cursor to resume from, it
// resumes from the start of the page it stopped in, reading some items
// again.
func (r *run) truncate(st *stream, cursor string) {
	if cursor == "" {
		cursor = st.after
	}
	st.active, st.truncated, st.resume = false, true, cursor
}

// keep applies the noise filter to an envelope.
func (r *run) keep(env bronze.Envelope, envs []bronze.Envelope) []bronze.Envelope {
	if r.rules.noise.Drops(env.Payload) {
		r.res.Streams[kindOf(env.EventType)].Dropped++
		return envs
	}
	return append(envs, env)
}

func kindOf(eventType string) Kind {
	for _, k := range Kinds {
		if k.EventType() == eventType {
			return k
		}
	}
	return KindCommit
}

func (r *run) consumeCommits(st *stream, page *CommitPage, envs []bronze.Envelope) []bronze.Envelope {
	if page == nil {
		st.active, st.err = false, &ShapeError{Field: "repository.ref.target.history"}
		return envs
	}

	sr := &r.res.Streams[KindCommit]
	for _, c := range page.Commits {
		if sr.Seen >= r.w.cfg.MaxEventsPerKind {
			r.truncate(st, st.lastCursor)
			return envs
		}
		sr.Seen++
		st.lastCursor = c.Cursor
		if c.CommittedDate.IsZero() || c.CommittedDate.Before(st.since) {
			continue
		}
		envs = r.keep(commitEnvelope(r.info, c), envs)
	}
	r.advance(st, page.PageInfo, sr.Seen)
	return envs
}

func (r *run) consumePullRequests(st *stream, page *PullRequestPage,
	envs []bronze.Envelope) []bronze.Envelope {
	if page == nil {
		st.active, st.err = false, &ShapeError{Field: "repository.pullRequests"}
		return envs
	}

	sr := &r.res.Streams[KindPullRequest]
	for _, pr := range page.PullRequests {
		// Newest updated first: the first one older than the bound ends
		// the stream.
		if pr.UpdatedAt.Before(st.since) {
			st.active, st.done = false, true
			return envs
		}
		if sr.Seen >= r.w.cfg.MaxEventsPerKind {
			r.truncate(st, st.lastCursor)
			return envs
		}
		sr.Seen++
		st.lastCursor = pr.Cursor
		envs = r.keep(pullRequestEnvelope(r.info, pr), envs)
	}
	r.advance(st, page.PageInfo, sr.Seen)
	return envs
}

func (r *run) consumeIssues(st *stream, page *IssuePage, envs []bronze.Envelope) []bronze.Envelope {
	if page == nil {
		st.active, st.err = false, &ShapeError{Field: "repository.issues"}
		return envs
	}

	sr := &r.res.Streams[KindIssue]
	for _, is := range page.Issues {
		if sr.Seen >= r.w.cfg.MaxEventsPerKind {
			r.truncate(st, st.lastCursor)
			return envs
		}
		sr.Seen++
		st.lastCursor = is.Cursor
		if is.UpdatedAt.IsZero() || is.UpdatedAt.Before(st.since) {
			continue
		}
		envs = r.keep(issueEnvelope(r.info, is), envs)
	}
	r.advance(st, page.PageInfo, sr.Seen)
	return envs
}

// consumeDocs reads one page of each documentation history and turns
// the commits into documentation changes.
func (r *run) consumeDocs(ctx context.Context, paths []*stream,
	pages []*CommitPage) ([]bronze.Envelope, error) {
	type candidate struct {
		commit  Commit
		history string
	}
	var found []candidate
	sr := &r.res.Streams[KindDocChange]

	// A failed file listing fails the documentation stream alone, from
	// where it stood before this page.
	before := make(map[*stream]stream, len(paths))
	for _, st := range paths {
		before[st] = *st
	}
	seenBefore, sampledBefore := r.docs.seen, sr.Seen
	droppedBefore := sr.Dropped

	for i, st := range paths {
		if !st.active {
			continue // refused by GitHub
		}
		if i >= len(pages) || pages[i] == nil {
			st.active, st.err = false, &ShapeError{Field: "documentation history " + r.docs.histories[st]}
			continue
		}

		page := pages[i]
		capped := false
		for _, c := range page.Commits {
			if r.docs.seen >= r.w.cfg.MaxEventsPerKind {
				r.truncate(st, st.lastCursor)
				capped = true
				break
			}
			r.docs.seen++
			sr.Seen++
			st.lastCursor = c.Cursor
			if c.CommittedDate.IsZero() || c.CommittedDate.Before(st.since) {
				continue
			}
			found = append(found, candidate{c, r.docs.histories[st]})
		}
		if !capped {
			r.advance(st, page.PageInfo, r.docs.seen)
		}
	}

	var envs []bronze.Envelope
	emitted := map[string]bool{}
	for _, f := range found {
		// A commit that is noise makes its documentation changes noise
		// too, and costs no file listing.
		if r.rules.noise.Drops(commitEnvelope(r.info, f.commit).Payload) {
			sr.Dropped++
			continue
		}

		changes, err := r.docChanges(ctx, f.commit, f.history)
		if err != nil {
			for st, prev := range before {
				*st = prev
				st.active, st.err = false, err
			}
			r.docs.seen, sr.Seen, sr.Dropped = seenBefore, sampledBefore, droppedBefore
			r.w.log.WarnContext(ctx, "ingestion.stream.failed", "repo_slug", r.res.RepoSlug,
				"stream_kind", KindDocChange.String(), "error_message", err.Error())
			return nil, nil
		}
		for _, env := range changes {
			if !emitted[env.SourceEventID] {
				emitted[env.SourceEventID] = true
				envs = r.keep(env, envs)
			}
		}
	}
	return envs, nil
}

// docChanges returns the documentation changes of a commit found in the
// history of one path. A configured file read through that history gives
// one change. Each changed file in a configured folder or matching a
// glob read through it gives one more, with its path and change type,
// which needs the commit's file list.
func (r *run) docChanges(ctx context.Context, c Commit, history string) ([]bronze.Envelope, error) {
	var out []bronze.Envelope
	var globs []docPattern
	for _, p := range r.rules.docs {
		switch {
		case p.history != history:
		case p.file:
			out = append(out, docChangeEnvelope(r.info, c, p.glob.String(), "modified"))
		default:
			globs = append(globs, p)
		}
	}
	if len(globs) == 0 {
		return out, nil
	}

	files, err := r.commitFiles(ctx, c.OID)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, g := range globs {
			if g.glob.Match(f.Path) {
				out = append(out, docChangeEnvelope(r.info, c, f.Path, f.Status))
				break
			}
		}
	}
	return out, nil
}

// NOTE: a commit inside the overlap of a folder's or glob's history is
// listed again by the next run, one REST request each, because nothing
// records which commits' files were already read.
func (r *run) commitFiles(ctx context.Context, sha string) ([]ChangedFile, error) {
	if files, ok := r.files[sha]; ok {
		return files, nil
	}

	cf, err := r.w.client.CommitFiles(ctx, r.repo.Owner, r.repo.Name, sha)
	if err != nil {
		r.res.Requests++ // at least the one that failed
		return nil, fmt.Errorf("list the files of commit %s in %s: %w", sha, r.res.RepoSlug, err)
	}
	r.res.Requests += cf.Requests
	r.files[sha] = cf.Files
	return cf.Files, nil
}

// write appends the envelopes to Bronze in one transaction.
func (r *run) write(ctx context.Context, envs []bronze.Envelope) error {
	valid := envs[:0]
	for _, env := range envs {
		if env.OccurredAt.IsZero() {
			r.w.log.WarnContext(ctx, "ingestion.item.skipped", "repo_slug", r.res.RepoSlug,
				"event_type", env.EventType, "source_event_id", env.SourceEventID,
				"reason", "GitHub gave no time for it")
			continue
		}
		valid = append(valid, env)
	}
	if len(valid) == 0 {
		return nil
	}

	results, err := r.w.writer.WriteBatch(ctx, valid)
	if err != nil {
		return fmt.Errorf("store events of %s in Bronze: %w", r.res.RepoSlug, err)
	}
	for i, res := range results {
		sr := &r.res.Streams[kindOf(valid[i].EventType)]
		if res.Duplicate {
			sr.Duplicates++
		} else {
			sr.Ingested++
		}
	}
	return nil
}

// persisted returns what to store of a stream's progress.
func persisted(st *stream, stored streamOffsets) streamOffsets {
	switch {
	case st.done:
		return streamOffsets{Watermark: st.crawlStart}
	case st.truncated:
		return streamOffsets{Cursor: st.resume, BacklogStart: st.crawlStart,
			Watermark: stored.Watermark, Since: st.since}
	case st.after != "":
		return streamOffsets{Cursor: st.after, BacklogStart: st.crawlStart,
			Watermark: stored.Watermark, Since: st.since}
	}
	return stored
}

// store copies the run's progress into the offsets.
func (r *run) store() {
	for _, st := range r.streams {
		r.off.streams[st.kind] = persisted(st, r.off.streams[st.kind])
	}

	r.off.branch = r.info.branch
	r.storeHead()

	d := r.docs
	complete := true
	after := map[string]string{}
	since := map[string]time.Time{}
	var done []string
	done = append(done, d.done...)
	for _, st := range d.paths {
		h := d.histories[st]
		p := persisted(st, streamOffsets{Cursor: r.off.docs.After[h]})
		switch {
		case st.done:
			done = append(done, h)
		case p.Cursor != "":
			after[h] = p.Cursor
			since[h] = st.since
			complete = false
		default:
			complete = false
		}
	}

	if complete {
		r.off.streams[KindDocChange] = streamOffsets{Watermark: d.crawlStart}
		r.off.docs = docOffsets{Covered: r.rules.histories()}
		return
	}
	r.off.streams[KindDocChange].Cursor = ""
	r.off.streams[KindDocChange].BacklogStart = d.crawlStart
	if len(after) == 0 {
		after, since = nil, nil
	}
	r.off.docs.After = after
	r.off.docs.Since = since
	r.off.docs.Done = done
}

// storeHead records the commit the commit stream reached. A crawl that
// began in this run and completed saw everything up to the head it
// started from. A capped comparison reached the last commit it read. A
// backlog begun in an earlier run and completed now may have missed
// commits pushed since it began, so the head is forgotten and the next
// run reads the history from the watermark instead.
func (r *run) storeHead() {
	c := r.streams[0]
	switch {
	case c.done && c.crawlStart.Equal(r.start):
		if r.headOID != "" {
			r.off.head = r.headOID
		}
	case c.truncated && r.compareLast != "":
		r.off.head = r.compareLast
	case c.done:
		r.off.head = ""
	}
}

// compare reads the commits pushed since the stored head through
// GitHub's comparison, which finds commits by ancestry, so commits with
// dates older than the last run (a late push, a merged branch) are not
// missed. It reports false when there is nothing to compare with, or the
// stored head is gone or no longer an ancestor (a force push): then the
// history is read by time.
func (r *run) compare(ctx context.Context, st *stream, head string) (bool, []bronze.Envelope, error) {
	base := r.off.head
	if base == "" || head == "" || st.after != "" || r.noCompare {
		return false, nil, nil
	}
	if base == head {
		st.active, st.done = false, true
		return true, nil, nil
	}

	sr := &r.res.Streams[KindCommit]
	var envs []bronze.Envelope
	for page := 1; ; page++ {
		cmp, err := r.w.client.Compare(ctx, r.repo.Owner, r.repo.Name, base, head, page)
		if errors.Is(err, ErrNotFound) {
			r.res.Requests++
			r.noCompare = true
			r.w.log.WarnContext(ctx, "ingestion.history.rewritten", "repo_slug", r.res.RepoSlug,
				"branch", r.info.branch, "reason", "the last head is gone")
			return false, nil, nil
		}
		if err != nil {
			r.res.Requests++
			return false, nil, fmt.Errorf("compare %s with %s in %s: %w", base, head, r.res.RepoSlug, err)
		}
		r.res.Requests += cmp.Requests

		if cmp.Status == "diverged" || cmp.Status == "behind" {
			r.noCompare = true
			r.w.log.WarnContext(ctx, "ingestion.history.rewritten", "repo_slug", r.res.RepoSlug,
				"branch", r.info.branch, "reason", "the last head is no longer an ancestor")
			return false, nil, nil
		}
		for _, c := range cmp.Commits {
			if sr.Seen >= r.w.cfg.MaxEventsPerKind {
				st.active, st.truncated = false, true
				return true, envs, nil
			}
			sr.Seen++
			r.compareLast = c.OID
			envs = r.keep(commitEnvelope(r.info, c), envs)
			envs = r.lateDocChanges(ctx, c, envs)
		}
		if !cmp.HasNextPage {
			break
		}
	}
	st.active, st.done = false, true
	return true, envs, nil
}

// lateDocChanges adds the documentation changes of a compared commit
// whose date is older than every documentation history's lower bound, so
// those histories, filtered by date, never list it.
func (r *run) lateDocChanges(ctx context.Context, c Commit, envs []bronze.Envelope) []bronze.Envelope {
	if len(r.rules.docs) == 0 || len(r.docs.paths) == 0 {
		return envs
	}
	for _, st := range r.docs.paths {
		if !c.CommittedDate.Before(st.since) || st.err != nil {
			return envs
		}
	}

	files, err := r.commitFiles(ctx, c.OID)
	if err != nil {
		for _, st := range r.docs.paths {
			st.active, st.err = false, err
		}
		return envs
	}
	for _, f := range files {
		for _, p := range r.rules.docs {
			if !p.glob.Match(f.Path) {
				continue
			}
			path, change := f.Path, f.Status
			if p.file {
				path, change = p.glob.String(), "modified"
			}
			envs = r.keep(docChangeEnvelope(r.info, c, path, change), envs)
			break
		}
	}
	return envs
}

// finish logs each stream's outcome and records the run.
func (r *run) finish(ctx context.Context) error {
	var failed []error
	for _, k := range Kinds {
		sr := &r.res.Streams[k]
		var sts []*stream
		if k == KindDocChange {
			sts = r.docs.paths
		} else {
			sts = []*stream{r.streams[k]}
		}

		sr.Complete = true
		for _, st := range sts {
			sr.Truncated = sr.Truncated || st.truncated
			sr.Complete = sr.Complete && st.done
			if st.err != nil && sr.Err == nil {
				sr.Err = fmt.Errorf("%s stream: %w", k, st.err)
			}
		}
		if sr.Err != nil {
			failed = append(failed, sr.Err)
			continue
		}

		if sr.Truncated {
			r.w.log.WarnContext(ctx, "ingestion.stream.truncated", "repo_slug", r.res.RepoSlug,
				"estate_id", r.repo.EstateID, "stream_kind", k.String(),
				"events_processed", sr.Seen, "max_events", r.w.cfg.MaxEventsPerKind,
				"has_resume_cursor", true)
		}
		r.w.log.InfoContext(ctx, "ingestion.stream.completed", "repo_slug", r.res.RepoSlug,
			"estate_id", r.repo.EstateID, "stream_kind", k.String(),
			"events_ingested", sr.Ingested, "duplicates", sr.Duplicates, "dropped", sr.Dropped)
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}

	r.off.lastSuccessAt = r.w.now()
	r.off.errorCategory, r.off.errorMessage = "", ""
	return r.off.save(ctx, r.w.db)
}

// recordFailure stores the failure on the offsets row, unless another
// run owns it now.
func (r *run) recordFailure(ctx context.Context, err error) {
	if r.off == nil || errors.Is(err, ErrConcurrentRun) {
		return
	}

	r.off.errorCategory = Categorize(err)
	msg := err.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	r.off.errorMessage = strings.ToValidUTF8(msg, "")

	// A cancelled run still records why it stopped.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if saveErr := r.off.save(ctx, r.w.db); saveErr != nil {
		r.w.log.WarnContext(ctx, "ingestion.offsets.unsaved", "repo_slug", r.res.RepoSlug,
			"error_message", saveErr.Error())
	}
}

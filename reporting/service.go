package reporting

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

// ValidationError reports that every attempt at a report failed
// validation. The window was marked for review and no report stored.
type ValidationError struct {
	Issues      []gold.ValidationIssue
	ReviewID    string
	ReviewState gold.ReviewState
}

func (e *ValidationError) Error() string {
	issues := "1 issue"
	if len(e.Issues) != 1 {
		issues = fmt.Sprintf("%d issues", len(e.Issues))
	}
	if e.ReviewState == gold.ReviewResolved {
		return fmt.Sprintf("Report failed validation with %s after retries exhausted; its "+
			"review %s was resolved earlier and stays resolved", issues, e.ReviewID)
	}
	return fmt.Sprintf("Report failed validation with %s after retries exhausted; "+
		"marked for review as %s", issues, e.ReviewID)
}

// Service writes reports for repositories, projects and estates.
type Service struct {
	db      *store.DB
	gold    *gold.Store
	builder *evidence.Builder
	model   status.Model
	sink    Sink
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithSink writes every stored report's Markdown to sink.
func WithSink(sink Sink) Option { return func(s *Service) { s.sink = sink } }

// WithLogger sends the service's log events to l. Without it, or with
// nil, the service logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithBuilder replaces the evidence builder, to change its classifier.
func WithBuilder(b *evidence.Builder) Option { return func(s *Service) { s.builder = b } }

// NewService returns a service storing reports in db, which must be
// migrated, written by model. A Config with SinkPath set writes Markdown
// to a FilesystemSink there unless WithSink gives another sink.
func NewService(db *store.DB, model status.Model, cfg Config, opts ...Option) (*Service, error) {
	if cfg.WindowDays < 1 || cfg.WindowDays > MaxWindowDays {
		return nil, fmt.Errorf("reporting window of %d days: use 1 to %d", cfg.WindowDays, MaxWindowDays)
	}
	if cfg.MaxAttempts < 1 || cfg.MaxAttempts > MaxAttempts {
		return nil, fmt.Errorf("%d validation attempts: use 1 to %d", cfg.MaxAttempts, MaxAttempts)
	}

	s := &Service{db: db, gold: gold.NewStore(db), builder: evidence.NewBuilder(db), model: model,
		cfg: cfg, log: slog.New(slog.DiscardHandler), now: time.Now}
	if cfg.SinkPath != "" {
		s.sink = FilesystemSink{Base: cfg.SinkPath}
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// RunOptions choose a run's window. With Start and End set the window is
// [Start, End). Otherwise it ends at AsOf (now when zero) and starts
// where the subject's last report ended, or WindowDays earlier for a
// first report.
type RunOptions struct {
	AsOf  time.Time
	Start time.Time
	End   time.Time

	// WindowDays is the length of a first window in days, for a subject
	// without a report, from 1 to MaxWindowDays. Zero takes
	// Config.WindowDays. Later windows start where the last report ended
	// whatever its value.
	WindowDays int
}

// Outcome is the result of one report run.
type Outcome struct {
	Scope   gold.Scope
	Subject string // owner/name, project key or estate key

	WindowStart time.Time
	WindowEnd   time.Time

	// Report is the stored report; nil when the run was skipped.
	Report *gold.Report

	// Created is false when another run stored this window's report
	// first and Report is that one.
	Created bool

	// Skipped reports a repository window without events: nothing was
	// stored and the model was not called.
	Skipped bool

	Markdown string
	Metrics  status.Metrics

	// Err is the report's failure, or ErrNotRun for a roll-up that was
	// not written, and nil on success. Only the estate runs return
	// outcomes with an error.
	Err error
}

// ErrWindow marks a window that cannot be reported: one that ends in the
// future, or an as-of time before the end of the last report. Errors
// wrapping gold.ErrOverlap mark a window that overlaps another report.
var ErrWindow = errors.New("invalid reporting window")

// MaxClockSkew is how far ahead of this machine's clock a window may
// end, for callers whose clocks run a little fast. Callers that check a
// window before they queue it use the same margin.
const MaxClockSkew = 5 * time.Minute

// ErrNotRun marks a project or estate report an estate run did not
// write because a report it summarises failed: a roll-up of partial
// evidence would be stored for good.
var ErrNotRun = errors.New("not written, because a report it summarises failed")

// window returns the window of a run.
func (s *Service) window(ctx context.Context, sub gold.Subject, opts RunOptions) (time.Time, time.Time, error) {
	if opts.WindowDays < 0 || opts.WindowDays > MaxWindowDays {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: a first window of %d days: use 1 to %d",
			ErrWindow, opts.WindowDays, MaxWindowDays)
	}
	if !opts.Start.IsZero() || !opts.End.IsZero() {
		if opts.Start.IsZero() || opts.End.IsZero() {
			return time.Time{}, time.Time{}, errors.New("a window needs both a start and an end")
		}
		if !opts.End.After(opts.Start) {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: window end %s must be after its start %s",
				ErrWindow, opts.End.UTC().Format(time.RFC3339), opts.Start.UTC().Format(time.RFC3339))
		}
		if err := s.notFuture(opts.End); err != nil {
			return time.Time{}, time.Time{}, err
		}
		// An explicit window that overlaps another report would report its
		// events twice; rejecting it here spares the bundle and the model.
		if err := s.checkOverlap(ctx, sub, opts.Start.UTC(), opts.End.UTC()); err != nil {
			return time.Time{}, time.Time{}, err
		}
		return opts.Start.UTC(), opts.End.UTC(), nil
	}
	if !opts.AsOf.IsZero() {
		if err := s.notFuture(opts.AsOf); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	days := s.cfg.WindowDays
	if opts.WindowDays != 0 {
		days = opts.WindowDays
	}
	return s.nextWindow(ctx, sub, opts.AsOf, days)
}

// notFuture rejects a window end in the future: a report of it would
// cover time that has not passed, and every later window would start
// after it.
func (s *Service) notFuture(end time.Time) error {
	if now := s.now(); end.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: %s is in the future (it is now %s): choose a time that has passed",
			ErrWindow, end.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// NextWindow returns the window a report of the subject would cover as
// of asOf (now when zero): from where its last report ended, or
// Config.WindowDays before asOf for a first report, to asOf. When the
// last report ends at asOf, its window is returned.
func (s *Service) NextWindow(ctx context.Context, sub gold.Subject, asOf time.Time) (time.Time, time.Time, error) {
	return s.nextWindow(ctx, sub, asOf, s.cfg.WindowDays)
}

// nextWindow is NextWindow with a first window of days.
func (s *Service) nextWindow(ctx context.Context, sub gold.Subject, asOf time.Time,
	days int) (time.Time, time.Time, error) {
	if asOf.IsZero() {
		asOf = s.now()
	}
	end := asOf.UTC()

	last, err := s.gold.Latest(ctx, sub)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if last == nil {
		return end.AddDate(0, 0, -days), end, nil
	}
	if last.WindowEnd.After(end) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: as of %s predates the end of the last "+
			"report's window, %s: choose a later time", ErrWindow, end.Format(time.RFC3339),
			last.WindowEnd.Format(time.RFC3339))
	}
	if end.Equal(last.WindowEnd) {
		// Reported already: a run returns that report again.
		return last.WindowStart, last.WindowEnd, nil
	}
	return last.WindowEnd, end, nil
}

// attempt is one subject's report in the making.
type attempt struct {
	scope    gold.Scope
	subject  gold.Subject
	name     string
	estateID string
	start    time.Time
	end      time.Time
	coverage []int64
	summary  func(ctx context.Context) (status.Result, error)
	validate func(gold.MachineSummary) []gold.ValidationIssue
	render   func(gold.Report) string
	folder   []string
}

// run requests summaries from the model until one passes validation,
// stores it and sends its Markdown to the sink.
func (s *Service) run(ctx context.Context, a attempt) (Outcome, error) {
	out := Outcome{Scope: a.scope, Subject: a.name, WindowStart: a.start, WindowEnd: a.end}

	// A window reported already, by this run's twin or an earlier one,
	// costs no model call.
	existing, err := s.gold.ForWindow(ctx, a.subject, a.start, a.end)
	if err != nil {
		return out, err
	}
	if existing != nil {
		out.Report, out.Markdown = existing, a.render(*existing)
		return out, s.write(ctx, a, *existing, out.Markdown, true)
	}

	started := time.Now()
	s.log.InfoContext(ctx, "reporting.report.started", "scope", a.scope, "subject", a.name,
		"window_start", a.start, "window_end", a.end)

	fail := func(err error) (Outcome, error) {
		s.log.ErrorContext(ctx, "reporting.report.failed", "scope", a.scope, "subject", a.name,
			"duration_seconds", time.Since(started).Seconds(), "error_type", errorType(err),
			"error_message", err.Error())
		return out, err
	}

	var (
		res    status.Result
		issues []gold.ValidationIssue
	)
	for range s.cfg.MaxAttempts {
		callStart := time.Now()
		callCtx := ctx
		if len(issues) > 0 {
			// A retry gives the model the checks its last response failed.
			problems := make([]string, len(issues))
			for i, issue := range issues {
				problems[i] = issue.Message
			}
			callCtx = status.WithFeedback(ctx, problems)
		}
		var err error
		res, err = a.summary(callCtx)
		if err != nil {
			return fail(fmt.Errorf("%s report of %s: %w", a.scope, a.name, err))
		}
		if res.Metrics.Latency == nil {
			d := time.Since(callStart)
			res.Metrics.Latency = &d
		}
		issues = a.validate(res.MachineSummary())
		if len(issues) == 0 {
			break
		}
		s.log.WarnContext(ctx, "reporting.report.invalid", "scope", a.scope, "subject", a.name,
			"issues", len(issues), "first_issue", issues[0].Code)
	}
	out.Metrics = res.Metrics

	if len(issues) > 0 {
		review, err := s.gold.MarkForReview(ctx, gold.Review{Subject: a.subject, EstateID: a.estateID,
			WindowStart: a.start, WindowEnd: a.end, Model: res.Metrics.Model,
			AttemptCount: s.cfg.MaxAttempts, Issues: issues})
		if err != nil {
			return fail(err)
		}
		return fail(&ValidationError{Issues: issues, ReviewID: review.ID, ReviewState: review.State})
	}

	report, created, err := s.gold.Insert(ctx, gold.Report{Subject: a.subject, EstateID: a.estateID,
		WindowStart: a.start, WindowEnd: a.end, GeneratedAt: s.now(), Model: res.Metrics.Model,
		Provider: res.Metrics.Provider, HumanText: res.Summary, Summary: res.MachineSummary(),
		LatencyMS: latencyMS(res.Metrics.Latency), PromptTokens: intPtr(res.Metrics.PromptTokens),
		CompletionTokens: intPtr(res.Metrics.CompletionTokens),
		TotalTokens:      intPtr(res.Metrics.TotalTokens)}, a.coverage)
	if err != nil {
		return fail(err)
	}
	out.Report, out.Created = &report, created
	out.Markdown = a.render(report)
	if created {
		err := s.gold.ResolveWindow(ctx, a.subject, a.start, a.end, "a later run passed validation")
		if err != nil {
			return fail(err)
		}
	}

	if err := s.write(ctx, a, report, out.Markdown, !created); err != nil {
		return fail(err)
	}

	s.log.InfoContext(ctx, "reporting.report.completed", "scope", a.scope, "subject", a.name,
		"report_id", report.ID, "created", created, "model", report.Model,
		"latency_ms", value(report.LatencyMS), "prompt_tokens", value(report.PromptTokens),
		"completion_tokens", value(report.CompletionTokens), "total_tokens", value(report.TotalTokens))
	return out, nil
}

// checkOverlap returns an error wrapping gold.ErrOverlap when another
// report of the subject overlaps the window without being it.
func (s *Service) checkOverlap(ctx context.Context, sub gold.Subject, start, end time.Time) error {
	clash, err := s.gold.Overlapping(ctx, sub, start, end)
	if err != nil || clash == nil {
		return err
	}
	name, err := s.gold.SubjectName(ctx, sub)
	if err != nil || name == "" {
		name = sub.ID
	}
	return fmt.Errorf("window %s to %s of %s %s: %w (report %s covers %s to %s)",
		start.Format(time.RFC3339), end.Format(time.RFC3339), sub.Scope, name, gold.ErrOverlap,
		clash.ID, clash.WindowStart.Format(time.RFC3339), clash.WindowEnd.Format(time.RFC3339))
}

// write sends a stored report's Markdown to the sink, as the subject's
// latest only when no later window is reported. The report stays stored
// when this fails, and running the same window again writes it.
func (s *Service) write(ctx context.Context, a attempt, r gold.Report, markdown string, rewrite bool) error {
	if s.sink == nil {
		return nil
	}
	latest, err := s.gold.Latest(ctx, a.subject)
	if err != nil {
		return err
	}
	doc := Document{Folder: a.folder, ReportID: r.ID, WindowEnd: r.WindowEnd, Markdown: markdown,
		Latest: latest != nil && latest.ID == r.ID, Rewrite: rewrite}
	if err := s.sink.Write(ctx, doc); err != nil {
		return fmt.Errorf("report %s is stored, but writing its Markdown failed: %w", r.ID, err)
	}
	return nil
}

func errorType(err error) string {
	var (
		v   *ValidationError
		api *status.APIError
		re  *status.ResponseError
		se  *store.Error
	)
	switch {
	case errors.As(err, &v):
		return "ValidationError"
	case errors.As(err, &api):
		return "APIError"
	case errors.As(err, &re):
		return "ResponseError"
	case errors.As(err, &se):
		return "StoreError"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	case errors.Is(err, ErrWindow):
		return "WindowError"
	case errors.Is(err, gold.ErrOverlap):
		return "OverlapError"
	}
	// A wrapped error's own type, such as *fmt.wrapError, does not name
	// its cause.
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return fmt.Sprintf("%T", err)
		}
		err = inner
	}
}

// latencyMS rounds half to even, as the Python Ghillie did.
func latencyMS(d *time.Duration) *int {
	if d == nil {
		return nil
	}
	n := int(math.RoundToEven(float64(*d) / float64(time.Millisecond)))
	return &n
}

// value returns what p points at, or nil, so that a log line shows the
// number rather than the pointer.
func value(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func intPtr(v *int64) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

// RunRepository reports on a repository. A window without events is
// skipped: nothing is stored and the model is not called.
func (s *Service) RunRepository(ctx context.Context, repositoryID string, opts RunOptions) (Outcome, error) {
	sub := gold.Subject{Scope: gold.ScopeRepository, ID: repositoryID}
	start, end, err := s.window(ctx, sub, opts)
	if err != nil {
		return Outcome{}, err
	}
	b, err := s.builder.Repository(ctx, repositoryID, start, end)
	if err != nil {
		return Outcome{}, err
	}

	slug := b.Repository.Slug()
	att := attempt{
		scope: gold.ScopeRepository, subject: sub, name: slug, estateID: b.Repository.EstateID,
		start: start, end: end, coverage: b.EventFactIDs,
		summary: func(ctx context.Context) (status.Result, error) {
			return s.model.SummarizeRepository(ctx, b)
		},
		validate: func(ms gold.MachineSummary) []gold.ValidationIssue { return ValidateRepository(ms, b) },
		render: func(r gold.Report) string {
			return RenderRepository(r, b.Repository.Owner, b.Repository.Name)
		},
		folder: []string{b.Repository.Owner, b.Repository.Name},
	}
	if b.TotalEvents() > 0 {
		return s.run(ctx, att)
	}

	// Another run may have reported this window and covered its events:
	// then run returns that report.
	existing, err := s.gold.ForWindow(ctx, sub, start, end)
	if err != nil {
		return Outcome{}, err
	}
	if existing != nil {
		return s.run(ctx, att)
	}
	s.log.InfoContext(ctx, "reporting.report.skipped", "scope", gold.ScopeRepository,
		"subject", slug, "window_start", start, "window_end", end, "reason", "no events")
	return Outcome{Scope: gold.ScopeRepository, Subject: slug, WindowStart: start,
		WindowEnd: end, Skipped: true}, nil
}

// HasEvents reports whether RunRepository with opts would return a
// report rather than skip the repository, without building its evidence.
// That is so when the window is reported already, or when it holds an
// event that no report of the repository covers (the window's or a late
// one, as the repository's bundle collects them). Background jobs use it
// to skip repositories with nothing to report before they queue a report.
func (s *Service) HasEvents(ctx context.Context, repositoryID string, opts RunOptions) (bool, error) {
	sub := gold.Subject{Scope: gold.ScopeRepository, ID: repositoryID}
	start, end, err := s.window(ctx, sub, opts)
	if err != nil {
		return false, err
	}

	// A reported window covers its events, so the query below finds none,
	// yet RunRepository returns that report as existing.
	existing, err := s.gold.ForWindow(ctx, sub, start, end)
	if err != nil || existing != nil {
		return existing != nil, err
	}

	// Like the bundle, look back to the first report's start, for events
	// that arrived after their window was reported.
	var first *store.Time
	err = s.db.GetContext(ctx, &first, s.db.Rebind(`SELECT min(window_start) FROM reports
		WHERE scope = 'repository' AND repository_id = ?`), repositoryID)
	if err != nil {
		return false, fmt.Errorf("read reports of repository %s: %w", repositoryID, store.Classify(err))
	}
	if first != nil && first.Before(start) {
		start = first.Time
	}

	var found []int
	err = s.db.SelectContext(ctx, &found, s.db.Rebind(`SELECT 1 FROM event_facts ef
		JOIN repositories r ON ef.repo_external_id = r.github_owner || '/' || r.github_name
		WHERE r.id = ? AND ef.occurred_at >= ? AND ef.occurred_at < ?
		AND NOT EXISTS (
			SELECT 1 FROM report_coverage rc JOIN reports g ON g.id = rc.report_id
			WHERE rc.event_fact_id = ef.id AND g.scope = 'repository' AND g.repository_id = r.id)
		LIMIT 1`), repositoryID, store.NewTime(start), store.NewTime(end))
	if err != nil {
		return false, fmt.Errorf("look for events of repository %s: %w", repositoryID, store.Classify(err))
	}
	return len(found) > 0, nil
}

// estateKey returns an estate's key.
func (s *Service) estateKey(ctx context.Context, estateID string) (string, error) {
	var key string
	cat := s.db.Catalogue()
	err := cat.GetContext(ctx, &key, cat.Rebind(`SELECT key FROM estates WHERE id = ?`), estateID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("estate %s: %w", estateID, evidence.ErrEstateNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read estate %s: %w", estateID, store.Classify(err))
	}
	return key, nil
}

// RunProject reports on a project of an estate from its components'
// latest repository reports.
func (s *Service) RunProject(ctx context.Context, estateID, projectKey string, opts RunOptions) (Outcome, error) {
	var p struct {
		Name        string         `db:"name"`
		Description sql.NullString `db:"description"`
	}
	cat := s.db.Catalogue()
	err := cat.GetContext(ctx, &p, cat.Rebind(`SELECT name, description FROM projects
		WHERE estate_id = ? AND key = ?`), estateID, projectKey)
	if errors.Is(err, sql.ErrNoRows) {
		key, keyErr := s.estateKey(ctx, estateID)
		if keyErr != nil {
			return Outcome{}, keyErr
		}
		return Outcome{}, fmt.Errorf("project %q of estate %q: %w", projectKey, key,
			evidence.ErrProjectNotFound)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("read project %q: %w", projectKey, store.Classify(err))
	}
	ref, err := s.gold.EnsureProject(ctx, gold.ProjectRef{Key: projectKey, Name: p.Name,
		Description: p.Description.String, EstateID: estateID})
	if err != nil {
		return Outcome{}, err
	}

	sub := gold.Subject{Scope: gold.ScopeProject, ID: ref.ID}
	start, end, err := s.window(ctx, sub, opts)
	if err != nil {
		return Outcome{}, err
	}
	estateKey, err := s.estateKey(ctx, estateID)
	if err != nil {
		return Outcome{}, err
	}
	a, err := s.projectAttempt(ctx, estateID, estateKey, projectKey, sub, start, end)
	if err != nil {
		return Outcome{}, err
	}
	return s.run(ctx, a)
}

// projectAttempt builds the evidence of a project's window and returns
// the attempt that reports on it.
func (s *Service) projectAttempt(ctx context.Context, estateID, estateKey, projectKey string,
	sub gold.Subject, start, end time.Time) (attempt, error) {
	b, err := s.builder.Project(ctx, estateID, projectKey, start, end)
	if err != nil {
		return attempt{}, err
	}
	return attempt{
		scope: gold.ScopeProject, subject: sub, name: projectKey, estateID: estateID,
		start: start, end: end,
		summary: func(ctx context.Context) (status.Result, error) {
			return s.model.SummarizeProject(ctx, b)
		},
		validate: func(ms gold.MachineSummary) []gold.ValidationIssue { return ValidateProject(ms, b) },
		render:   func(r gold.Report) string { return RenderProject(r, b) },
		folder:   projectFolder(estateKey, projectKey),
	}, nil
}

// projectFolder is the sink folder of a project's reports, inside its
// estate's, so that two estates may use the same project key.
func projectFolder(estateKey, projectKey string) []string {
	return []string{"estates", estateKey, "projects", projectKey}
}

// estateFolder is the sink folder of an estate's reports.
func estateFolder(estateKey string) []string {
	return []string{"estates", estateKey}
}

// RunEstate reports on an estate from its projects' latest reports.
func (s *Service) RunEstate(ctx context.Context, estateID string, opts RunOptions) (Outcome, error) {
	key, err := s.estateKey(ctx, estateID)
	if err != nil {
		return Outcome{}, err
	}

	sub := gold.Subject{Scope: gold.ScopeEstate, ID: estateID}
	start, end, err := s.window(ctx, sub, opts)
	if err != nil {
		return Outcome{}, err
	}
	a, err := s.estateAttempt(ctx, estateID, key, start, end)
	if err != nil {
		return Outcome{}, err
	}
	return s.run(ctx, a)
}

// estateAttempt builds the evidence of an estate's window and returns the
// attempt that reports on it.
func (s *Service) estateAttempt(ctx context.Context, estateID, key string, start, end time.Time,
) (attempt, error) {
	b, err := s.builder.Estate(ctx, estateID, start, end)
	if err != nil {
		return attempt{}, err
	}
	return attempt{
		scope: gold.ScopeEstate, subject: gold.Subject{Scope: gold.ScopeEstate, ID: estateID},
		name: key, estateID: estateID,
		start: start, end: end,
		summary: func(ctx context.Context) (status.Result, error) {
			return s.model.SummarizeEstate(ctx, b)
		},
		validate: func(ms gold.MachineSummary) []gold.ValidationIssue { return ValidateEstate(ms, b) },
		render:   func(r gold.Report) string { return RenderEstate(r, b) },
		folder:   estateFolder(key),
	}, nil
}

// RepositoryError is one repository's failure in RunEstateRepositories.
type RepositoryError struct {
	RepositoryID string
	Slug         string
	Err          error
}

func (e RepositoryError) Error() string { return e.Slug + ": " + e.Err.Error() }
func (e RepositoryError) Unwrap() error { return e.Err }

// maxConcurrentReports bounds the repository reports one estate run
// writes at once.
const maxConcurrentReports = 10

// RunEstateRepositories reports on every repository of the estate with
// ingestion enabled, ordered by owner and name, at most ten at a time,
// each with the same options. Repositories without events are skipped.
// A failure does not stop the others: the outcomes of every repository
// are returned, with an error joining the failures.
func (s *Service) RunEstateRepositories(ctx context.Context, estateID string, opts RunOptions) ([]Outcome, error) {
	var repos []struct {
		ID    string `db:"id"`
		Owner string `db:"github_owner"`
		Name  string `db:"github_name"`
	}
	err := s.db.SelectContext(ctx, &repos, s.db.Rebind(`SELECT r.id, r.github_owner, r.github_name
		FROM repositories r
		JOIN repository_estates re ON re.repository_id = r.id
		WHERE re.estate_id = ? AND r.ingestion_enabled
		ORDER BY lower(r.github_owner), lower(r.github_name), r.id`), estateID)
	if err != nil {
		return nil, fmt.Errorf("list repositories of estate %s: %w", estateID, store.Classify(err))
	}
	if opts.AsOf.IsZero() && opts.Start.IsZero() {
		opts.AsOf = s.now() // one end for every repository
	}

	outcomes := make([]Outcome, len(repos))
	errs := make([]error, len(repos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxConcurrentReports)
	for i, repo := range repos {
		g.Go(func() error {
			slug := repo.Owner + "/" + repo.Name
			out, err := s.RunRepository(gctx, repo.ID, opts)
			if err != nil {
				out = Outcome{Scope: gold.ScopeRepository, Subject: slug, WindowStart: out.WindowStart,
					WindowEnd: out.WindowEnd, Err: err}
				errs[i] = RepositoryError{RepositoryID: repo.ID, Slug: slug, Err: err}
			}
			outcomes[i] = out
			return nil
		})
	}
	_ = g.Wait() // failures are in errs; none cancels the others

	return outcomes, errors.Join(errs...)
}

// RunEstateAll reports on an estate from the bottom up: every repository
// with ingestion enabled, then every project, ordered by key, then the
// estate itself, all with one window end. A failed repository report
// leaves the projects and the estate unwritten, and a failed project
// report the estate, with outcomes whose Err is ErrNotRun: a roll-up
// of partial evidence would otherwise stand for that window for good.
// The projects and the estate are skipped when no repository report was
// written since the estate's latest report. Failures are joined into the
// returned error.
func (s *Service) RunEstateAll(ctx context.Context, estateID string, opts RunOptions) ([]Outcome, error) {
	if opts.AsOf.IsZero() && opts.Start.IsZero() {
		opts.AsOf = s.now()
	}

	outcomes, repoErr := s.RunEstateRepositories(ctx, estateID, opts)
	rollups, err := s.runRollups(ctx, estateID, opts, repoErr != nil)
	return append(outcomes, rollups...), errors.Join(repoErr, err)
}

// freshEvidence reports whether the estate's project and estate reports
// have something new to summarise: a repository report written after the
// estate's latest report, or any repository report when it has none.
// Without it a roll-up would restate the last one for a window of the few
// moments since.
func (s *Service) freshEvidence(ctx context.Context, estateID string) (bool, error) {
	var last *store.Time
	err := s.db.GetContext(ctx, &last, s.db.Rebind(`SELECT max(generated_at) FROM reports
		WHERE scope = 'estate' AND estate_id = ?`), estateID)
	if err != nil {
		return false, fmt.Errorf("read the latest report of estate %s: %w", estateID, store.Classify(err))
	}
	// Before the estate's first report, any repository report will do.
	// Without one, a roll-up would summarise nothing, and once stored for
	// its window it would keep the first real one from being written. An
	// estate of planned components only has no repositories to wait for.
	since := store.NewTime(time.Unix(0, 0))
	if last != nil {
		since = *last
	} else {
		var repos int
		err := s.db.GetContext(ctx, &repos, s.db.Rebind(`SELECT count(*) FROM repository_estates
			WHERE estate_id = ?`), estateID)
		if err != nil {
			return false, fmt.Errorf("count the repositories of estate %s: %w", estateID,
				store.Classify(err))
		}
		if repos == 0 {
			return true, nil
		}
	}

	var newer []int
	err = s.db.SelectContext(ctx, &newer, s.db.Rebind(`SELECT 1 FROM reports r
		JOIN repository_estates re ON re.repository_id = r.repository_id
		WHERE re.estate_id = ? AND r.scope = 'repository' AND r.generated_at > ? LIMIT 1`),
		estateID, since)
	if err != nil {
		return false, fmt.Errorf("read the repository reports of estate %s: %w", estateID,
			store.Classify(err))
	}
	return len(newer) > 0, nil
}

// skipRollups returns the skipped outcomes of an estate's project and
// estate reports.
func (s *Service) skipRollups(ctx context.Context, estateKey string, projects []string) []Outcome {
	s.log.InfoContext(ctx, "reporting.report.skipped", "scope", gold.ScopeEstate, "subject", estateKey,
		"reason", "no repository report since the estate's latest report")
	outcomes := make([]Outcome, 0, len(projects)+1)
	for _, key := range projects {
		outcomes = append(outcomes, Outcome{Scope: gold.ScopeProject, Subject: key, Skipped: true})
	}
	return append(outcomes, Outcome{Scope: gold.ScopeEstate, Subject: estateKey, Skipped: true})
}

// fileChecker is a sink that reports whether it contains a document's
// files.
type fileChecker interface {
	Contains(doc Document) bool
}

// restoreRollups writes the Markdown of the estate's latest project and
// estate reports again where the sink lacks it, as a run does for a
// repository window reported already. Roll-ups skipped for want of new
// evidence would otherwise never write it again.
func (s *Service) restoreRollups(ctx context.Context, estateID, estateKey string, keys []string) error {
	checker, ok := s.sink.(fileChecker)
	if !ok {
		return nil
	}

	// restore writes the subject's latest report, rendered by the attempt
	// that build returns for its window, unless the sink has its files.
	restore := func(sub gold.Subject, folder []string,
		build func(start, end time.Time) (attempt, error)) error {
		latest, err := s.gold.Latest(ctx, sub)
		if err != nil || latest == nil {
			return err
		}
		if checker.Contains(Document{Folder: folder, ReportID: latest.ID,
			WindowEnd: latest.WindowEnd, Latest: true}) {
			return nil
		}
		a, err := build(latest.WindowStart, latest.WindowEnd)
		if err != nil {
			return err
		}
		if err := s.write(ctx, a, *latest, a.render(*latest), true); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "reporting.markdown.restored", "scope", sub.Scope, "report_id", latest.ID)
		return nil
	}

	var errs []error
	for _, key := range keys {
		ref, err := s.gold.ProjectID(ctx, estateID, key)
		if err != nil || ref == "" {
			errs = append(errs, err)
			continue
		}
		sub := gold.Subject{Scope: gold.ScopeProject, ID: ref}
		err = restore(sub, projectFolder(estateKey, key), func(start, end time.Time) (attempt, error) {
			return s.projectAttempt(ctx, estateID, estateKey, key, sub, start, end)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", key, err))
		}
	}
	err := restore(gold.Subject{Scope: gold.ScopeEstate, ID: estateID}, estateFolder(estateKey),
		func(start, end time.Time) (attempt, error) {
			return s.estateAttempt(ctx, estateID, estateKey, start, end)
		})
	if err != nil {
		errs = append(errs, fmt.Errorf("estate %s: %w", estateKey, err))
	}
	return errors.Join(errs...)
}

// RunEstateRollups reports on every project of the estate, ordered by
// key, then on the estate itself, all with one window end. It is the
// second half of RunEstateAll, for callers that report on the
// repositories by other means, such as one background job each, and
// must call it only once every repository report has succeeded. A
// failed project report leaves the estate unwritten, with an outcome
// whose Err is ErrNotRun. When no repository report was written since
// the estate's latest report, every outcome is skipped.
func (s *Service) RunEstateRollups(ctx context.Context, estateID string, opts RunOptions) ([]Outcome, error) {
	if opts.AsOf.IsZero() && opts.Start.IsZero() {
		opts.AsOf = s.now()
	}
	return s.runRollups(ctx, estateID, opts, false)
}

// runRollups writes the project and estate reports of an estate. When
// repositoryFailed is set, it writes none and returns ErrNotRun outcomes.
func (s *Service) runRollups(ctx context.Context, estateID string, opts RunOptions,
	repositoryFailed bool) ([]Outcome, error) {
	estateKey, err := s.estateKey(ctx, estateID)
	if err != nil {
		return nil, err
	}

	var keys []string
	cat := s.db.Catalogue()
	err = cat.SelectContext(ctx, &keys, cat.Rebind(`SELECT key FROM projects
		WHERE estate_id = ? ORDER BY key`), estateID)
	if err != nil {
		return nil, fmt.Errorf("list projects of estate %s: %w", estateKey, store.Classify(err))
	}

	var outcomes []Outcome
	if !repositoryFailed {
		fresh, err := s.freshEvidence(ctx, estateID)
		if err != nil {
			return nil, err
		}
		if !fresh {
			return s.skipRollups(ctx, estateKey, keys), s.restoreRollups(ctx, estateID, estateKey, keys)
		}
	}

	var errs []error
	failed := repositoryFailed
	for _, key := range keys {
		if repositoryFailed {
			outcomes = append(outcomes, Outcome{Scope: gold.ScopeProject, Subject: key, Err: ErrNotRun})
			continue
		}
		out, err := s.RunProject(ctx, estateID, key, opts)
		if err != nil {
			failed = true
			errs = append(errs, fmt.Errorf("project %s: %w", key, err))
			out = Outcome{Scope: gold.ScopeProject, Subject: key, Err: err}
		}
		outcomes = append(outcomes, out)
	}

	if failed {
		outcomes = append(outcomes, Outcome{Scope: gold.ScopeEstate, Subject: estateKey, Err: ErrNotRun})
		return outcomes, errors.Join(errs...)
	}
	out, err := s.RunEstate(ctx, estateID, opts)
	if err != nil {
		errs = append(errs, fmt.Errorf("estate %s: %w", estateKey, err))
		out = Outcome{Scope: gold.ScopeEstate, Subject: estateKey, Err: err}
	}
	outcomes = append(outcomes, out)
	return outcomes, errors.Join(errs...)
}

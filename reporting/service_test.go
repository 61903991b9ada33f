package reporting_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// estateFixture imports the example catalogue, syncs it and stores
// commits of leynos/wildside, the day before asOf.
type estateFixture struct {
	db       *store.DB
	estateID string
	repoID   string
}

var asOf = time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)

func newEstate(t *testing.T, db *store.DB) *estateFixture {
	t.Helper()
	ctx := context.Background()

	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: "wildside"},
		"../examples/wildside-catalogue.yaml", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, "wildside"); err != nil {
		t.Fatal(err)
	}
	f := &estateFixture{db: db}
	if err := db.Catalogue().Get(&f.estateID, `SELECT id FROM estates`); err != nil {
		t.Fatal(err)
	}
	repo, err := registry.NewService(db, nil).Get(ctx, "leynos", "wildside")
	if err != nil {
		t.Fatal(err)
	}
	f.repoID = repo.ID
	f.commit(t, "c1", "feat: add walks", asOf.Add(-24*time.Hour))
	return f
}

func (f *estateFixture) commit(t *testing.T, sha, message string, at time.Time) {
	t.Helper()

	env := bronze.Envelope{SourceSystem: "github", SourceEventID: sha, EventType: "github.commit",
		RepoExternalID: "leynos/wildside", OccurredAt: at, Payload: map[string]any{
			"sha": sha, "message": message, "repo_owner": "leynos", "repo_name": "wildside",
			"committed_at": at.Format(time.RFC3339), "default_branch": "main"}}
	if _, err := bronze.NewWriter(f.db).WriteBatch(context.Background(), []bronze.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	if _, err := silver.NewTransformer(f.db, nil).ProcessPending(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

func newService(t *testing.T, db *store.DB, model status.Model, sink string) *reporting.Service {
	t.Helper()
	return newServiceAt(t, db, model, sink, asOf)
}

// newServiceAt returns a service whose clock reads now.
func newServiceAt(t *testing.T, db *store.DB, model status.Model, sink string,
	now time.Time) *reporting.Service {
	t.Helper()

	cfg := reporting.DefaultConfig
	cfg.SinkPath = sink
	s, err := reporting.NewService(db, model, cfg, reporting.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunRepository(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		base := t.TempDir()
		s := newService(t, db, status.NewMock(), base)

		out, err := s.RunRepository(ctx, f.repoID, reporting.RunOptions{})
		is.NoErr(err)
		is.True(out.Created)
		is.Equal(out.WindowStart, asOf.AddDate(0, 0, -7))
		is.Equal(out.Report.Summary.Status, gold.StatusOnTrack)
		is.Equal(out.Report.Model, "mock")
		is.Equal(out.Report.Provider, "mock")
		is.True(out.Report.LatencyMS != nil)
		n, err := gold.NewStore(db).CoverageCount(ctx, out.Report.ID)
		is.NoErr(err)
		is.Equal(n, 1)

		latest, err := os.ReadFile(filepath.Join(base, "leynos", "wildside", "latest.md"))
		is.NoErr(err)
		is.Equal(string(latest), out.Markdown)
		is.True(strings.HasPrefix(out.Markdown, "# leynos/wildside — Status report (2024-07-07 to 2024-07-14)"))
		_, err = os.Stat(filepath.Join(base, "leynos", "wildside",
			reporting.ArchiveName(asOf, out.Report.ID)))
		is.NoErr(err)

		// A run as of the same time returns the same report.
		again, err := s.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: asOf})
		is.NoErr(err)
		is.True(!again.Created)
		is.Equal(again.Report.ID, out.Report.ID)

		// The next window starts where this one ended; without events it
		// is skipped.
		later := newServiceAt(t, db, status.NewMock(), base, asOf.Add(30*24*time.Hour))
		next, err := later.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: asOf.Add(7 * 24 * time.Hour)})
		is.NoErr(err)
		is.True(next.Skipped)
		is.Equal(next.WindowStart, asOf)

		_, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: asOf.Add(time.Hour)})
		is.True(errors.Is(err, reporting.ErrWindow)) // an hour from now is in the future

		_, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: asOf.Add(-time.Hour)})
		is.True(errors.Is(err, reporting.ErrWindow)) // before the last report's end

		// A window that overlaps the stored one is refused before the
		// model is called.
		f.commit(t, "c9", "fix: overlap", asOf.Add(-2*time.Hour))
		_, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{Start: asOf.Add(-3 * time.Hour),
			End: asOf})
		is.True(errors.Is(err, gold.ErrOverlap))
		is.True(strings.Contains(err.Error(), "of repository leynos/wildside: ")) // named, not an id
		_, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{Start: asOf, End: asOf})
		is.True(err != nil)
	})
}

// scripted is a status model that returns its summaries in turn.
type scripted struct {
	status.Model
	mu        sync.Mutex
	summaries []string
	calls     int
	feedback  [][]string
}

func (m *scripted) SummarizeRepository(ctx context.Context, b *evidence.RepositoryBundle) (status.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	text := m.summaries[min(m.calls, len(m.summaries)-1)]
	m.calls++
	m.feedback = append(m.feedback, status.Feedback(ctx))
	return status.Result{Status: gold.StatusOnTrack, Summary: text, Highlights: []string{},
		Risks: []string{}, NextSteps: []string{},
		Metrics: status.Metrics{Provider: "test", Model: "scripted"}}, nil
}

func TestValidationRetriesThenMarksForReview(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)

		retry := &scripted{summaries: []string{"Cut off...", "leynos/wildside added walks."}}
		out, err := newService(t, db, retry, "").RunRepository(ctx, f.repoID, reporting.RunOptions{})
		is.NoErr(err)
		is.Equal(retry.calls, 2)
		is.Equal(out.Report.Summary.Summary, "leynos/wildside added walks.")
		is.Equal(retry.feedback[0], nil) // the first call has nothing to correct
		is.Equal(retry.feedback[1], []string{"Summary appears truncated (trailing ellipsis)."})

		f.commit(t, "c2", "fix: crash", asOf.Add(24*time.Hour))
		bad := &scripted{summaries: []string{"", "Merged #99..."}}
		_, err = newServiceAt(t, db, bad, "", asOf.Add(72*time.Hour)).RunRepository(ctx, f.repoID,
			reporting.RunOptions{AsOf: asOf.Add(48 * time.Hour)})
		var invalid *reporting.ValidationError
		is.True(errors.As(err, &invalid))
		is.True(strings.Contains(err.Error(), "after retries exhausted"))
		is.Equal(bad.calls, 2)
		is.Equal(len(invalid.Issues), 2) // the last attempt's
		review, err := gold.NewStore(db).GetReview(ctx, invalid.ReviewID)
		is.NoErr(err)
		is.Equal(review.State, gold.ReviewPending)
		is.Equal(review.AttemptCount, 2)
		is.Equal(review.Model, "scripted")

		var n int
		is.NoErr(db.Get(&n, `SELECT count(*) FROM reports`))
		is.Equal(n, 1) // nothing stored for the failed window
	})
}

func TestConcurrentRunsAgree(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		f := newEstate(t, db)
		s := newService(t, db, status.NewMock(), "")

		var wg sync.WaitGroup
		ids := make([]string, 3)
		errs := make([]error, 3)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := s.RunRepository(context.Background(), f.repoID,
					reporting.RunOptions{AsOf: asOf})
				errs[i] = err
				if err == nil && out.Report != nil {
					ids[i] = out.Report.ID
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			is.NoErr(err)
		}
		is.True(ids[0] != "")
		is.Equal(ids[1], ids[0])
		is.Equal(ids[2], ids[0])
	})
}

func TestRunEstateAll(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		base := t.TempDir()
		s := newService(t, db, status.NewMock(), base)

		outcomes, err := s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{})
		is.NoErr(err)
		counts := map[gold.Scope]int{}
		skipped := 0
		for _, o := range outcomes {
			if o.Skipped {
				skipped++
				continue
			}
			counts[o.Scope]++
		}
		is.Equal(counts[gold.ScopeRepository], 1) // only leynos/wildside had events
		is.Equal(skipped, 5)
		is.Equal(counts[gold.ScopeProject], 2)
		is.Equal(counts[gold.ScopeEstate], 1)

		projectDir := filepath.Join(base, "estates", "wildside", "projects", "wildside")
		project, err := os.ReadFile(filepath.Join(projectDir, "latest.md"))
		is.NoErr(err)
		is.True(strings.Contains(string(project), "(../../../../leynos/wildside/"))
		is.True(strings.Contains(string(project), "planned, no delivered work yet"))
		checkLinks(t, projectDir, string(project), 1)

		estateDir := filepath.Join(base, "estates", "wildside")
		estate, err := os.ReadFile(filepath.Join(estateDir, "latest.md"))
		is.NoErr(err)
		is.True(strings.Contains(string(estate), "## Projects"))
		checkLinks(t, estateDir, string(estate), 2)
	})
}

// checkLinks checks that the Markdown report in dir has want links to
// Markdown files, each of which exists relative to dir.
func checkLinks(t *testing.T, dir, markdown string, want int) {
	t.Helper()

	links := regexp.MustCompile(`\]\(([^)]+\.md)\)`).FindAllStringSubmatch(markdown, -1)
	if len(links) != want {
		t.Fatalf("found %d links in %s, expected %d:\n%s", len(links), dir, want, markdown)
	}
	for _, link := range links {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(link[1]))); err != nil {
			t.Errorf("link %s of the report in %s is broken: %v", link[1], dir, err)
		}
	}
}

// failingSink fails its first write.
type failingSink struct {
	reporting.FilesystemSink
	failed bool
}

func (f *failingSink) Write(ctx context.Context, doc reporting.Document) error {
	if !f.failed {
		f.failed = true
		return errors.New("disk full")
	}
	return f.FilesystemSink.Write(ctx, doc)
}

func TestSinkFailureKeepsReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		sink := &failingSink{FilesystemSink: reporting.FilesystemSink{Base: t.TempDir()}}
		s, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig,
			reporting.WithSink(sink), reporting.WithClock(func() time.Time { return asOf }))
		is.NoErr(err)

		_, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{})
		is.True(strings.Contains(err.Error(), "disk full"))
		var n int
		is.NoErr(db.Get(&n, `SELECT count(*) FROM reports`))
		is.Equal(n, 1) // stored all the same

		// Running the window again writes its Markdown.
		out, err := s.RunRepository(ctx, f.repoID, reporting.RunOptions{})
		is.NoErr(err)
		is.True(!out.Created)
		_, err = os.Stat(filepath.Join(sink.Base, "leynos", "wildside", "latest.md"))
		is.NoErr(err)
	})
}

func TestCompletedEventLogsNumbers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		f := newEstate(t, db)
		var logs strings.Builder
		logger := slog.New(slog.NewJSONHandler(&logs, nil))
		s, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig,
			reporting.WithLogger(logger), reporting.WithClock(func() time.Time { return asOf }))
		is.NoErr(err)

		_, err = s.RunRepository(context.Background(), f.repoID, reporting.RunOptions{})
		is.NoErr(err)
		var completed map[string]any
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var m map[string]any
			is.NoErr(json.Unmarshal([]byte(line), &m))
			if m["msg"] == "reporting.report.completed" {
				completed = m
			}
		}
		_, isNumber := completed["latency_ms"].(float64)
		is.True(isNumber) // the value, not a pointer
		is.Equal(completed["total_tokens"], 0.0)
		is.Equal(completed["subject"], "leynos/wildside")
	})
}

func TestFailedRepositoryLeavesRollUpsUnwritten(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		f := newEstate(t, db)
		s := newService(t, db, &scripted{summaries: []string{""}}, "")

		outcomes, err := s.RunEstateAll(context.Background(), f.estateID, reporting.RunOptions{})
		is.True(err != nil)
		byScope := map[gold.Scope][]reporting.Outcome{}
		for _, o := range outcomes {
			byScope[o.Scope] = append(byScope[o.Scope], o)
		}
		var failed *reporting.Outcome
		for _, o := range byScope[gold.ScopeRepository] {
			if o.Err != nil {
				failed = &o
			}
		}
		is.Equal(failed.Subject, "leynos/wildside") // named by slug
		is.Equal(len(byScope[gold.ScopeProject]), 2)
		for _, o := range append(byScope[gold.ScopeProject], byScope[gold.ScopeEstate]...) {
			is.True(errors.Is(o.Err, reporting.ErrNotRun))
		}
		var n int
		is.NoErr(db.Get(&n, `SELECT count(*) FROM reports`))
		is.Equal(n, 0)
	})
}

func TestHasEvents(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		s := newServiceAt(t, db, status.NewMock(), "", asOf.Add(30*24*time.Hour))
		opts := reporting.RunOptions{AsOf: asOf}

		has, err := s.HasEvents(ctx, f.repoID, opts)
		is.NoErr(err)
		is.True(has) // the fixture's commit, the day before asOf

		other, err := registry.NewService(db, nil).Get(ctx, "leynos", "ortho-config")
		is.NoErr(err)
		has, err = s.HasEvents(ctx, other.ID, opts)
		is.NoErr(err)
		is.True(!has)

		// Once reported, the commit is covered; a late commit from inside
		// the reported window is found for the next window.
		_, err = s.RunRepository(ctx, f.repoID, opts)
		is.NoErr(err)

		// The reported window itself is not skipped: RunRepository returns
		// its report again, and a job queued for it does the same.
		has, err = s.HasEvents(ctx, f.repoID, opts)
		is.NoErr(err)
		is.True(has)
		again, err := s.RunRepository(ctx, f.repoID, opts)
		is.NoErr(err)
		is.True(again.Report != nil)
		is.True(!again.Created)

		next := reporting.RunOptions{AsOf: asOf.Add(7 * 24 * time.Hour)}
		has, err = s.HasEvents(ctx, f.repoID, next)
		is.NoErr(err)
		is.True(!has)
		f.commit(t, "late", "fix: a late commit", asOf.Add(-48*time.Hour))
		has, err = s.HasEvents(ctx, f.repoID, next)
		is.NoErr(err)
		is.True(has)
	})
}

func TestRunWindowDays(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		s := newServiceAt(t, db, status.NewMock(), "", asOf.Add(time.Hour))

		// A first window of 3 days, not the service's 7.
		out, err := s.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: asOf, WindowDays: 3})
		is.NoErr(err)
		is.Equal(out.WindowStart, asOf.AddDate(0, 0, -3))
		is.Equal(out.WindowEnd, asOf)

		// A later window starts where the last report ended.
		later := asOf.Add(30 * time.Minute)
		out, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: later, WindowDays: 3})
		is.NoErr(err)
		is.Equal(out.WindowStart, asOf)

		for _, days := range []int{-1, reporting.MaxWindowDays + 1} {
			_, err = s.RunRepository(ctx, f.repoID, reporting.RunOptions{AsOf: later, WindowDays: days})
			is.True(errors.Is(err, reporting.ErrWindow))
		}
	})
}

func TestRollupsSkippedWithoutNews(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		later := asOf.Add(time.Hour)
		s := newServiceAt(t, db, status.NewMock(), "", later)

		_, err := s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{AsOf: asOf})
		is.NoErr(err)
		outcomes, err := s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{AsOf: later})
		is.NoErr(err)
		for _, o := range outcomes {
			is.True(o.Skipped) // nothing new, so no report, roll-ups included
		}

		// A new repository report, generated later, brings the roll-ups back.
		f.commit(t, "c2", "fix: a late commit", asOf.Add(30*time.Minute))
		s = newServiceAt(t, db, status.NewMock(), "", later.Add(time.Minute))
		outcomes, err = s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{AsOf: later})
		is.NoErr(err)
		written := 0
		for _, o := range outcomes {
			if o.Report != nil && o.Created {
				written++
			}
		}
		is.Equal(written, 4) // the repository, two projects and the estate
	})
}

// TestRollupsRestoreLostMarkdown checks that a run with nothing new to
// report writes the Markdown of the latest roll-ups again when it was
// deleted, as it does for a repository window reported already, and
// leaves files that are there alone.
func TestRollupsRestoreLostMarkdown(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		base := t.TempDir()
		s := newService(t, db, status.NewMock(), base)

		_, err := s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{})
		is.NoErr(err)
		estateDir := filepath.Join(base, "estates", "wildside")
		first, err := os.ReadFile(filepath.Join(estateDir, "latest.md"))
		is.NoErr(err)
		projectLatest := filepath.Join(estateDir, "projects", "wildside", "latest.md")
		oldTime := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		is.NoErr(os.Chtimes(projectLatest, oldTime, oldTime))

		is.NoErr(os.Remove(filepath.Join(estateDir, "latest.md")))
		outcomes, err := s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{})
		is.NoErr(err)
		for _, o := range outcomes {
			is.True(o.Skipped || !o.Created) // nothing new was reported
		}
		again, err := os.ReadFile(filepath.Join(estateDir, "latest.md"))
		is.NoErr(err)
		is.Equal(string(again), string(first))
		checkLinks(t, estateDir, string(again), 2)
		info, err := os.Stat(projectLatest)
		is.NoErr(err)
		is.True(info.ModTime().Equal(oldTime)) // a file that is there is not written again

		is.NoErr(os.RemoveAll(base))
		_, err = s.RunEstateAll(ctx, f.estateID, reporting.RunOptions{})
		is.NoErr(err)
		for _, dir := range []string{estateDir, filepath.Dir(projectLatest), filepath.Join(base,
			"leynos", "wildside")} {
			entries, err := os.ReadDir(dir)
			is.NoErr(err)
			files := 0
			for _, e := range entries {
				if !e.IsDir() {
					files++
				}
			}
			is.Equal(files, 2) // latest.md and the dated copy
		}
	})
}

func TestRollupsWaitForRepositoryReports(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f := newEstate(t, db)
		s := newServiceAt(t, db, status.NewMock(), "", asOf.Add(90*24*time.Hour))

		// A window without events gives no repository report, so the
		// projects and the estate wait for the first one.
		outcomes, err := s.RunEstateAll(ctx, f.estateID,
			reporting.RunOptions{AsOf: asOf.Add(60 * 24 * time.Hour)})
		is.NoErr(err)
		for _, o := range outcomes {
			is.True(o.Skipped)
		}
	})
}

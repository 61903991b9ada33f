package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// logBuffer collects log lines as JSON objects.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) events(name string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()

	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == name {
			out = append(out, m)
		}
	}
	return out
}

type harness struct {
	db    *store.DB
	gh    *fakeGitHub
	clock *clock
	logs  *logBuffer
	reg   *prometheus.Registry
	w     *ingest.Worker
}

func newHarness(t *testing.T, db *store.DB, cfg ingest.Config) *harness {
	t.Helper()

	h := &harness{db: db, gh: newFakeGitHub(), clock: &clock{now: t0}, logs: &logBuffer{},
		reg: prometheus.NewRegistry()}
	metrics, err := ingest.NewMetrics(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.w, err = ingest.NewWorker(db, h.gh, cfg, ingest.WithClock(h.clock.Now),
		ingest.WithLogger(logger), ingest.WithMetrics(metrics))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testRepo(docs ...string) registry.Repository {
	return registry.Repository{Owner: "octo", Name: "reef", DefaultBranch: "main",
		IngestionEnabled: true, DocumentationPaths: docs, EstateID: "estate-1"}
}

func (h *harness) run(t *testing.T, repo registry.Repository) ingest.Result {
	t.Helper()

	res, err := h.w.IngestRepository(context.Background(), repo)
	if err != nil {
		t.Fatalf("ingest %s: %v", res.RepoSlug, err)
	}
	return res
}

type rawRow struct {
	EventType     string `db:"event_type"`
	SourceEventID string `db:"source_event_id"`
	Payload       string `db:"payload"`
}

func rawRows(t *testing.T, db *store.DB, eventType string) []rawRow {
	t.Helper()

	var rows []rawRow
	err := db.Select(&rows, db.Rebind(`SELECT event_type, source_event_id, payload
		FROM raw_events WHERE event_type = ? ORDER BY id`), eventType)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func ids(rows []rawRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.SourceEventID)
	}
	return out
}

func payload(t *testing.T, r rawRow) map[string]any {
	t.Helper()

	var m map[string]any
	if err := json.Unmarshal([]byte(r.Payload), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type offsetsView struct {
	CommitCursor *string     `db:"last_commit_cursor"`
	PRCursor     *string     `db:"last_pr_cursor"`
	DocCursor    *string     `db:"last_doc_cursor"`
	CommitSeen   *store.Time `db:"last_commit_seen_at"`
	CommitMark   *store.Time `db:"last_commit_ingested_at"`
	PRMark       *store.Time `db:"last_pr_ingested_at"`
	IssueMark    *store.Time `db:"last_issue_ingested_at"`
	DocMark      *store.Time `db:"last_doc_ingested_at"`
	Success      *store.Time `db:"last_success_at"`
	Category     *string     `db:"last_error_category"`
}

func readOffsets(t *testing.T, db *store.DB, slug string) offsetsView {
	t.Helper()

	var v offsetsView
	err := db.Get(&v, db.Rebind(`SELECT last_commit_cursor, last_pr_cursor, last_doc_cursor,
		last_commit_seen_at, last_commit_ingested_at, last_pr_ingested_at,
		last_issue_ingested_at, last_doc_ingested_at, last_success_at, last_error_category
		FROM github_ingestion_offsets WHERE repo_external_id = ?`), slug)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mark(t *store.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func pr(id int64, updated time.Time, state string) ingest.PullRequest {
	return ingest.PullRequest{DatabaseID: id, Number: int(id % 1000), Title: "Change " + state,
		State: state, CreatedAt: t0.Add(-30 * 24 * time.Hour), UpdatedAt: updated,
		BaseRefName: "main", HeadRefName: "feature", Author: &ingest.Actor{Login: "dev", Type: "User"}}
}

func issue(id int64, updated time.Time) ingest.Issue {
	return ingest.Issue{DatabaseID: id, Number: int(id % 1000), Title: "Issue", State: "OPEN",
		CreatedAt: updated.Add(-time.Hour), UpdatedAt: updated, Author: &ingest.Actor{Login: "dev", Type: "User"}}
}

func TestIngestEveryStream(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{InitialLookback: 24 * time.Hour, Overlap: time.Nanosecond})
		h.gh.addCommit("abc123", t0.Add(-4*time.Hour), "dev", "src/main.go")
		h.gh.putPR(pr(3_000_000_017, t0.Add(-3*time.Hour), "OPEN"))
		h.gh.putIssue(issue(101, t0.Add(-2*time.Hour)))
		h.gh.addCommit("def456", t0.Add(-1*time.Hour), "dev", "docs/roadmap.md")

		res := h.run(t, testRepo("docs/roadmap.md"))
		is.Equal(res.Streams[ingest.KindCommit].Ingested, 2)
		is.Equal(res.Streams[ingest.KindPullRequest].Ingested, 1)
		is.Equal(res.Streams[ingest.KindIssue].Ingested, 1)
		is.Equal(res.Streams[ingest.KindDocChange].Ingested, 1)
		is.Equal(res.Total(), 5)
		is.Equal(res.Requests, 1) // every stream in one request

		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"def456", "abc123"})
		prs := rawRows(t, db, "github.pull_request")
		is.Equal(ids(prs), []string{"3000000017"})
		p := payload(t, prs[0])
		is.Equal(p["id"], float64(3_000_000_017))
		is.Equal(p["state"], "open")
		is.Equal(p["author_login"], "dev")
		is.Equal(p["metadata"], map[string]any{"updated_at": "2024-12-31T21:00:00Z"})
		docs := rawRows(t, db, "github.doc_change")
		is.Equal(ids(docs), []string{"def456:docs/roadmap.md"})
		d := payload(t, docs[0])
		is.Equal(d["is_roadmap"], true)
		is.Equal(d["is_adr"], false)
		is.Equal(d["change_type"], "modified")

		// Each watermark is the start of the crawl that completed.
		off := readOffsets(t, db, "octo/reef")
		for _, m := range []*store.Time{off.CommitMark, off.PRMark, off.IssueMark, off.DocMark} {
			is.Equal(mark(m), t0)
		}
		is.Equal(mark(off.Success), t0)
		is.Equal(off.CommitCursor, nil)

		// A second run finds the same items again inside the overlap: no
		// new rows, and one request.
		h.clock.set(t0.Add(time.Minute))
		again := h.run(t, testRepo("docs/roadmap.md"))
		is.Equal(again.Total(), 0)
		is.Equal(again.Requests, 1)
		is.Equal(len(rawRows(t, db, "github.commit")), 2)

		started := h.logs.events("ingestion.run.started")
		is.Equal(len(started), 2)
		is.Equal(started[0]["repo_slug"], "octo/reef")
		is.Equal(started[0]["estate_id"], "estate-1")
		completed := h.logs.events("ingestion.run.completed")
		is.Equal(completed[0]["commits_ingested"], float64(2))
		is.Equal(completed[0]["total_events"], float64(5))
		is.Equal(completed[0]["github_requests"], float64(1))
		is.Equal(completed[0]["github_points"], float64(1))
		is.Equal(len(h.logs.events("ingestion.stream.completed")), 8)
		is.Equal(metricSum(t, h.reg, "ghillie_ingestion_runs_total"), 2.0)
	})
}

// metricSum sums a counter's samples.
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func TestDisabledRepositoryIsSkipped(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("abc", t0.Add(-time.Hour), "dev")

		repo := testRepo()
		repo.IngestionEnabled = false
		res := h.run(t, repo)
		is.Equal(res.Total(), 0)
		is.Equal(h.gh.calls(), 0)
		is.Equal(len(h.logs.events("ingestion.run.started")), 0)

		var n int
		is.NoErr(db.Get(&n, `SELECT count(*) FROM github_ingestion_offsets`))
		is.Equal(n, 0)
	})
}

func TestLowerBounds(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{InitialLookback: 7 * 24 * time.Hour,
			Overlap: 5 * time.Minute})

		h.run(t, testRepo())
		q := h.gh.lastQuery()
		want := time.Date(2024, 12, 24, 23, 55, 0, 0, time.UTC)
		is.Equal(q.Commits.Since, want)
		is.Equal(q.Issues.Since, want)
		is.Equal(q.PullRequests.Since, want)

		// The next run starts at the last crawl's start, less the overlap.
		h.clock.set(t0.Add(6 * time.Hour))
		h.run(t, testRepo())
		q = h.gh.lastQuery()
		is.Equal(q.Commits.Since, t0.Add(-5*time.Minute))
		is.Equal(q.Issues.Since, t0.Add(-5*time.Minute))
	})
}

func TestBacklogResumesAcrossRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{MaxEventsPerKind: 2, PageSize: 100})
		for i, oid := range []string{"c1", "c2", "c3", "c4", "c5"} {
			h.gh.addCommit(oid, t0.Add(-time.Duration(10-i)*time.Hour), "dev")
		}

		res := h.run(t, testRepo())
		is.True(res.Streams[ingest.KindCommit].Truncated)
		is.Equal(res.Streams[ingest.KindCommit].Ingested, 2)
		off := readOffsets(t, db, "octo/reef")
		is.Equal(*off.CommitCursor, "c:c4")
		is.Equal(mark(off.CommitMark), time.Time{}) // no watermark while a backlog remains
		is.Equal(mark(off.CommitSeen), t0)
		truncated := h.logs.events("ingestion.stream.truncated")
		is.Equal(len(truncated), 1)
		is.Equal(truncated[0]["stream_kind"], "commit")
		is.Equal(truncated[0]["events_processed"], float64(2))
		is.Equal(truncated[0]["max_events"], float64(2))

		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo())
		is.Equal(h.gh.lastQuery().Commits.After, "c:c4")
		h.clock.set(t0.Add(2 * time.Hour))
		res = h.run(t, testRepo())
		is.True(res.Streams[ingest.KindCommit].Complete)

		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"c5", "c4", "c3", "c2", "c1"})
		off = readOffsets(t, db, "octo/reef")
		is.Equal(off.CommitCursor, nil)
		// The backlog's first crawl start becomes the watermark, so what
		// changed while it was read is read again.
		is.Equal(mark(off.CommitMark), t0)
	})
}

func TestPullRequestUpdatedMidRun(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{PageSize: 1})
		for i := range int64(4) {
			h.gh.putPR(pr(i+1, t0.Add(-time.Duration(i+1)*time.Hour), "OPEN"))
		}

		// While the first run reads page two, pull request 1, already
		// read, is merged, and pull request 4, not yet read, moves to
		// the top of the ordering.
		h.gh.before = func(call int) {
			if call == 2 {
				h.clock.set(t0.Add(time.Minute))
				merged := pr(1, t0.Add(time.Minute), "MERGED")
				merged.MergedAt = t0.Add(time.Minute)
				h.gh.putPR(merged)
				h.gh.putPR(pr(4, t0.Add(time.Minute), "CLOSED"))
			}
		}
		h.run(t, testRepo())
		h.gh.before = nil

		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo())

		states := map[string][]any{}
		for _, r := range rawRows(t, db, "github.pull_request") {
			states[r.SourceEventID] = append(states[r.SourceEventID], payload(t, r)["state"])
		}
		is.Equal(states["1"], []any{"open", "merged"})
		is.Equal(states["2"], []any{"open"})
		is.Equal(states["3"], []any{"open"})
		is.Equal(states["4"][len(states["4"])-1], "closed")
	})
}

func TestPullRequestFetchedAgainWhenUpdated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.putPR(pr(7, t0.Add(-time.Hour), "OPEN"))
		h.run(t, testRepo())

		labelled := pr(7, t0.Add(2*time.Hour), "OPEN")
		labelled.Labels = []string{"release"}
		h.gh.putPR(labelled)
		h.clock.set(t0.Add(3 * time.Hour))
		h.run(t, testRepo())

		closed := pr(7, t0.Add(4*time.Hour), "CLOSED")
		closed.ClosedAt = t0.Add(4 * time.Hour)
		h.gh.putPR(closed)
		h.clock.set(t0.Add(5 * time.Hour))
		h.run(t, testRepo())

		rows := rawRows(t, db, "github.pull_request")
		is.Equal(len(rows), 3)
		is.Equal(payload(t, rows[1])["labels"], []any{"release"})
		is.Equal(payload(t, rows[2])["state"], "closed")
		is.Equal(payload(t, rows[2])["closed_at"], "2025-01-01T04:00:00Z")
	})
}

func TestAuthorsMayBeMissingOrBots(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		ghost := pr(1, t0.Add(-time.Hour), "OPEN")
		ghost.Author = nil
		bot := pr(2, t0.Add(-2*time.Hour), "OPEN")
		bot.Author = &ingest.Actor{Login: "dependabot", Type: "Bot"}
		h.gh.putPR(ghost)
		h.gh.putPR(bot)
		h.gh.commits = append(h.gh.commits, fakeCommit{Commit: ingest.Commit{
			OID: "anon", Message: "x", CommittedDate: t0.Add(-time.Hour)}})

		h.run(t, testRepo())
		rows := rawRows(t, db, "github.pull_request")
		is.Equal(len(rows), 2)
		is.Equal(payload(t, rows[0])["author_login"], nil)
		is.Equal(payload(t, rows[1])["author_login"], "dependabot[bot]")
		commit := payload(t, rawRows(t, db, "github.commit")[0])
		is.Equal(commit["author_name"], nil)
		is.Equal(commit["authored_at"], nil)
	})
}

const noiseCatalogue = `version: 1
projects:
  - key: reef
    name: Reef
    noise:
      ignore_authors: ["dependabot[bot]"]
      ignore_title_prefixes: ["chore:"]
    documentation_paths: ["docs/adr-*.md"]
    components:
      - key: reef
        name: Reef
        repository: {owner: octo, name: reef, default_branch: main}
`

func importCatalogue(t *testing.T, db *store.DB, yaml string) {
	t.Helper()

	c, err := catalogue.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalogue.NewImporter(db, nil).Import(context.Background(),
		catalogue.Estate{Key: "test"}, c, ""); err != nil {
		t.Fatal(err)
	}
}

func TestNoiseFiltersAndProjectDocumentationPaths(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		importCatalogue(t, db, noiseCatalogue)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("bot1", t0.Add(-5*time.Hour), "dependabot[bot]", "go.sum", "docs/adr-002.md")
		h.gh.addCommit("adr1", t0.Add(-4*time.Hour), "dev", "docs/adr-001-use-go.md", "docs/other.md")
		h.gh.addCommit("road", t0.Add(-3*time.Hour), "dev", "docs/roadmap.md")
		h.gh.addCommit("code", t0.Add(-2*time.Hour), "dev", "src/a.go")
		bot := pr(9, t0.Add(-time.Hour), "OPEN")
		bot.Author = &ingest.Actor{Login: "dependabot", Type: "Bot"}
		h.gh.putPR(bot)
		chore := issue(5, t0.Add(-time.Hour))
		chore.Title = "Chore: tidy"
		h.gh.putIssue(chore)

		res := h.run(t, testRepo("docs/roadmap.md"))
		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"code", "road", "adr1"})
		is.Equal(res.Streams[ingest.KindCommit].Dropped, 1)
		is.Equal(len(rawRows(t, db, "github.pull_request")), 0)
		is.Equal(len(rawRows(t, db, "github.issue")), 0)

		docs := rawRows(t, db, "github.doc_change")
		is.Equal(ids(docs), []string{"road:docs/roadmap.md", "adr1:docs/adr-001-use-go.md"})
		is.Equal(payload(t, docs[1])["is_adr"], true)
		is.Equal(res.Streams[ingest.KindDocChange].Dropped, 1) // the bot's commit

		// File lists are fetched only for commits in the history of the
		// glob's folder, never for the roadmap's exact path.
		is.Equal(h.gh.fileCalls, []string{"road", "adr1"})
		q := h.gh.queries[0]
		is.Equal(len(q.Docs), 2)
		is.Equal(q.Docs[0].Path, "docs/roadmap.md")
		is.Equal(q.Docs[1].Path, "docs")
	})
}

func TestOneFailingStreamKeepsTheOthers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("abc", t0.Add(-time.Hour), "dev")
		h.gh.putIssue(issue(1, t0.Add(-time.Hour)))
		h.gh.forbidden["issue"] = true

		res, err := h.w.IngestRepository(context.Background(), testRepo())
		is.True(err != nil)
		is.Equal(ingest.Categorize(err), ingest.CategoryClientError)
		is.True(res.Streams[ingest.KindIssue].Err != nil)
		is.Equal(res.Streams[ingest.KindCommit].Ingested, 1)
		off := readOffsets(t, db, "octo/reef")
		is.Equal(mark(off.CommitMark), t0)
		is.Equal(mark(off.IssueMark), time.Time{})
		is.Equal(*off.Category, "client_error")
		failed := h.logs.events("ingestion.run.failed")
		is.Equal(len(failed), 1)
		is.Equal(failed[0]["error_category"], "client_error")

		h.gh.forbidden["issue"] = false
		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo())
		is.Equal(len(rawRows(t, db, "github.issue")), 1)
		is.Equal(readOffsets(t, db, "octo/reef").Category, nil)
	})
}

func TestRunCutShortByAnErrorResumes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{PageSize: 2})
		for i, oid := range []string{"c1", "c2", "c3", "c4", "c5"} {
			h.gh.addCommit(oid, t0.Add(-time.Duration(10-i)*time.Hour), "dev")
		}
		h.gh.failures[2] = &ingest.APIError{Status: 502}

		_, err := h.w.IngestRepository(context.Background(), testRepo())
		is.True(err != nil)
		is.Equal(ingest.Categorize(err), ingest.CategoryTransient)
		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"c5", "c4"})
		is.Equal(*readOffsets(t, db, "octo/reef").CommitCursor, "c:c4")

		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo())
		is.Equal(h.gh.queries[2].Commits.After, "c:c4")
		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"c5", "c4", "c3", "c2", "c1"})
		is.Equal(mark(readOffsets(t, db, "octo/reef").CommitMark), t0)
	})
}

func TestMissingBranchFollowsGitHubsDefault(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.branch = "trunk"
		h.gh.addCommit("abc", t0.Add(-time.Hour), "dev")

		h.run(t, testRepo())
		rows := rawRows(t, db, "github.commit")
		is.Equal(len(rows), 1)
		is.Equal(payload(t, rows[0])["default_branch"], "trunk")
		is.Equal(len(h.logs.events("ingestion.branch.missing")), 1)
	})
}

func TestEmptyRepositoryCompletes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.branch = ""

		res := h.run(t, testRepo("docs/roadmap.md"))
		is.True(res.Streams[ingest.KindCommit].Complete)
		is.True(res.Streams[ingest.KindDocChange].Complete)
		is.Equal(res.Requests, 1)
	})
}

func TestConcurrentRunLoses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{PageSize: 1})
		h.gh.addCommit("c1", t0.Add(-2*time.Hour), "dev")
		h.gh.addCommit("c2", t0.Add(-time.Hour), "dev")

		// A second worker ingests the repository while the first waits
		// for GitHub.
		otherWorker, err := ingest.NewWorker(db, h.gh, ingest.Config{}, ingest.WithClock(h.clock.Now))
		is.NoErr(err)
		h.gh.before = func(call int) {
			if call == 1 {
				h.gh.before = nil
				_, err := otherWorker.IngestRepository(context.Background(), testRepo())
				is.NoErr(err)
			}
		}

		_, err = h.w.IngestRepository(context.Background(), testRepo())
		is.True(errors.Is(err, ingest.ErrConcurrentRun))
		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"c2", "c1"})
		is.Equal(mark(readOffsets(t, db, "octo/reef").CommitMark), t0)
	})
}

func TestNewDocumentationPathIsBackfilled(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{InitialLookback: 48 * time.Hour, Overlap: time.Minute})
		h.gh.addCommit("old", t0.Add(-24*time.Hour), "dev", "docs/guide.md")

		h.run(t, testRepo("docs/roadmap.md"))
		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo("docs/roadmap.md", "docs/guide.md"))

		q := h.gh.lastQuery()
		is.Equal(q.Docs[0].Since, t0.Add(-time.Minute))                       // covered by the watermark
		is.Equal(q.Docs[1].Since, t0.Add(time.Hour-48*time.Hour-time.Minute)) // backfilled
		is.Equal(ids(rawRows(t, db, "github.doc_change")), []string{"old:docs/guide.md"})
	})
}

func TestDocumentationBacklogSharesTheCap(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{MaxEventsPerKind: 3})
		for i, oid := range []string{"a1", "a2", "a3", "a4"} {
			h.gh.addCommit(oid, t0.Add(-time.Duration(20-i)*time.Hour), "dev", "docs/a.md")
		}
		h.gh.addCommit("b1", t0.Add(-time.Hour), "dev", "docs/b.md")
		repo := testRepo("docs/a.md", "docs/b.md")

		res := h.run(t, repo)
		is.True(res.Streams[ingest.KindDocChange].Truncated)
		is.Equal(res.Streams[ingest.KindDocChange].Seen, 3)
		h.clock.set(t0.Add(time.Hour))
		res = h.run(t, repo)
		is.True(res.Streams[ingest.KindDocChange].Complete)

		got := map[string]bool{}
		for _, r := range rawRows(t, db, "github.doc_change") {
			got[r.SourceEventID] = true
		}
		is.Equal(len(got), 5)
		is.True(got["b1:docs/b.md"])
		is.Equal(readOffsets(t, db, "octo/reef").DocCursor != nil, true) // covered paths kept
		is.Equal(mark(readOffsets(t, db, "octo/reef").DocMark), t0)
	})
}

func TestWithLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{InitialLookback: 7 * 24 * time.Hour,
			Overlap: 5 * time.Minute, MaxEventsPerKind: 500})
		for i, oid := range []string{"c1", "c2", "c3"} {
			h.gh.addCommit(oid, t0.Add(-time.Duration(3-i)*time.Hour), "dev")
		}

		limited, err := h.w.WithLimits(ingest.Limits{InitialLookback: 24 * time.Hour,
			MaxEventsPerKind: 2})
		is.NoErr(err)
		res, err := limited.IngestRepository(context.Background(), testRepo())
		is.NoErr(err)
		is.Equal(h.gh.lastQuery().Commits.Since, t0.Add(-24*time.Hour-5*time.Minute))
		is.Equal(res.Streams[ingest.KindCommit].Ingested, 2)
		is.True(res.Streams[ingest.KindCommit].Truncated)

		// The worker itself keeps its own limits.
		h.run(t, registry.Repository{Owner: "octo", Name: "other", DefaultBranch: "main",
			IngestionEnabled: true})
		is.Equal(h.gh.lastQuery().Commits.Since, t0.Add(-7*24*time.Hour-5*time.Minute))

		for _, l := range []ingest.Limits{{MaxEventsPerKind: ingest.MaxEventsPerKindLimit + 1},
			{InitialLookback: (ingest.MaxLookbackDays + 1) * 24 * time.Hour}} {
			_, err := h.w.WithLimits(l)
			is.True(err != nil)
		}
	})
}

func TestConfigIsValidated(t *testing.T) {
	for name, cfg := range map[string]ingest.Config{
		"negative cap":  {MaxEventsPerKind: -1},
		"cap too big":   {MaxEventsPerKind: ingest.MaxEventsPerKindLimit + 1},
		"page too big":  {PageSize: 101},
		"negative back": {InitialLookback: -time.Hour},
		"back too far":  {InitialLookback: (ingest.MaxLookbackDays + 1) * 24 * time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ingest.NewWorker(nil, newFakeGitHub(), cfg)
			is.New(t).True(err != nil)
		})
	}
}

func TestLateCommitIsRead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("c1", t0.Add(-2*time.Hour), "dev")
		h.gh.addCommit("c2", t0.Add(-time.Hour), "dev")
		h.run(t, testRepo("docs/roadmap.md"))

		// A commit dated three days ago reaches the branch after the run.
		h.gh.pushCommit("late", t0.Add(-72*time.Hour), "docs/roadmap.md")
		h.clock.set(t0.Add(time.Hour))
		res := h.run(t, testRepo("docs/roadmap.md"))
		is.Equal(res.Streams[ingest.KindCommit].Ingested, 1)
		is.Equal(h.gh.compares, []string{"c2...late"})
		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"c2", "c1", "late"})
		is.Equal(ids(rawRows(t, db, "github.doc_change")), []string{"late:docs/roadmap.md"})

		// Nothing new: one request and no comparison.
		h.clock.set(t0.Add(2 * time.Hour))
		quiet := h.run(t, testRepo("docs/roadmap.md"))
		is.Equal(quiet.Requests, 1)
		is.Equal(len(h.gh.compares), 1)
	})
}

func TestForcePushFallsBackToHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("c1", t0.Add(-2*time.Hour), "dev")
		h.gh.addCommit("c2", t0.Add(-time.Hour), "dev")
		h.run(t, testRepo())

		h.gh.rewrite("c1")
		h.gh.addCommit("c3", t0.Add(30*time.Minute), "dev")
		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo())
		is.Equal(ids(rawRows(t, db, "github.commit")), []string{"c2", "c1", "c3"})
		is.Equal(len(h.logs.events("ingestion.history.rewritten")), 1)
	})
}

func TestBacklogKeepsItsLowerBound(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		long := newHarness(t, db, ingest.Config{InitialLookback: 400 * 24 * time.Hour,
			MaxEventsPerKind: 2})
		for i, oid := range []string{"c1", "c2", "c3", "c4", "c5"} {
			long.gh.addCommit(oid, t0.Add(-time.Duration(100-i)*24*time.Hour), "dev")
		}
		long.run(t, testRepo())

		// Later runs use the default lookback of a week, but the backlog
		// keeps its bound.
		w, err := ingest.NewWorker(db, long.gh, ingest.Config{MaxEventsPerKind: 2},
			ingest.WithClock(long.clock.Now))
		is.NoErr(err)
		for range 3 {
			_, err := w.IngestRepository(context.Background(), testRepo())
			is.NoErr(err)
		}
		is.Equal(len(rawRows(t, db, "github.commit")), 5)
	})
}

func TestFileListingFailureFailsDocumentationAlone(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("c1", t0.Add(-time.Hour), "dev", "docs/adr-001.md")
		h.gh.putPR(pr(1, t0.Add(-time.Hour), "OPEN"))
		h.gh.fileErrors = map[string]error{"c1": &ingest.APIError{Status: 502}}

		res, err := h.w.IngestRepository(context.Background(), testRepo("docs/adr-*.md"))
		is.True(err != nil)
		is.True(res.Streams[ingest.KindDocChange].Err != nil)
		is.Equal(len(rawRows(t, db, "github.commit")), 1)
		is.Equal(len(rawRows(t, db, "github.pull_request")), 1)
		is.Equal(len(rawRows(t, db, "github.doc_change")), 0)

		h.gh.fileErrors = nil
		h.clock.set(t0.Add(time.Hour))
		h.run(t, testRepo("docs/adr-*.md"))
		is.Equal(ids(rawRows(t, db, "github.doc_change")), []string{"c1:docs/adr-001.md"})
	})
}

func TestMissingBranchBacklogProgresses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{MaxEventsPerKind: 2})
		h.gh.branch = "trunk"
		for i, oid := range []string{"c1", "c2", "c3", "c4", "c5"} {
			h.gh.addCommit(oid, t0.Add(-time.Duration(10-i)*time.Hour), "dev")
		}

		for i := range 4 {
			h.clock.set(t0.Add(time.Duration(i) * time.Hour))
			h.run(t, testRepo())
		}
		is.Equal(len(rawRows(t, db, "github.commit")), 5)
	})
}

func TestFolderDocumentationPathRecordsFiles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("c1", t0.Add(-time.Hour), "dev", "docs/roadmap.md", "docs/adr/0001.md",
			"src/a.go")

		h.run(t, testRepo("docs/"))
		docs := rawRows(t, db, "github.doc_change")
		is.Equal(ids(docs), []string{"c1:docs/roadmap.md", "c1:docs/adr/0001.md"})
		is.Equal(payload(t, docs[0])["is_roadmap"], true)
		is.Equal(payload(t, docs[1])["is_adr"], true)
	})
}

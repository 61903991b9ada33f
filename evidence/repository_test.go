package evidence_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

var (
	winStart = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	winEnd   = time.Date(2024, 7, 8, 0, 0, 0, 0, time.UTC)
)

// fixture writes GitHub events of octo/reef to Bronze and refines them.
type fixture struct {
	t  *testing.T
	db *store.DB
}

// transformAll refines every pending event.
func (f *fixture) transformAll(tb testing.TB) {
	tb.Helper()

	res, err := silver.NewTransformer(f.db, nil).ProcessPending(context.Background(), 0)
	if err != nil || res.Failed > 0 {
		tb.Fatalf("transform: %v (%d failed)", err, res.Failed)
	}
}

func (f *fixture) write(envs ...bronze.Envelope) {
	f.t.Helper()

	if _, err := bronze.NewWriter(f.db).WriteBatch(context.Background(), envs); err != nil {
		f.t.Fatal(err)
	}
	f.transformAll(f.t)
}

func envelope(eventType, id string, at time.Time, payload map[string]any) bronze.Envelope {
	payload["repo_owner"], payload["repo_name"] = "octo", "reef"
	return bronze.Envelope{SourceSystem: "github", SourceEventID: id, EventType: eventType,
		RepoExternalID: "octo/reef", OccurredAt: at, Payload: payload}
}

func commit(sha, message string, at time.Time) bronze.Envelope {
	return envelope("github.commit", sha, at, map[string]any{"sha": sha, "message": message,
		"committed_at": at.Format(time.RFC3339), "default_branch": "main"})
}

func pullRequest(id any, number int, title, state string, labels []any, at time.Time) bronze.Envelope {
	return envelope("github.pull_request", fmt.Sprint(id), at, map[string]any{"id": id,
		"number": number, "title": title, "state": state, "labels": labels,
		"base_branch": "main", "head_branch": "f", "created_at": at.Format(time.RFC3339),
		"metadata": map[string]any{"updated_at": at.Format(time.RFC3339)}})
}

func issueEvent(id any, number int, title, state string, labels []any, at time.Time) bronze.Envelope {
	return envelope("github.issue", fmt.Sprint(id), at, map[string]any{"id": id,
		"number": number, "title": title, "state": state, "labels": labels,
		"created_at": at.Format(time.RFC3339),
		"metadata":   map[string]any{"updated_at": at.Format(time.RFC3339)}})
}

func docChange(sha, path string, at time.Time) bronze.Envelope {
	return envelope("github.doc_change", sha+":"+path, at, map[string]any{"commit_sha": sha,
		"path": path, "change_type": "modified", "is_roadmap": path == "docs/roadmap.md",
		"is_adr": false, "occurred_at": at.Format(time.RFC3339)})
}

func newFixture(t *testing.T, db *store.DB) (*fixture, string) {
	t.Helper()

	f := &fixture{t: t, db: db}
	f.write(commit("seed", "chore: seed", winStart.Add(-30*24*time.Hour)))
	var id string
	if err := db.Get(&id, `SELECT id FROM repositories`); err != nil {
		t.Fatal(err)
	}
	return f, id
}

func day(d int) time.Time { return time.Date(2024, 7, d, 12, 0, 0, 0, time.UTC) }

func build(t *testing.T, db *store.DB, repoID string) *evidence.RepositoryBundle {
	t.Helper()

	b, err := evidence.NewBuilder(db).Repository(context.Background(), repoID, winStart, winEnd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRepositoryBundle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		f, repoID := newFixture(t, db)
		f.write(
			commit("c-before", "feat: old", time.Date(2024, 6, 25, 0, 0, 0, 0, time.UTC)),
			commit("c1", "feat: add auth", day(2)),
			commit("c2", "fix: resolve crash\n\nlong body", day(3)),
			commit("c3", "Merge pull request #123 from user/branch", day(4)),
			commit("c-end", "feat: at the end", winEnd),
			pullRequest(123, 45, "Crash fix", "merged", []any{"bug"}, day(3)),
			issueEvent(12, 12, "Dark mode", "open", []any{"enhancement"}, day(5)),
			docChange("c1", "docs/roadmap.md", day(2)),
		)

		b := build(t, db, repoID)
		is.Equal(b.Repository.Slug(), "octo/reef")
		is.Equal(len(b.Commits), 3) // the window's end is excluded
		is.Equal(b.Commits[0].SHA, "c3")
		is.True(b.Commits[0].IsMergeCommit)
		is.Equal(b.Commits[2].WorkType, evidence.WorkFeature)
		is.Equal(b.PullRequests[0].Number, 45)
		is.Equal(b.PullRequests[0].WorkType, evidence.WorkBug)
		is.Equal(b.Issues[0].WorkType, evidence.WorkFeature)
		is.Equal(len(b.DocumentationChanges), 1)
		is.True(b.DocumentationChanges[0].IsRoadmap)
		is.Equal(b.TotalEvents(), 6)
		is.Equal(len(b.EventFactIDs), 6)

		feature, _ := b.Group(evidence.WorkFeature)
		is.Equal(feature.CommitCount, 1)
		is.Equal(feature.IssueCount, 1)
		bug, _ := b.Group(evidence.WorkBug)
		is.Equal(bug.CommitCount, 1)
		is.Equal(bug.PRCount, 1)
		is.Equal(bug.SampleTitles[0], "fix: resolve crash") // the first line only
		is.Equal(len(b.WorkTypeGroups), 2)                  // merges are not grouped

		// The same data builds the same bundle, byte for byte.
		first, err := json.Marshal(b)
		is.NoErr(err)
		second, err := json.Marshal(build(t, db, repoID))
		is.NoErr(err)
		is.Equal(string(first), string(second))
	})
}

func TestBundleExcludesRepositoryCoverage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f, repoID := newFixture(t, db)
		f.write(commit("c1", "feat: one", day(2)), commit("c2", "feat: two", day(3)),
			pullRequest(7, 7, "PR", "open", nil, day(2)),
			pullRequest(7, 7, "PR again", "open", nil, day(4)),
			docChange("c1", "docs/a.md", day(2)), docChange("c1", "docs/b.md", day(2)))

		var c1, pr1, docA int64
		is.NoErr(db.Get(&c1, `SELECT id FROM event_facts WHERE event_type = 'github.commit'
			AND CAST(payload AS TEXT) LIKE '%"c1"%'`))
		is.NoErr(db.Get(&pr1, `SELECT min(id) FROM event_facts WHERE event_type = 'github.pull_request'`))
		is.NoErr(db.Get(&docA, `SELECT id FROM event_facts WHERE CAST(payload AS TEXT) LIKE '%docs/a.md%'`))

		s := gold.NewStore(db)
		project, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "p", Name: "P"})
		is.NoErr(err)
		_, _, err = s.Insert(ctx, gold.Report{Subject: gold.Subject{Scope: gold.ScopeProject,
			ID: project.ID}, WindowStart: winStart, WindowEnd: winEnd}, []int64{c1})
		is.NoErr(err)
		is.Equal(len(build(t, db, repoID).Commits), 2) // project coverage does not exclude

		_, _, err = s.Insert(ctx, gold.Report{Subject: gold.Subject{Scope: gold.ScopeRepository,
			ID: repoID}, WindowStart: winStart.Add(-24 * time.Hour), WindowEnd: winStart},
			[]int64{c1, pr1, docA})
		is.NoErr(err)
		b := build(t, db, repoID)
		is.Equal(len(b.Commits), 1)
		is.Equal(b.Commits[0].SHA, "c2")
		is.Equal(len(b.PullRequests), 1) // its other fact is uncovered
		is.Equal(len(b.DocumentationChanges), 1)
		is.Equal(b.DocumentationChanges[0].Path, "docs/b.md")
		for _, id := range b.EventFactIDs {
			is.True(id != c1 && id != pr1 && id != docA)
		}
		is.Equal(len(b.PreviousReports), 1)
		is.Equal(b.PreviousReports[0].EventCount, 3)
	})
}

func TestLateEventsGoInTheNextWindow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		f, repoID := newFixture(t, db)
		f.write(commit("c1", "feat: one", day(2)))

		b := build(t, db, repoID)
		_, _, err := gold.NewStore(db).Insert(ctx, gold.Report{Subject: gold.Subject{
			Scope: gold.ScopeRepository, ID: repoID}, WindowStart: winStart, WindowEnd: winEnd},
			b.EventFactIDs)
		is.NoErr(err)

		// A commit of the reported window arrives late.
		f.write(commit("late", "fix: late", day(3)))
		next, err := evidence.NewBuilder(db).Repository(ctx, repoID, winEnd,
			winEnd.Add(7*24*time.Hour))
		is.NoErr(err)
		is.Equal(len(next.Commits), 1)
		is.Equal(next.Commits[0].SHA, "late")
		is.Equal(next.PreviousReports[0].EventCount, 1)
	})
}

func TestBundleErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		_, err := evidence.NewBuilder(db).Repository(context.Background(), "missing", winStart, winEnd)
		is.True(errors.Is(err, evidence.ErrRepositoryNotFound))
		_, err = evidence.NewBuilder(db).Repository(context.Background(), "missing", winEnd, winStart)
		is.True(err != nil)

		_, repoID := newFixture(t, db)
		b := build(t, db, repoID)
		is.Equal(b.TotalEvents(), 0)
		is.Equal(len(b.WorkTypeGroups), 0)
		is.Equal(b.EventFactIDs, []int64{})
	})
}

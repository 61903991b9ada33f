package gold_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

var w0 = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)

func addRepository(t *testing.T, db *store.DB, slug string) string {
	t.Helper()

	id := store.NewID()
	_, err := db.Exec(db.Rebind(`INSERT INTO repositories (id, github_owner, github_name,
		default_branch) VALUES (?, 'octo', ?, 'main')`), id, slug)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// addFacts inserts n raw events with their event facts and returns the
// fact ids.
func addFacts(t *testing.T, db *store.DB, n int) []int64 {
	t.Helper()

	var ids []int64
	for i := range n {
		key := store.NewID()
		var raw int64
		err := db.Get(&raw, db.Rebind(`INSERT INTO raw_events (source_system, event_type,
			occurred_at, dedupe_key, payload) VALUES ('github', 'github.commit', ?, ?, '{}')
			RETURNING id`), store.NewTime(w0.Add(time.Duration(i)*time.Hour)), key)
		if err != nil {
			t.Fatal(err)
		}
		var fact int64
		err = db.Get(&fact, db.Rebind(`INSERT INTO event_facts (raw_event_id, event_type,
			occurred_at, payload) VALUES (?, 'github.commit', ?, '{}') RETURNING id`),
			raw, store.NewTime(w0))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fact)
	}
	return ids
}

func repoReport(repoID string, start time.Time) gold.Report {
	latency, tokens := 1200, 300
	return gold.Report{
		Subject:     gold.Subject{Scope: gold.ScopeRepository, ID: repoID},
		WindowStart: start, WindowEnd: start.Add(7 * 24 * time.Hour),
		Model: "mock-v1", Provider: "mock", HumanText: "octo/reef is on track.",
		Summary: gold.MachineSummary{Summary: "octo/reef is on track.",
			Status: gold.StatusOnTrack, Highlights: []string{"Shipped"}},
		LatencyMS: &latency, TotalTokens: &tokens,
	}
}

func TestInsertReportWithCoverage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		facts := addFacts(t, db, 3)

		r, created, err := s.Insert(ctx, repoReport(repo, w0), facts)
		is.NoErr(err)
		is.True(created)
		is.Equal(r.Subject, gold.Subject{Scope: gold.ScopeRepository, ID: repo})
		is.Equal(r.WindowStart, w0)
		is.Equal(r.Summary.Status, gold.StatusOnTrack)
		is.Equal(r.Summary.Risks, []string{}) // lists are never nil
		is.Equal(*r.LatencyMS, 1200)
		is.Equal(r.PromptTokens, nil)
		n, err := s.CoverageCount(ctx, r.ID)
		is.NoErr(err)
		is.Equal(n, 3)

		// The same window again returns the stored report.
		again, created, err := s.Insert(ctx, repoReport(repo, w0), facts[:1])
		is.NoErr(err)
		is.True(!created)
		is.Equal(again.ID, r.ID)
		n, _ = s.CoverageCount(ctx, r.ID)
		is.Equal(n, 3)
	})
}

func TestConcurrentInsertsAgree(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		facts := addFacts(t, db, 2)

		var wg sync.WaitGroup
		ids := make([]string, 4)
		errs := make([]error, 4)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _, err := s.Insert(context.Background(), repoReport(repo, w0), facts)
				ids[i], errs[i] = r.ID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			is.NoErr(errs[i])
			is.Equal(ids[i], ids[0]) // every run returns the one report
		}
		var n int
		is.NoErr(db.Get(&n, `SELECT count(*) FROM reports`))
		is.Equal(n, 1)
	})
}

func TestInsertRejectsBadReports(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		backwards := repoReport(repo, w0)
		backwards.WindowEnd = w0
		noSubject := repoReport("", w0)
		badScope := repoReport(repo, w0)
		badScope.Subject.Scope = "team"

		for name, r := range map[string]gold.Report{
			"window": backwards, "subject": noSubject, "scope": badScope,
		} {
			t.Run(name, func(t *testing.T) {
				_, _, err := s.Insert(context.Background(), r, nil)
				is.New(t).True(err != nil)
			})
		}
	})
}

func TestDeletingSubjectsDeletesReports(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		_, _, err := s.Insert(ctx, repoReport(repo, w0), addFacts(t, db, 1))
		is.NoErr(err)
		project, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "wildside", Name: "Wildside",
			EstateID: "e1"})
		is.NoErr(err)
		pr := repoReport("", w0)
		pr.Subject = gold.Subject{Scope: gold.ScopeProject, ID: project.ID}
		_, _, err = s.Insert(ctx, pr, nil)
		is.NoErr(err)
		_, err = s.MarkForReview(ctx, gold.Review{Subject: pr.Subject, WindowStart: w0,
			WindowEnd: w0.Add(time.Hour), AttemptCount: 2})
		is.NoErr(err)

		_, err = db.Exec(db.Rebind(`DELETE FROM repositories WHERE id = ?`), repo)
		is.NoErr(err)
		_, err = db.Exec(db.Rebind(`DELETE FROM report_projects WHERE id = ?`), project.ID)
		is.NoErr(err)
		for _, table := range []string{"reports", "report_coverage", "report_reviews"} {
			var n int
			is.NoErr(db.Get(&n, `SELECT count(*) FROM `+table))
			is.Equal(n, 0) // nothing left behind
		}
	})
}

func TestHistoryOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		sub := gold.Subject{Scope: gold.ScopeRepository, ID: repo}
		for i := range 3 {
			_, _, err := s.Insert(ctx, repoReport(repo, w0.Add(time.Duration(i)*7*24*time.Hour)), nil)
			is.NoErr(err)
		}

		latest, err := s.Latest(ctx, sub)
		is.NoErr(err)
		is.Equal(latest.WindowStart, w0.Add(14*24*time.Hour))
		all, err := s.History(ctx, sub, time.Time{}, 0, 1)
		is.NoErr(err)
		is.Equal(len(all), 2)
		before, err := s.History(ctx, sub, w0.Add(14*24*time.Hour), 5, 0)
		is.NoErr(err)
		is.Equal(len(before), 2)
		is.Equal(before[0].WindowEnd, w0.Add(14*24*time.Hour))

		none, err := s.Latest(ctx, gold.Subject{Scope: gold.ScopeEstate, ID: "e9"})
		is.NoErr(err)
		is.Equal(none, nil)
		_, err = s.Get(ctx, "missing")
		is.True(errors.Is(err, gold.ErrNotFound))
	})
}

func TestStoredSummaryReadsLeniently(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		repo := addRepository(t, db, "reef")
		for i, summary := range []string{
			`{"status": "AT_RISK", "highlights": null, "risks": "one string"}`,
			`{"status": 123, "summary": 5, "next_steps": ["a", 1, "b"]}`,
		} {
			_, err := db.Exec(db.Rebind(`INSERT INTO reports (id, scope, repository_id,
				window_start, window_end, machine_summary) VALUES (?, 'repository', ?, ?, ?, ?)`),
				fmt.Sprint(i), repo, store.NewTime(w0.Add(time.Duration(i)*time.Hour)),
				store.NewTime(w0.Add(time.Duration(i+1)*time.Hour)), summary)
			is.NoErr(err)
		}

		s := gold.NewStore(db)
		first, err := s.Get(context.Background(), "0")
		is.NoErr(err)
		is.Equal(first.Summary.Status, gold.StatusAtRisk)
		is.Equal(first.Summary.Highlights, []string{})
		is.Equal(first.Summary.Risks, []string{})
		second, err := s.Get(context.Background(), "1")
		is.NoErr(err)
		is.Equal(second.Summary.Status, gold.StatusUnknown)
		is.Equal(second.Summary.NextSteps, []string{"a", "b"})
	})
}

func TestReviewMarkers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		marker := gold.Review{Subject: gold.Subject{Scope: gold.ScopeRepository, ID: repo},
			WindowStart: w0, WindowEnd: w0.Add(time.Hour), Model: "mock-v1", AttemptCount: 2,
			Issues: []gold.ValidationIssue{{Code: "empty_summary", Message: "Summary is empty."}}}

		first, err := s.MarkForReview(ctx, marker)
		is.NoErr(err)
		is.Equal(first.State, gold.ReviewPending)
		is.Equal(first.Issues[0].Code, "empty_summary")

		resolved, err := s.ResolveReview(ctx, first.ID, "checked by hand")
		is.NoErr(err)
		is.Equal(resolved.State, gold.ReviewResolved)
		is.True(resolved.ResolvedAt != nil)
		_, err = s.ResolveReview(ctx, first.ID, "again")
		is.True(errors.Is(err, gold.ErrAlreadyResolved)) // the first note is kept

		// A later failure of the same window updates the marker but keeps
		// the operator's resolution.
		marker.Issues = []gold.ValidationIssue{{Code: "truncated_summary", Message: "Truncated."}}
		marker.AttemptCount = 3
		again, err := s.MarkForReview(ctx, marker)
		is.NoErr(err)
		is.Equal(again.ID, first.ID)
		is.Equal(again.State, gold.ReviewResolved)
		is.Equal(again.AttemptCount, 3)
		is.Equal(again.Issues[0].Code, "truncated_summary")
		is.Equal(again.ResolutionNote, "checked by hand")

		pending, err := s.Reviews(ctx, gold.ReviewFilter{State: gold.ReviewPending})
		is.NoErr(err)
		is.Equal(len(pending), 0)
		all, err := s.Reviews(ctx, gold.ReviewFilter{Scope: gold.ScopeRepository})
		is.NoErr(err)
		is.Equal(len(all), 1)
		_, err = s.ResolveReview(ctx, "missing", "")
		is.True(errors.Is(err, gold.ErrNotFound))

		// A later pass of a pending window resolves its marker.
		other := marker
		other.WindowStart, other.WindowEnd = w0.Add(time.Hour), w0.Add(2*time.Hour)
		pendingMarker, err := s.MarkForReview(ctx, other)
		is.NoErr(err)
		is.NoErr(s.ResolveWindow(ctx, other.Subject, other.WindowStart, other.WindowEnd, "passed"))
		got, err := s.GetReview(ctx, pendingMarker.ID)
		is.NoErr(err)
		is.Equal(got.State, gold.ReviewResolved)
		is.Equal(got.ResolutionNote, "passed")
	})
}

// TestReviewSubjectNames checks that markers name their subjects as
// operators do, with estate keys read from the catalogue wherever it
// lives.
func TestReviewSubjectNames(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)

		estateID := store.NewID()
		cat := db.Catalogue()
		_, err := cat.Exec(cat.Rebind(`INSERT INTO estates (id, key, name) VALUES (?, 'kestrel', 'Kestrel')`),
			estateID)
		is.NoErr(err)
		repo := addRepository(t, db, "reef")
		project, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "courier", Name: "Courier",
			EstateID: estateID})
		is.NoErr(err)
		deleted := addRepository(t, db, "deleted")

		want := map[string]string{}
		for _, sub := range []gold.Subject{
			{Scope: gold.ScopeRepository, ID: repo},
			{Scope: gold.ScopeProject, ID: project.ID},
			{Scope: gold.ScopeEstate, ID: estateID},
			{Scope: gold.ScopeRepository, ID: deleted},
		} {
			marker, err := s.MarkForReview(ctx, gold.Review{Subject: sub, EstateID: estateID,
				WindowStart: w0, WindowEnd: w0.Add(time.Hour), AttemptCount: 2})
			is.NoErr(err)
			want[marker.ID] = map[string]string{repo: "octo/reef", project.ID: "kestrel/courier",
				estateID: "kestrel", deleted: ""}[sub.ID]
		}
		_, err = db.Exec(db.Rebind(`DELETE FROM repositories WHERE id = ?`), deleted)
		is.NoErr(err)

		reviews, err := s.Reviews(ctx, gold.ReviewFilter{})
		is.NoErr(err)
		is.Equal(len(reviews), 3) // deleting a repository deletes its markers
		for _, r := range reviews {
			is.Equal(r.SubjectName, want[r.ID])
		}
		got, err := s.ResolveReview(ctx, reviews[0].ID, "")
		is.NoErr(err)
		is.Equal(got.SubjectName, want[reviews[0].ID])
	})
}

func TestEnsureProject(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)

		a, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "wildside", Name: "Wildside", EstateID: "e1"})
		is.NoErr(err)
		b, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "wildside", Name: "Wildside 2", EstateID: "e1"})
		is.NoErr(err)
		is.Equal(a.ID, b.ID)
		c, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "wildside", Name: "Wildside", EstateID: "e2"})
		is.NoErr(err)
		is.True(c.ID != a.ID) // keys are unique per estate
		var name string
		is.NoErr(db.Get(&name, db.Rebind(`SELECT name FROM report_projects WHERE id = ?`), a.ID))
		is.Equal(name, "Wildside 2")
	})
}

func TestInsertRejectsOverlappingWindows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		s := gold.NewStore(db)
		repo := addRepository(t, db, "reef")
		_, _, err := s.Insert(ctx, repoReport(repo, w0), nil)
		is.NoErr(err)

		longer := repoReport(repo, w0)
		longer.WindowEnd = w0.Add(8 * 24 * time.Hour)
		_, _, err = s.Insert(ctx, longer, nil)
		is.True(errors.Is(err, gold.ErrOverlap)) // its events would be reported twice

		_, created, err := s.Insert(ctx, repoReport(repo, w0.Add(7*24*time.Hour)), nil)
		is.NoErr(err)
		is.True(created) // the next window follows on
	})
}

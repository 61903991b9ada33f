package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

var healthNow = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

// offsetsFixture is one github_ingestion_offsets row: watermarks as ages
// before healthNow (zero for none) and streams with a cursor.
type offsetsFixture struct {
	slug    string
	marks   [4]time.Duration
	cursors [4]bool
}

func insertOffsets(t *testing.T, db *store.DB, f offsetsFixture) {
	t.Helper()

	args := []any{f.slug}
	for _, age := range f.marks {
		if age == 0 {
			args = append(args, nil)
		} else {
			args = append(args, store.NewTime(healthNow.Add(-age)))
		}
	}
	for i, c := range f.cursors {
		switch {
		case !c:
			args = append(args, nil)
		case i == 3:
			args = append(args, `{"after":{"docs":"x"},"covered":["docs"]}`)
		default:
			args = append(args, "cursor")
		}
	}
	_, err := db.Exec(db.Rebind(`INSERT INTO github_ingestion_offsets (repo_external_id,
		last_commit_ingested_at, last_pr_ingested_at, last_issue_ingested_at,
		last_doc_ingested_at, last_commit_cursor, last_pr_cursor, last_issue_cursor,
		last_doc_cursor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
	if err != nil {
		t.Fatal(err)
	}
}

func insertRepository(t *testing.T, db *store.DB, owner, name string, enabled bool) {
	t.Helper()

	_, err := db.Exec(db.Rebind(`INSERT INTO repositories
		(id, github_owner, github_name, default_branch, ingestion_enabled)
		VALUES (?, ?, ?, 'main', ?)`), store.NewID(), owner, name, enabled)
	if err != nil {
		t.Fatal(err)
	}
}

func seconds(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}

func TestRepositoryLag(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name       string
		fixture    offsetsFixture
		since, age float64 // -1 for none
		pending    bool
		stalled    bool
	}{
		{"all streams", offsetsFixture{marks: [4]time.Duration{h / 4, h / 2, h, h / 3}},
			900, 3600, false, false}, // equal to the threshold is not stalled
		{"one lagging", offsetsFixture{marks: [4]time.Duration{h / 4, h / 2, 2 * h, h / 3}},
			900, 7200, false, true},
		{"never", offsetsFixture{}, -1, -1, false, true},
		{"one never", offsetsFixture{marks: [4]time.Duration{h / 4, h / 4, 0, h / 4}},
			900, 900, false, true},
		{"backlog", offsetsFixture{marks: [4]time.Duration{h / 2, h / 2, h / 2, h / 2},
			cursors: [4]bool{true}}, 1800, 1800, true, false},
		{"cursor only", offsetsFixture{cursors: [4]bool{true, true}}, -1, -1, true, true},
		{"doc backlog", offsetsFixture{marks: [4]time.Duration{h / 6, h / 2, h / 2, h / 2},
			cursors: [4]bool{false, false, false, true}}, 600, 1800, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				c.fixture.slug = "octo/reef"
				insertOffsets(t, db, c.fixture)
				svc := ingest.NewHealthService(db, 0)
				svc.SetClock(func() time.Time { return healthNow })

				lag, err := svc.Repository(context.Background(), "Octo/Reef")
				is.NoErr(err)
				is.Equal(lag.RepoSlug, "octo/reef")
				is.Equal(seconds(lag.TimeSinceLastIngestionSeconds), c.since)
				is.Equal(seconds(lag.OldestWatermarkAgeSeconds), c.age)
				is.Equal(lag.HasPendingCursors, c.pending)
				is.Equal(lag.IsStalled, c.stalled)
			})
		})
	}
}

func TestRepositoryLagUnknown(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		lag, err := ingest.NewHealthService(db, 0).Repository(context.Background(), "octo/none")
		is.NoErr(err)
		is.Equal(lag, nil)
	})
}

func TestStalledRepositories(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		insertRepository(t, db, "octo", "reef", true)
		insertRepository(t, db, "octo", "coral", true)
		insertRepository(t, db, "octo", "kelp", true) // never ingested
		insertRepository(t, db, "octo", "old", false) // disabled: not reported
		two, ten := 2*time.Minute, 10*time.Minute
		insertOffsets(t, db, offsetsFixture{slug: "octo/reef", marks: [4]time.Duration{two, two, two, two}})
		insertOffsets(t, db, offsetsFixture{slug: "octo/coral", marks: [4]time.Duration{two, ten, two, two}})
		insertOffsets(t, db, offsetsFixture{slug: "octo/old"})
		svc := ingest.NewHealthService(db, 5*time.Minute)
		svc.SetClock(func() time.Time { return healthNow })

		all, err := svc.All(context.Background())
		is.NoErr(err)
		var slugs []string
		for _, l := range all {
			slugs = append(slugs, l.RepoSlug)
		}
		is.Equal(slugs, []string{"octo/coral", "octo/kelp", "octo/reef"})

		stalled, err := svc.Stalled(context.Background())
		is.NoErr(err)
		is.Equal(len(stalled), 2)
		is.Equal(stalled[0].RepoSlug, "octo/coral")
		is.Equal(stalled[1].RepoSlug, "octo/kelp")
		is.Equal(stalled[1].TimeSinceLastIngestionSeconds, nil)
	})
}

func TestLagAfterIngestion(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		h := newHarness(t, db, ingest.Config{})
		h.gh.addCommit("abc", t0.Add(-time.Hour), "dev")
		h.run(t, testRepo("docs/roadmap.md"))

		svc := ingest.NewHealthService(db, time.Hour)
		svc.SetClock(func() time.Time { return t0.Add(30 * time.Minute) })
		lag, err := svc.Repository(context.Background(), "octo/reef")
		is.NoErr(err)
		is.Equal(seconds(lag.TimeSinceLastIngestionSeconds), 1800.0)
		is.True(!lag.IsStalled)
		is.True(!lag.HasPendingCursors) // covered documentation paths are no backlog
		is.Equal(*lag.LastSuccessAt, t0)
	})
}

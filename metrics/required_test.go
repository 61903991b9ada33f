package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/metrics"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// start and end bound the window of the fixtures: one week.
var (
	start = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	end   = start.Add(7 * day)
)

const (
	day         = 24 * time.Hour
	microsecond = time.Microsecond
)

func at(offset time.Duration) store.Time { return store.NewTime(start.Add(offset)) }

func addRepo(t *testing.T, db *store.DB, name, estateID string) string {
	t.Helper()

	id := store.NewID()
	_, err := db.Exec(db.Rebind(`INSERT INTO repositories (id, github_owner, github_name,
		default_branch) VALUES (?, 'acme', ?, 'main')`), id, name)
	if err != nil {
		t.Fatal(err)
	}
	if estateID != "" {
		_, err = db.Exec(db.Rebind(`INSERT INTO repository_estates (repository_id, estate_id)
			VALUES (?, ?)`), id, estateID)
		if err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// pr is a pull request of a fixture; a nil time is NULL.
type pr struct {
	created        time.Duration
	merged, closed *time.Duration
	state          string
}

// issue is an issue of a fixture; a nil time is NULL.
type issue struct {
	created time.Duration
	closed  *time.Duration
	state   string
}

func ptr(d time.Duration) *time.Duration { return &d }

func nullable(d *time.Duration) *store.Time {
	if d == nil {
		return nil
	}
	t := at(*d)
	return &t
}

var nextID int64

func addPullRequests(t *testing.T, db *store.DB, repoID string, prs ...pr) {
	t.Helper()

	for _, p := range prs {
		nextID++
		_, err := db.Exec(db.Rebind(`INSERT INTO pull_requests (id, repo_id, number, title, state,
			created_at, merged_at, closed_at, base_branch, head_branch, observed_at)
			VALUES (?, ?, ?, 'change', ?, ?, ?, ?, 'main', 'topic', ?)`), nextID, repoID, nextID,
			p.state, at(p.created), nullable(p.merged), nullable(p.closed), at(p.created))
		if err != nil {
			t.Fatal(err)
		}
	}
}

func addIssues(t *testing.T, db *store.DB, repoID string, issues ...issue) {
	t.Helper()

	for _, i := range issues {
		nextID++
		_, err := db.Exec(db.Rebind(`INSERT INTO issues (id, repo_id, number, title, state,
			created_at, closed_at, observed_at) VALUES (?, ?, ?, 'problem', ?, ?, ?, ?)`),
			nextID, repoID, nextID, i.state, at(i.created), nullable(i.closed), at(i.created))
		if err != nil {
			t.Fatal(err)
		}
	}
}

func secs(s float64) *float64 { return &s }

// fixture stores acme/widget and acme/gadget with activity around the
// window, acme/idle with none, all three in estate e1, and acme/other
// outside it. The comments give each item's duration in seconds.
func fixture(t *testing.T, db *store.DB) (widget string) {
	t.Helper()

	widget = addRepo(t, db, "widget", "e1")
	gadget := addRepo(t, db, "gadget", "e1")
	addRepo(t, db, "idle", "e1")
	other := addRepo(t, db, "other", "")

	addPullRequests(t, db, widget,
		pr{created: -2 * time.Hour, merged: ptr(0), closed: ptr(0), state: "merged"},   // 7200
		pr{created: day, merged: ptr(day + 4*time.Hour), state: "merged"},              // 14400
		pr{created: -day, merged: ptr(7 * day), closed: ptr(7 * day), state: "merged"}, // at end
		pr{created: 0, closed: ptr(2 * day), state: "closed"},
		pr{created: 0, closed: ptr(7*day - microsecond), state: "closed"},
		pr{created: -10 * day, merged: ptr(-microsecond), state: "merged"}, // before start
		pr{created: -10 * day, closed: ptr(-microsecond), state: "closed"}, // before start
		pr{created: day, state: "open"},
	)
	addPullRequests(t, db, gadget,
		pr{created: 2 * day, merged: ptr(2*day + 90*time.Minute), state: "merged"}, // 5400
	)
	addPullRequests(t, db, other, pr{created: day, merged: ptr(2 * day), state: "merged"})

	addIssues(t, db, widget,
		issue{created: -day, closed: ptr(0), state: "closed"},          // 86400
		issue{created: 0, closed: ptr(2 * time.Hour), state: "closed"}, // 7200
		issue{created: day, closed: ptr(day + 1800*time.Second + 500*time.Millisecond), // 1800.5
			state: "closed"},
		issue{created: day, closed: ptr(day + 3599*time.Second + 500*time.Millisecond), // 3599.5
			state: "closed"},
		issue{created: -3 * day, closed: ptr(7 * day), state: "closed"}, // open at end: 864000
		issue{created: -10 * day, state: "open"},                        // open: 1468800
		issue{created: 7 * day, state: "open"},                          // created at end
		issue{created: -5 * day, closed: ptr(-day), state: "closed"},    // before start
		issue{created: -2 * day, state: "closed"},                       // closed, time unknown
	)
	addIssues(t, db, gadget,
		issue{created: day, closed: ptr(day + 100*time.Second), state: "closed"},
		issue{created: day, closed: ptr(day + 300*time.Second), state: "closed"},
		issue{created: 0, closed: ptr(329 * time.Second), state: "closed"},
	)
	addIssues(t, db, other, issue{created: 0, closed: ptr(day), state: "closed"})
	return widget
}

func TestForRepository(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		widget := fixture(t, db)

		tests := []struct {
			name       string
			start, end time.Time
			want       metrics.Required
		}{
			{"week", start, end, metrics.Required{
				PullRequestsMerged: 2, PullRequestsClosedUnmerged: 2,
				MeanTimeToMergeSeconds: secs(10800),
				IssuesResolved:         4, IssuesOutstanding: 2,
				ResolvedIssueOpenSeconds: metrics.ResolvedDurations{Mean: secs(24750),
					Median: secs(5399.75)},
				OutstandingIssueAgeSeconds: metrics.OutstandingAges{Mean: secs(1166400),
					Max: secs(1468800)},
			}},
			{"first hour", start, start.Add(time.Hour), metrics.Required{
				PullRequestsMerged: 1, MeanTimeToMergeSeconds: secs(7200),
				IssuesResolved: 1, IssuesOutstanding: 3,
				ResolvedIssueOpenSeconds: metrics.ResolvedDurations{Mean: secs(86400),
					Median: secs(86400)},
				// Open at start+1h: created at start and closed at 2h
				// (3600), open since -3d (262800) and since -10d (867600).
				OutstandingIssueAgeSeconds: metrics.OutstandingAges{Mean: secs(378000),
					Max: secs(867600)},
			}},
			{"empty", start.Add(-30 * day), start.Add(-29 * day), metrics.Required{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				got, err := metrics.ForRepository(context.Background(), db, widget, tt.start, tt.end)
				is.NoErr(err)
				is.Equal(got.Repository, "acme/widget")
				is.True(got.WindowStart.Equal(tt.start))
				is.True(got.WindowEnd.Equal(tt.end))
				if diff := cmp.Diff(tt.want, got.Metrics); diff != "" {
					t.Errorf("metrics (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestTimesOutOfOrder checks that a pull request merged, or an issue
// closed, before its created_at counts but adds no negative duration.
func TestTimesOutOfOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		repo := addRepo(t, db, "clock", "")
		addPullRequests(t, db, repo,
			pr{created: day, merged: ptr(day - 19*time.Hour), state: "merged"},
			pr{created: day, merged: ptr(day + time.Hour), state: "merged"}, // 3600
		)
		addIssues(t, db, repo,
			issue{created: 2 * day, closed: ptr(day), state: "closed"},
			issue{created: day, closed: ptr(day + 2*time.Hour), state: "closed"}, // 7200
		)

		got, err := metrics.ForRepository(context.Background(), db, repo, start, end)
		is.NoErr(err)
		want := metrics.Required{PullRequestsMerged: 2, MeanTimeToMergeSeconds: secs(3600),
			IssuesResolved: 2, ResolvedIssueOpenSeconds: metrics.ResolvedDurations{Mean: secs(7200),
				Median: secs(7200)}}
		if diff := cmp.Diff(want, got.Metrics); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
	})
}

func TestForEstate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		fixture(t, db)
		_, err := db.Exec(`INSERT INTO estates (id, key, name) VALUES ('e1', 'acme', 'Acme')`)
		is.NoErr(err)

		got, err := metrics.ForEstate(ctx, db, "e1", start, end)
		is.NoErr(err)
		is.Equal(got.Estate, "acme")
		is.True(got.WindowStart.Equal(start))
		is.True(got.WindowEnd.Equal(end))

		var names []string
		for _, r := range got.Repositories {
			names = append(names, r.Repository)
		}
		is.Equal(names, []string{"acme/gadget", "acme/idle", "acme/widget"})

		gadget := metrics.Required{PullRequestsMerged: 1, MeanTimeToMergeSeconds: secs(5400),
			IssuesResolved:           3,
			ResolvedIssueOpenSeconds: metrics.ResolvedDurations{Mean: secs(243), Median: secs(300)}}
		if diff := cmp.Diff(gadget, got.Repositories[0].Metrics); diff != "" {
			t.Errorf("acme/gadget (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(metrics.Required{}, got.Repositories[1].Metrics); diff != "" {
			t.Errorf("acme/idle (-want +got):\n%s", diff)
		}
		is.Equal(got.Repositories[2].Metrics.IssuesResolved, 4) // acme/widget as in TestForRepository

		// Seven resolved issues: 100, 300, 329, 1800.5, 3599.5, 7200 and
		// 86400 seconds, so a mean of 99729 / 7 and the fourth as median.
		totals := metrics.Required{PullRequestsMerged: 3, PullRequestsClosedUnmerged: 2,
			MeanTimeToMergeSeconds: secs(9000), IssuesResolved: 7, IssuesOutstanding: 2,
			ResolvedIssueOpenSeconds: metrics.ResolvedDurations{Mean: secs(14247),
				Median: secs(1800.5)},
			OutstandingIssueAgeSeconds: metrics.OutstandingAges{Mean: secs(1166400),
				Max: secs(1468800)}}
		if diff := cmp.Diff(totals, got.Totals); diff != "" {
			t.Errorf("totals (-want +got):\n%s", diff)
		}

		empty, err := metrics.ForEstate(ctx, db, "e1", end.Add(365*day), end.Add(366*day))
		is.NoErr(err)
		is.Equal(len(empty.Repositories), 3)
		is.Equal(empty.Totals.PullRequestsMerged, 0)
		is.Equal(empty.Totals.IssuesOutstanding, 2) // still open a year later
		is.Equal(empty.Totals.MeanTimeToMergeSeconds, nil)
		is.Equal(empty.Totals.ResolvedIssueOpenSeconds.Median, nil)
	})
}

func TestRequiredErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		widget := addRepo(t, db, "widget", "")

		tests := []struct {
			name string
			call func() error
			want error
		}{
			{"backwards window", func() error {
				_, err := metrics.ForRepository(ctx, db, widget, end, start)
				return err
			}, nil},
			{"empty window", func() error {
				_, err := metrics.ForEstate(ctx, db, "e1", start, start)
				return err
			}, nil},
			{"unknown repository", func() error {
				_, err := metrics.ForRepository(ctx, db, "nope", start, end)
				return err
			}, metrics.ErrRepositoryNotFound},
			{"unknown estate", func() error {
				_, err := metrics.ForEstate(ctx, db, "nope", start, end)
				return err
			}, metrics.ErrEstateNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				err := tt.call()
				is.True(err != nil)
				if tt.want != nil {
					is.True(errors.Is(err, tt.want))
				}
			})
		}
	})
}

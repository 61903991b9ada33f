package runs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func create(t *testing.T, db *store.DB, s *runs.Store) runs.Run {
	t.Helper()

	var r runs.Run
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		r, err = s.Create(context.Background(), tx, runs.KindReport, runs.ScopeEstate, "wildside")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func plan(t *testing.T, db *store.DB, s *runs.Store, id string, n int) {
	t.Helper()

	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		planned, err := s.Plan(context.Background(), tx, id, n)
		if err == nil && !planned {
			t.Errorf("run %s was planned before", id)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func finish(t *testing.T, db *store.DB, s *runs.Store, id string, u runs.Unit) bool {
	t.Helper()

	var p runs.Progress
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		p, err = s.Finish(context.Background(), tx, id, u)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.Done()
}

func get(t *testing.T, s *runs.Store, id string) runs.Run {
	t.Helper()

	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := runs.New(db)
		ok := runs.Unit{Name: "a/one", State: runs.UnitSucceeded}
		skipped := runs.Unit{Name: "a/two", State: runs.UnitSkipped, Detail: "no events"}
		failed := runs.Unit{Name: "a/three", State: runs.UnitFailed, Detail: "model timed out"}

		tests := []struct {
			name  string
			plan  int // -1 leaves the run unplanned
			start bool
			units []runs.Unit
			want  runs.State
		}{
			{name: "new", plan: -1, want: runs.StateQueued},
			{name: "started", plan: -1, start: true, want: runs.StateRunning},
			{name: "planned", plan: 2, want: runs.StateQueued},
			{name: "planned and started", plan: 2, start: true, want: runs.StateRunning},
			{name: "half done", plan: 2, units: []runs.Unit{ok}, want: runs.StateRunning},
			{name: "nothing to do", plan: 0, want: runs.StateSucceeded},
			{name: "all ok", plan: 2, units: []runs.Unit{ok, skipped}, want: runs.StateSucceeded},
			{name: "some failed", plan: 2, units: []runs.Unit{ok, failed}, want: runs.StatePartial},
			{name: "all failed", plan: 1, units: []runs.Unit{failed}, want: runs.StateFailed},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := create(t, db, s)
				if tt.start {
					if err := s.Start(context.Background(), r.ID); err != nil {
						t.Fatal(err)
					}
				}
				if tt.plan >= 0 {
					plan(t, db, s, r.ID, tt.plan)
				}
				for _, u := range tt.units {
					finish(t, db, s, r.ID, u)
				}

				got := get(t, s, r.ID)
				if got.State != tt.want {
					t.Fatalf("state = %s, want %s", got.State, tt.want)
				}
				if got.State.Terminal() != (got.FinishedAt != nil) {
					t.Fatalf("state %s with finished_at %v", got.State, got.FinishedAt)
				}
				if len(got.Units) != len(tt.units) {
					t.Fatalf("%d units, want %d", len(got.Units), len(tt.units))
				}
			})
		}
	})
}

func TestFinishCountsAUnitOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := runs.New(db)
		r := create(t, db, s)
		plan(t, db, s, r.ID, 2)

		u := runs.Unit{Name: "a/one", State: runs.UnitFailed, Detail: "first"}
		if finish(t, db, s, r.ID, u) {
			t.Fatal("the first of two units was reported last")
		}
		again := runs.Unit{Name: "a/one", State: runs.UnitSucceeded}
		if finish(t, db, s, r.ID, again) {
			t.Fatal("a unit recorded twice was reported last")
		}

		got := get(t, s, r.ID)
		if got.State != runs.StateRunning || got.Failed != 1 || got.Units[0].Detail != "first" {
			t.Fatalf("run = %+v, want running with the first record kept", got)
		}
		if !finish(t, db, s, r.ID, runs.Unit{Name: "a/two", State: runs.UnitSucceeded}) {
			t.Fatal("the last unit was not reported last")
		}
		if got := get(t, s, r.ID); got.State != runs.StatePartial {
			t.Fatalf("state = %s, want partial", got.State)
		}
	})
}

// TestFinishReportsLastOnce finishes every unit at once from separate
// goroutines: exactly one of them must see the run end.
func TestFinishReportsLastOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := runs.New(db)
		r := create(t, db, s)
		const n = 12
		plan(t, db, s, r.ID, n)

		var mu sync.Mutex
		lasts := 0
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				u := runs.Unit{Name: "unit-" + string(rune('a'+i)), State: runs.UnitSucceeded}
				if finish(t, db, s, r.ID, u) {
					mu.Lock()
					lasts++
					mu.Unlock()
				}
			})
		}
		wg.Wait()

		if lasts != 1 {
			t.Fatalf("%d callers saw the last unit finish, want 1", lasts)
		}
		if got := get(t, s, r.ID); got.State != runs.StateSucceeded || got.Succeeded != n {
			t.Fatalf("run = %s with %d succeeded, want succeeded with %d", got.State, got.Succeeded, n)
		}
	})
}

func TestPlanOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := runs.New(db)
		r := create(t, db, s)
		plan(t, db, s, r.ID, 3)

		err := db.InTx(context.Background(), func(tx *store.Tx) error {
			planned, err := s.Plan(context.Background(), tx, r.ID, 5)
			if planned {
				t.Error("a second plan was accepted")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, r.ID); *got.Total != 3 {
			t.Fatalf("total = %d, want the first plan's 3", *got.Total)
		}
	})
}

func TestFail(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		s := runs.New(db)
		r := create(t, db, s)

		if err := s.Fail(context.Background(), r.ID, errors.New("estate wildside not found")); err != nil {
			t.Fatal(err)
		}
		got := get(t, s, r.ID)
		if got.State != runs.StateFailed || got.Error != "estate wildside not found" || got.FinishedAt == nil {
			t.Fatalf("run = %+v, want failed with the error", got)
		}
	})
}

func TestGetUnknown(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		_, err := runs.New(db).Get(context.Background(), "nope")
		if !errors.Is(err, runs.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

// TestStaleHeartbeatFails checks that a run whose process stopped
// sending heartbeats without finishing it reads as failed, while a
// finished run and a run of the workers, which sends none, do not.
func TestStaleHeartbeatFails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := runs.New(db)
		r := create(t, db, s)
		plan(t, db, s, r.ID, 2)
		if err := s.Start(ctx, r.ID); err != nil {
			t.Fatal(err)
		}

		stop := s.KeepAlive(ctx, r.ID)
		stop()
		got := get(t, s, r.ID)
		if got.HeartbeatAt == nil || got.State != runs.StateRunning {
			t.Fatalf("run = %+v, want running with a heartbeat", got)
		}

		setHeartbeat := func(id string, at time.Time) {
			t.Helper()
			_, err := db.Exec(db.Rebind(`UPDATE runs SET heartbeat_at = ? WHERE id = ?`),
				store.NewTime(at), id)
			if err != nil {
				t.Fatal(err)
			}
		}
		setHeartbeat(r.ID, time.Now().Add(-runs.StaleAfter+time.Minute))
		if got := get(t, s, r.ID); got.State != runs.StateRunning {
			t.Fatalf("state = %s a minute before the heartbeat goes stale, want running", got.State)
		}

		setHeartbeat(r.ID, time.Now().Add(-runs.StaleAfter-time.Minute))
		got = get(t, s, r.ID)
		if got.State != runs.StateFailed || !strings.Contains(got.Error, "stopped without finishing it") {
			t.Fatalf("run = %+v, want failed because its process stopped", got)
		}

		// The units that finished still count, and a finished run keeps
		// its outcome however old its last heartbeat.
		finish(t, db, s, r.ID, runs.Unit{Name: "a/one", State: runs.UnitSucceeded})
		if got := get(t, s, r.ID); got.State != runs.StateFailed || got.Succeeded != 1 {
			t.Fatalf("run = %+v, want failed with one unit succeeded", got)
		}
		finish(t, db, s, r.ID, runs.Unit{Name: "a/two", State: runs.UnitSucceeded})
		if got := get(t, s, r.ID); got.State != runs.StateSucceeded {
			t.Fatalf("state = %s after every unit finished, want succeeded", got.State)
		}

		worker := create(t, db, s)
		plan(t, db, s, worker.ID, 1)
		if err := s.Start(ctx, worker.ID); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, worker.ID); got.State != runs.StateRunning || got.HeartbeatAt != nil {
			t.Fatalf("run = %+v, want a running run without heartbeats", got)
		}
	})
}

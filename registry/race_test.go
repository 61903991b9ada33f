package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// TestSyncAdoptsRowInsertedDuringSync runs on PostgreSQL only, because
// SQLite lets one writer at a time in, so the race cannot happen there.
// Silver inserts the row in a transaction that commits only once the
// sync's own insert of the same repository is waiting for it.
func TestSyncAdoptsRowInsertedDuringSync(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	db := storetest.Open(t, store.Postgres)
	svc := registry.NewService(db, nil)
	importYAML(t, db, "alpha", catalogueYAML("org/a"))

	silver, err := db.BeginTxx(ctx, nil)
	is.NoErr(err)
	defer func() { _ = silver.Rollback() }()
	var silverPID int
	is.NoErr(silver.Get(&silverPID, "SELECT pg_backend_pid()"))
	id := store.NewID()
	now := store.Now()
	_, err = silver.Exec(`INSERT INTO repositories
		(id, github_owner, github_name, default_branch, ingestion_enabled, created_at, updated_at)
		VALUES ($1, 'Org', 'A', 'main', false, $2, $2)`, id, now)
	is.NoErr(err)

	type outcome struct {
		res registry.SyncResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := svc.Sync(ctx, "alpha")
		done <- outcome{res, err}
	}()

	waitUntilBlocked(t, db, silverPID)
	is.NoErr(silver.Commit())

	got := <-done
	is.NoErr(got.err)
	is.Equal(got.res, registry.SyncResult{EstateKey: "alpha", Updated: 1})
	is.Equal(count(t, db, "repositories"), 1)

	repo := getRepo(t, svc, "org/a")
	is.Equal(repo.ID, id)
	is.True(repo.IngestionEnabled)
	is.Equal(repo.EstateID, estateID(t, db, "alpha"))
	is.Equal(memberEstates(t, db, id), []string{"alpha"})
}

// waitUntilBlocked waits until some session waits for a lock that the
// session with the process id holds.
func waitUntilBlocked(t *testing.T, db *store.DB, holderPID int) {
	t.Helper()

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var waiting int
		err := db.Get(&waiting,
			"SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", holderPID)
		if err != nil {
			t.Fatalf("read pg_stat_activity: %v", err)
		}
		if waiting > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no session waited for process %d within 10s", holderPID)
}

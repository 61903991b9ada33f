package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/ghillie/ghillie/adapters/worker"
	"github.com/ghillie/ghillie/runs"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// TestModule assembles the queue in an fx application, as a library user
// would, and runs a report through it.
func TestModule(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		migrated(t, db)
		commit(t, db, "leynos/wildside", "c1")

		var q *worker.Queue
		app := fxtest.New(t,
			fx.Supply(worker.Config{DB: db, Model: status.NewMock(), ReportSchedule: "off",
				PollInterval: 50 * time.Millisecond}),
			worker.Module,
			fx.Populate(&q),
		)
		app.RequireStart()
		defer app.RequireStop()

		run, err := q.StartReports(context.Background(), runs.ScopeRepository, "leynos/wildside",
			untilAsOf)
		is.NoErr(err)
		run = wait(t, q.Runs(), run.ID, time.Minute)
		is.Equal(run.State, runs.StateSucceeded)
		is.Equal(run.Succeeded, 1)
	})
}

func TestModuleRejectsBadConfig(t *testing.T) {
	is := is.New(t)

	app := fx.New(fx.NopLogger, fx.Supply(worker.Config{}), worker.Module)
	is.True(app.Err() != nil) // a Config without a database
}

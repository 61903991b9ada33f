package worker

import (
	"context"

	"go.uber.org/fx"
)

// Module is the fx module of the job queue. It needs a Config, provides
// the *Queue, and works jobs from the application's start to its stop,
// when it waits for running jobs until the stop context ends. An
// insert-only Config gives a queue that only adds jobs, for a server.
var Module = fx.Module("worker",
	fx.Provide(New),
	fx.Invoke(func(lc fx.Lifecycle, q *Queue) {
		lc.Append(fx.Hook{
			OnStart: func(ctx context.Context) error { return q.Start(ctx) },
			OnStop:  func(ctx context.Context) error { return q.Stop(ctx) },
		})
	}),
)

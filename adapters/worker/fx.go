package worker

import (
	"go.uber.org/fx"
)

// Module is the fx module of the job queue. It needs a Config and
// provides the *Queue, which works jobs from the application's start to
// its stop, when it waits for running jobs until the stop context ends.
// An insert-only Config gives a queue that only adds jobs, for a server.
//
// The queue registers its start when it is built, so components built
// from it, such as an HTTP server whose routes queue runs, start after it
// and stop before it.
var Module = fx.Module("worker",
	fx.Provide(newFx),
	fx.Invoke(func(*Queue) {}),
)

func newFx(lc fx.Lifecycle, cfg Config) (*Queue, error) {
	q, err := New(cfg)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{OnStart: q.Start, OnStop: q.Stop})
	return q, nil
}

package registry

import (
	"context"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"github.com/ghillie/ghillie/store"
)

// Service syncs catalogue repositories into Silver, toggles their
// ingestion and lists them. It is safe for concurrent use: syncs and
// ingestion changes run one at a time, across processes too.
type Service struct {
	db     *store.DB
	logger *slog.Logger
}

// NewService returns a registry that reads the catalogue tables and writes
// the Silver repositories tables of db. A nil logger means silent.
func NewService(db *store.DB, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, logger: logger}
}

// registryLock serializes syncs of every estate and ingestion changes.
// A sync decides from the rows it read at its start, and a repository may
// belong to several estates. Without the lock, an ingestion change made
// during a sync could be undone by the sync's stale copy of the row, and
// two syncs sharing a repository could miscount it.
const registryLock = "ghillie.registry.sync"

// queryer is a *store.DB or a *store.Tx.
type queryer interface {
	sqlx.QueryerContext
	Dialect() store.Dialect
}

// execQueryer is a queryer that can also write, such as a *store.Tx.
type execQueryer interface {
	queryer
	sqlx.ExecerContext
}

func getRow(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	return store.Classify(sqlx.GetContext(ctx, q, dest, q.Dialect().Rebind(query), args...))
}

func selectRows(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	return store.Classify(sqlx.SelectContext(ctx, q, dest, q.Dialect().Rebind(query), args...))
}

func execRows(ctx context.Context, q execQueryer, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, q.Dialect().Rebind(query), args...)
	if err != nil {
		return 0, store.Classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, store.Classify(err)
	}
	return n, nil
}

package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ghillie/ghillie/store"
)

// SetIngestion records an operator's choice to ingest the repository or
// not. The choice is stored in ingestion_override and outlives later
// syncs, until the next SetIngestion or until a sync finds that no
// catalogue lists the repository any more.
//
// The owner and name match without regard to case; an unknown repository
// returns an error wrapping ErrRepositoryNotFound. changed is false, and
// nothing is written, when ingestion_enabled and ingestion_override both
// already equal enabled.
func (s *Service) SetIngestion(
	ctx context.Context, owner, name string, enabled bool,
) (changed bool, err error) {
	if err := checkOwnerName(owner, name); err != nil {
		return false, err
	}

	var before *repositoryRow
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, registryLock); err != nil {
			return err
		}

		row, err := findRepository(ctx, tx, owner, name)
		if err != nil {
			return err
		}
		if row == nil {
			return repositoryNotFound(owner, name)
		}
		before = row

		override := row.IngestionOverride
		if row.IngestionEnabled == enabled && override != nil && *override == enabled {
			return nil
		}
		_, err = execRows(ctx, tx, `UPDATE repositories
			SET ingestion_enabled = ?, ingestion_override = ?, updated_at = ? WHERE id = ?`,
			enabled, enabled, store.Now(), row.ID)
		if err != nil {
			return fmt.Errorf("update repository %s: %w", row.slug(), err)
		}
		changed = true
		return nil
	})
	if errors.Is(err, ErrRepositoryNotFound) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("set ingestion of %s/%s to %t: %w", owner, name, enabled, err)
	}

	if changed {
		s.logger.LogAttrs(ctx, slog.LevelInfo, "registry.ingestion.changed",
			slog.String("repository", before.slug()),
			slog.String("repository_id", before.ID),
			slog.Bool("ingestion_enabled", enabled),
			slog.Bool("previously_enabled", before.IngestionEnabled))
	}
	return changed, nil
}

// Enable is SetIngestion with enabled true.
func (s *Service) Enable(ctx context.Context, owner, name string) (changed bool, err error) {
	return s.SetIngestion(ctx, owner, name, true)
}

// Disable is SetIngestion with enabled false.
func (s *Service) Disable(ctx context.Context, owner, name string) (changed bool, err error) {
	return s.SetIngestion(ctx, owner, name, false)
}

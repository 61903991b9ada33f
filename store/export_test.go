package store

import "context"

// MigrateTo applies the migrations up to version, so that a test can
// start from an older schema.
func MigrateTo(ctx context.Context, db *DB, version int64) error {
	provider, err := newProvider(ctx, db)
	if err != nil {
		return err
	}
	_, err = provider.UpTo(ctx, version)
	return err
}

// MigrateDownTo rolls the migrations after version back.
func MigrateDownTo(ctx context.Context, db *DB, version int64) error {
	provider, err := newProvider(ctx, db)
	if err != nil {
		return err
	}
	_, err = provider.DownTo(ctx, version)
	return err
}

// ParseTimeLayout is parseTimeLayout, for tests that compare it with
// time.Parse.
var ParseTimeLayout = parseTimeLayout

package store_test

import (
	"context"
	"fmt"

	"github.com/ghillie/ghillie/store"
)

func ExampleOpen() {
	ctx := context.Background()

	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	if err := store.Migrate(ctx, db); err != nil {
		fmt.Println(err)
		return
	}

	current, latest, err := store.SchemaVersion(ctx, db)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(db.Dialect(), current == latest)
	// Output: sqlite true
}

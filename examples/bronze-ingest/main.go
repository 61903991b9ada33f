// Command bronze-ingest shows the Bronze writer used as a library: it
// appends a push event to raw_events twice, showing that the second write
// returns the stored row instead of a duplicate, then refines pending
// events into Silver.
//
//	go run ./examples/bronze-ingest
//	go run ./examples/bronze-ingest -database-url sqlite:bronze.db
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bronze-ingest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("bronze-ingest", flag.ContinueOnError)
	databaseURL := flags.String("database-url", "sqlite::memory:", "database to write to")
	if err := flags.Parse(args); err != nil {
		return err
	}

	db, err := store.Open(ctx, *databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}

	envelope := bronze.Envelope{
		SourceSystem:   "github",
		SourceEventID:  "evt-1",
		EventType:      "github.push",
		RepoExternalID: "acme/api",
		OccurredAt:     time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC),
		Payload:        map[string]any{"ref": "refs/heads/main", "after": "abc123"},
	}

	writer := bronze.NewWriter(db)
	first, err := writer.Write(ctx, envelope)
	if err != nil {
		return err
	}
	// A webhook retry or an overlapping poller writes the same event again.
	again, err := writer.Write(ctx, envelope)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "raw event %d stored, state %s\n", first.ID, first.TransformState)
	fmt.Fprintf(stdout, "same event again: raw event %d, no new row\n", again.ID)

	result, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "transformed: %d processed, %d skipped, %d failed\n",
		result.Processed, result.Skipped, result.Failed)
	return nil
}

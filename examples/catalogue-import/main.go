// Command catalogue-import shows the catalogue and store packages used as
// a library: it opens a database, applies the migrations, validates the
// Wildside example catalogue and imports it into an estate, then prints
// what changed.
//
//	go run ./examples/catalogue-import
//	go run ./examples/catalogue-import -database-url sqlite:demo.db -commit abc123
//	go run ./examples/catalogue-import -catalogue-database-url sqlite:catalogue.db
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "catalogue-import:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("catalogue-import", flag.ContinueOnError)
	flags.SetOutput(stderr)
	databaseURL := flags.String("database-url", "sqlite::memory:", "database to import into")
	catalogueURL := flags.String("catalogue-database-url", "",
		"separate database of the catalogue tables; empty keeps them in -database-url")
	path := flags.String("catalogue", "examples/wildside-catalogue.yaml", "catalogue file to import")
	estateKey := flags.String("estate", "wildside", "estate key")
	commit := flags.String("commit", "example", "commit SHA to record; empty records nothing")
	if err := flags.Parse(args); err != nil {
		return err
	}

	db, err := store.Open(ctx, *databaseURL)
	if err != nil {
		return err
	}
	if *catalogueURL != "" {
		catalogueDB, err := store.Open(ctx, *catalogueURL)
		if err != nil {
			_ = db.Close()
			return err
		}
		db = db.WithCatalogue(catalogueDB)
	}
	defer db.Close()

	// Migrate applies the schema to the catalogue database too, and the
	// importer writes there.
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}

	// A nil logger keeps the importer silent; pass one to see its events.
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	importer := catalogue.NewImporter(db, logger)

	res, err := importer.ImportFile(ctx, catalogue.Estate{Key: *estateKey}, *path, *commit)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "estate %s, commit %q, skipped %t\n", res.EstateKey, res.CommitSHA, res.Skipped)
	for _, kind := range res.ByKind() {
		fmt.Fprintf(stdout, "%-12s created %d, updated %d, deleted %d\n",
			kind.Kind, kind.Created, kind.Updated, kind.Deleted)
	}
	return nil
}

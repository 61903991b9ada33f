// Command silver-hydrate shows Bronze and Silver used together as a
// library: it stores a commit event, runs the transformer, and reads the
// repository and commit rows that the event produced. Replaying the same
// event changes nothing.
//
//	go run ./examples/silver-hydrate
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
		fmt.Fprintln(os.Stderr, "silver-hydrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("silver-hydrate", flag.ContinueOnError)
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

	committed := time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)
	event := bronze.Envelope{
		SourceSystem:   "github",
		SourceEventID:  "commit-1",
		EventType:      "github.commit",
		RepoExternalID: "octo/reef",
		OccurredAt:     committed,
		Payload: map[string]any{
			"sha":            "abc123",
			"message":        "docs: refresh roadmap",
			"repo_owner":     "octo",
			"repo_name":      "reef",
			"default_branch": "main",
			"committed_at":   committed,
		},
	}

	transformer := silver.NewTransformer(db, nil)
	for round := 1; round <= 2; round++ {
		if _, err := bronze.NewWriter(db).Write(ctx, event); err != nil {
			return err
		}
		if _, err := transformer.ProcessPending(ctx, 0); err != nil {
			return err
		}
	}

	var commit struct {
		Repository string     `db:"repository"`
		Branch     string     `db:"default_branch"`
		Message    string     `db:"message"`
		Committed  store.Time `db:"committed_at"`
		Ingestion  bool       `db:"ingestion_enabled"`
	}
	err = db.GetContext(ctx, &commit, `
		SELECT r.github_owner || '/' || r.github_name AS repository, r.default_branch,
			r.ingestion_enabled, c.message, c.committed_at
		FROM commits c JOIN repositories r ON r.id = c.repo_id
		WHERE c.sha = 'abc123'`)
	if err != nil {
		return fmt.Errorf("read commit abc123: %w", err)
	}

	var rows struct {
		Repositories int `db:"repositories"`
		Commits      int `db:"commits"`
		Facts        int `db:"facts"`
	}
	err = db.GetContext(ctx, &rows, `SELECT
		(SELECT count(*) FROM repositories) AS repositories,
		(SELECT count(*) FROM commits) AS commits,
		(SELECT count(*) FROM event_facts) AS facts`)
	if err != nil {
		return fmt.Errorf("count Silver rows: %w", err)
	}

	fmt.Fprintf(stdout, "commit abc123 in %s (branch %s): %q at %s\n",
		commit.Repository, commit.Branch, commit.Message, commit.Committed.Format(time.RFC3339))
	fmt.Fprintf(stdout, "ad hoc repository, ingestion enabled: %t\n", commit.Ingestion)
	fmt.Fprintf(stdout, "after two rounds: %d repository, %d commit, %d event fact\n",
		rows.Repositories, rows.Commits, rows.Facts)
	return nil
}

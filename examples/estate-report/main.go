// Command estate-report shows reporting used as a library. It imports
// the example catalogue into an in-memory database, stores a week of
// events for one repository, and writes every report of the estate with
// the deterministic mock model: the repository's, each project's and the
// estate's roll-up. It prints one line per report and the estate's
// Markdown.
//
//	go run ./examples/estate-report
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "estate-report:", err)
		os.Exit(1)
	}
}

// asOf ends the reporting window.
var asOf = time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)

// events are a week of work on leynos/wildside.
func events() []bronze.Envelope {
	commit := func(sha, message string, at time.Time) bronze.Envelope {
		return bronze.Envelope{SourceSystem: "github", SourceEventID: sha,
			EventType: "github.commit", RepoExternalID: "leynos/wildside", OccurredAt: at,
			Payload: map[string]any{"sha": sha, "message": message, "repo_owner": "leynos",
				"repo_name": "wildside", "committed_at": at.Format(time.RFC3339),
				"default_branch": "main"}}
	}
	merged := asOf.Add(-48 * time.Hour)
	return []bronze.Envelope{
		commit("a1", "feat: add walk planner", asOf.Add(-96*time.Hour)),
		commit("a2", "fix: route through parks", asOf.Add(-72*time.Hour)),
		{SourceSystem: "github", SourceEventID: "12", EventType: "github.pull_request",
			RepoExternalID: "leynos/wildside", OccurredAt: merged, Payload: map[string]any{
				"id": 12, "number": 12, "title": "Add walk planner", "state": "merged",
				"labels": []any{"feature"}, "base_branch": "main", "head_branch": "planner",
				"created_at": asOf.Add(-100 * time.Hour).Format(time.RFC3339),
				"merged_at":  merged.Format(time.RFC3339), "repo_owner": "leynos",
				"repo_name": "wildside"}},
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("estate-report", flag.ContinueOnError)
	cataloguePath := flags.String("catalogue", "examples/wildside-catalogue.yaml", "catalogue to import")
	if err := flags.Parse(args); err != nil {
		return err
	}

	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}

	// The estate: its catalogue, its repositories and a week of events.
	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx,
		catalogue.Estate{Key: "wildside", Name: "Wildside"}, *cataloguePath, ""); err != nil {
		return err
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, "wildside"); err != nil {
		return err
	}
	if _, err := bronze.NewWriter(db).WriteBatch(ctx, events()); err != nil {
		return err
	}
	if _, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0); err != nil {
		return err
	}

	svc, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig)
	if err != nil {
		return err
	}
	var estateID string
	cat := db.Catalogue()
	if err := cat.GetContext(ctx, &estateID, `SELECT id FROM estates`); err != nil {
		return err
	}
	outcomes, err := svc.RunEstateAll(ctx, estateID, reporting.RunOptions{AsOf: asOf})
	if err != nil {
		return err
	}

	var estate string
	for _, o := range outcomes {
		if o.Skipped {
			fmt.Fprintf(stdout, "%-10s %-26s skipped, no events\n", o.Scope, o.Subject)
			continue
		}
		fmt.Fprintf(stdout, "%-10s %-26s %s\n", o.Scope, o.Subject, reporting.StatusLabel(o.Report.Summary.Status))
		estate = o.Markdown
	}
	fmt.Fprintf(stdout, "\n%s", estate)
	return nil
}

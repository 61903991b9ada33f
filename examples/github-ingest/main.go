// Command github-ingest shows incremental GitHub ingestion used as a
// library. It serves one repository from the fake GitHub in
// adapters/githubapi/githubtest, ingests it twice with the GitHub client
// and the worker, and refines the events into Silver. The second run
// finds nothing new and costs one request. Point the same code at GitHub
// by building the client from the environment instead (see
// githubapi.ConfigFromEnv).
//
//	go run ./examples/github-ingest
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "github-ingest:", err)
		os.Exit(1)
	}
}

// repository returns what the fake GitHub serves: two commits of the last
// day, one of them to the roadmap, and a merged pull request.
func repository(now time.Time) *githubtest.Repository {
	dev := githubtest.GitActor{Name: "Dev One", Email: "dev1@example.invalid", Login: "dev-one"}
	first, second := now.Add(-20*time.Hour), now.Add(-2*time.Hour)
	return &githubtest.Repository{
		Owner: "octo", Name: "reef", DefaultBranch: "main",
		Commits: []githubtest.Commit{
			{OID: strings.Repeat("b", 40), MessageHeadline: "docs: plan the next release",
				AuthoredDate: second, CommittedDate: second, Author: dev,
				Files: []githubtest.ChangedFile{{Path: "docs/roadmap.md", ChangeType: "MODIFIED"}}},
			{OID: strings.Repeat("a", 40), MessageHeadline: "feat: add tide tables",
				AuthoredDate: first, CommittedDate: first, Author: dev,
				Files: []githubtest.ChangedFile{{Path: "src/tide.go", ChangeType: "ADDED"}}},
		},
		PullRequests: []githubtest.PullRequest{{
			DatabaseID: 3_000_000_001, Number: 1, Title: "Add tide tables", State: "MERGED",
			CreatedAt: first.Add(-time.Hour), UpdatedAt: first, MergedAt: first, ClosedAt: first,
			BaseRefName: "main", HeadRefName: "tides", Author: &githubtest.Actor{Login: "dev-one"},
		}},
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("github-ingest", flag.ContinueOnError)
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

	// The fake GitHub listens on 127.0.0.1 and accepts its default token.
	server := githubtest.NewServer(nil, githubtest.Options{}, repository(time.Now()))
	defer server.Close()
	cfg, err := githubapi.ConfigFromEnv(func(key string) string {
		return map[string]string{
			"GHILLIE_GITHUB_TOKEN":   githubtest.DefaultToken,
			"GHILLIE_GITHUB_API_URL": server.URL,
		}[key]
	})
	if err != nil {
		return err
	}
	client, err := githubapi.New(cfg)
	if err != nil {
		return err
	}

	// An enabled repository with a documentation path; a catalogue and
	// `registry.Service.Sync` give the same.
	repo := registry.Repository{Owner: "octo", Name: "reef", DefaultBranch: "main",
		IngestionEnabled: true, DocumentationPaths: []string{"docs/roadmap.md"}}
	worker, err := ingest.NewWorker(db, client, ingest.Config{})
	if err != nil {
		return err
	}

	for _, round := range []string{"first", "second"} {
		res, err := worker.IngestRepository(ctx, repo)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s run: commits %d, pull requests %d, documentation changes %d, "+
			"GitHub requests %d\n", round, res.Streams[ingest.KindCommit].Ingested,
			res.Streams[ingest.KindPullRequest].Ingested, res.Streams[ingest.KindDocChange].Ingested,
			res.Requests)
	}

	transformed, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "refined %d events into Silver\n", transformed.Processed)
	return nil
}

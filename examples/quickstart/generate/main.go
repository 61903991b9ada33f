// Command generate writes the GitHub recording that the quickstart
// replays. It builds three weeks of activity of the quickstart
// catalogue's four repositories at fixed dates, serves it from the fake
// GitHub in adapters/githubapi/githubtest, and ingests it the way
// 'ghillie run' does, through githubapi.NewRecorder, with every clock
// stopped at recordedAt. The same program therefore writes the same
// files every time, and a test compares them with the shipped ones.
//
//	go generate ./examples/quickstart/...
//
// runs it from this folder and replaces ../recording.
package main

//go:generate go run . -catalogue ../catalogue.yaml -out ../recording

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
)

// recordedAt is when the recorded ingestion runs. A replay runs its clock
// and ends its report windows at this time.
var recordedAt = time.Date(2025, time.June, 13, 16, 0, 0, 0, time.UTC)

// Settings of the recorded ingestion. They are the defaults of 'ghillie
// run' (--lookback-days 14, --max-events-per-kind 500), which shape the
// requests a replay sends, so a replay with the defaults finds each one
// recorded.
const (
	lookback         = 14 * 24 * time.Hour
	maxEventsPerKind = 500
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("generate", flag.ContinueOnError)
	cataloguePath := flags.String("catalogue", "examples/quickstart/catalogue.yaml",
		"catalogue of the quickstart estate")
	out := flags.String("out", "", "folder to write the recording to; its JSON files are replaced")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required: name the folder to write the recording to")
	}

	// The new recording goes to a folder next to -out first, so a failed
	// run leaves the old recording as it was.
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(*out), ".recording-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	exchanges, err := record(ctx, *cataloguePath, tmp)
	if err != nil {
		return err
	}
	if err := replaceRecording(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recorded %d GitHub exchanges at %s in %s\n", exchanges,
		recordedAt.Format(time.RFC3339), *out)
	return nil
}

// record imports the catalogue into an in-memory database, ingests
// every repository from the fake GitHub, and saves the exchanges in dir.
// It returns how many it saved.
func record(ctx context.Context, cataloguePath, dir string) (int, error) {
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return 0, err
	}
	estate := catalogue.Estate{Key: "quickstart"}
	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, estate, cataloguePath, ""); err != nil {
		return 0, err
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, estate.Key); err != nil {
		return 0, err
	}
	enabled := true
	repos, err := registry.NewService(db, nil).List(ctx,
		registry.ListOptions{EstateKey: estate.Key, Ingestion: &enabled})
	if err != nil {
		return 0, err
	}

	// Rate limits are off because their reset times follow the real clock
	// and would make each recording differ.
	server := githubtest.NewServer(nil, githubtest.Options{RateLimitsOff: true}, repositories()...)
	defer server.Close()
	target, err := url.Parse(server.URL)
	if err != nil {
		return 0, err
	}
	recorder, err := githubapi.NewRecorder(dir, fakeGitHubTransport{target: target},
		githubapi.WithRecordingClock(func() time.Time { return recordedAt }))
	if err != nil {
		return 0, err
	}
	// The client names GitHub.com, so the recording holds GitHub.com's
	// paths, which a replay with the default GHILLIE_GITHUB_API_URL
	// requests. The transport sends every request to the fake.
	client, err := githubapi.New(githubapi.Config{
		Token: githubapi.Secret(githubtest.DefaultToken), APIURL: githubapi.DefaultAPIURL,
	}, githubapi.WithTransport(recorder))
	if err != nil {
		return 0, err
	}
	worker, err := ingest.NewWorker(db, client,
		ingest.Config{InitialLookback: lookback, MaxEventsPerKind: maxEventsPerKind},
		ingest.WithClock(func() time.Time { return recordedAt }))
	if err != nil {
		return 0, err
	}

	for _, repo := range repos {
		if _, err := worker.IngestRepository(ctx, repo); err != nil {
			return 0, fmt.Errorf("ingest %s/%s: %w", repo.Owner, repo.Name, err)
		}
	}
	if err := recorder.Close(); err != nil {
		return 0, err
	}
	return recorder.Exchanges(), nil
}

// fakeGitHubTransport sends every request to the fake GitHub at target,
// whatever host its URL names. The Host header keeps the host the client
// requested, so the links the fake writes into responses do not carry
// its random port.
type fakeGitHubTransport struct {
	target *url.URL
}

func (t fakeGitHubTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = t.target.Scheme
	out.URL.Host = t.target.Host
	out.Host = req.URL.Host
	return http.DefaultTransport.RoundTrip(out)
}

// replaceRecording replaces the JSON files in out with those in dir. It
// removes only JSON files, so an -out folder named by mistake loses
// nothing else.
func replaceRecording(dir, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(out, "*.json"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

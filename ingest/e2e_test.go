package ingest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// Where the recorded repositories and GitHub's schema sit beside a
// checkout of this repository, seen from this package's folder.
const (
	defaultDataDir = "../../shared/data/github"
	defaultSchema  = "../../shared/github/schema.graphql"
)

// sharedFile returns a file from the environment variable or the
// default. Without it the test is skipped, except with CI=true, where it
// fails.
func sharedFile(t *testing.T, variable, fallback string) string {
	t.Helper()

	path := os.Getenv(variable)
	if path == "" {
		path = fallback
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("%s not found: set %s (%v)", path, variable, err)
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func githubSchema(t *testing.T) *ast.Schema {
	t.Helper()

	path := sharedFile(t, "GHILLIE_GITHUB_SCHEMA", defaultSchema)
	sdl, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := githubtest.LoadSchema(path, string(sdl))
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

type expectation struct {
	Commits             int `json:"commits"`
	BotCommits          int `json:"botCommits"`
	DocChangeRows       int `json:"docChangeRows"`
	DocChangeRowsByArea map[string]int
	PullRequestsDerived int `json:"pullRequestsDerived"`
	Informational       struct {
		DocsAdrDashFileRows int `json:"docsAdrDashFileRows"`
	} `json:"informational"`
}

// recorded is a recorded repository with its expected counts.
type recorded struct {
	rec    *githubtest.Recording
	expect expectation
}

func loadRecorded(t *testing.T) []recorded {
	t.Helper()

	dir := filepath.Dir(sharedFile(t, "GHILLIE_GITHUB_DATA",
		defaultDataDir) + "/expected-counts.json")
	data, err := os.ReadFile(filepath.Join(dir, "expected-counts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var counts struct {
		Repositories map[string]expectation `json:"repositories"`
	}
	if err := json.Unmarshal(data, &counts); err != nil {
		t.Fatal(err)
	}

	var out []recorded
	for _, name := range []string{"ortho-config", "rstest-bdd"} {
		rec, err := githubtest.LoadRecording(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recorded{rec: rec, expect: counts.Repositories[name]})
	}
	return out
}

func isBot(name, login string) bool {
	return strings.HasSuffix(name, "[bot]") || strings.HasSuffix(login, "[bot]")
}

// bots returns the bot authors of the recorded commits.
func (r recorded) bots() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range r.rec.Commits {
		for _, n := range []string{c.Author.Name, c.Author.Login} {
			if strings.HasSuffix(n, "[bot]") && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// counts are Silver rows of one repository.
type counts struct {
	commits, pullRequests, issues, roadmap, adrDir, adrFiles int
}

func silverCounts(t *testing.T, db *store.DB, owner, name string) counts {
	t.Helper()

	var c counts
	q := func(dst *int, query string) {
		err := db.Get(dst, db.Rebind(query+` WHERE repo_id = (SELECT id FROM repositories
			WHERE github_owner = ? AND github_name = ?)`+extra(query)), owner, name)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(&c.commits, `SELECT count(*) FROM commits`)
	q(&c.pullRequests, `SELECT count(*) FROM pull_requests`)
	q(&c.issues, `SELECT count(*) FROM issues`)
	q(&c.roadmap, `SELECT count(*) FROM documentation_changes /*roadmap*/`)
	q(&c.adrDir, `SELECT count(*) FROM documentation_changes /*adr-dir*/`)
	q(&c.adrFiles, `SELECT count(*) FROM documentation_changes /*adr-files*/`)
	return c
}

// extra adds the path condition named in a query's comment.
func extra(query string) string {
	switch {
	case strings.Contains(query, "/*roadmap*/"):
		return ` AND path = 'docs/roadmap.md'`
	case strings.Contains(query, "/*adr-dir*/"):
		return ` AND path = 'docs/adr'`
	case strings.Contains(query, "/*adr-files*/"):
		return ` AND path LIKE 'docs/adr-%'`
	}
	return ""
}

func estateCatalogue(repos []recorded, noise bool) string {
	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n")
	for _, r := range repos {
		name := r.rec.Repository.Name
		fmt.Fprintf(&b, "  - key: %s\n    name: %s\n", name, name)
		if noise {
			quoted := []string{}
			for _, bot := range r.bots() {
				quoted = append(quoted, strconv.Quote(bot))
			}
			fmt.Fprintf(&b, "    noise:\n      ignore_authors: [%s]\n", strings.Join(quoted, ", "))
		}
		fmt.Fprintf(&b, "    components:\n      - key: %s-main\n        name: %s\n"+
			"        repository:\n          owner: %s\n          name: %s\n"+
			"          default_branch: %s\n"+
			"          documentation_paths: [docs/roadmap.md, docs/adr/, docs/adr-*.md]\n",
			name, name, r.rec.Repository.Owner, name, r.rec.Repository.DefaultBranch)
	}
	return b.String()
}

// serveRecorded starts a fake GitHub serving the recordings, shifted so
// that the newest commit of each was an hour ago.
func serveRecorded(t *testing.T, repos []recorded, opts githubtest.Options) *githubtest.Server {
	t.Helper()

	opts.Schema = githubSchema(t)
	server := githubtest.NewServer(t, opts)
	now := time.Now().UTC().Truncate(time.Second)
	for _, r := range repos {
		repo, err := githubtest.FromRecording(r.rec, r.rec.ShiftTo(now.Add(-time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		server.PutRepository(repo)
	}
	return server
}

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// ingestEstate syncs the estate, ingests each repository once and
// transforms the result into Silver.
func ingestEstate(t *testing.T, db *store.DB, client ingest.GitHubClient) []ingest.Result {
	t.Helper()
	ctx := context.Background()

	svc := registry.NewService(db, nil)
	if _, err := svc.Sync(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	repos, err := svc.List(ctx, registry.ListOptions{EstateKey: "test"})
	if err != nil {
		t.Fatal(err)
	}

	worker, err := ingest.NewWorker(db, client, ingest.Config{
		InitialLookback: 400 * 24 * time.Hour, MaxEventsPerKind: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	var results []ingest.Result
	for _, repo := range repos {
		res, err := worker.IngestRepository(ctx, repo)
		if err != nil {
			t.Fatalf("ingest %s/%s: %v", repo.Owner, repo.Name, err)
		}
		results = append(results, res)
	}

	res, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 {
		t.Fatalf("transform failed %d events", res.Failed)
	}
	return results
}

// wantCounts derives the Silver rows a correct ingestion produces, from
// the expected counts and, where noise filters apply, from the recording.
func wantCounts(r recorded, noise bool) counts {
	want := counts{
		commits:      r.expect.Commits,
		pullRequests: r.expect.PullRequestsDerived,
		roadmap:      r.expect.DocChangeRowsByArea["docs/roadmap.md"],
		adrDir:       r.expect.DocChangeRowsByArea["docs/adr/"],
		adrFiles:     r.expect.Informational.DocsAdrDashFileRows,
	}
	for _, i := range r.rec.Issues {
		if i.Kind == "issue" {
			want.issues++
		}
	}
	if !noise {
		return want
	}

	want.commits -= r.expect.BotCommits
	bots := map[string]bool{}
	for _, c := range r.rec.Commits {
		if !isBot(c.Author.Name, c.Author.Login) {
			continue
		}
		bots[c.OID] = true
		for _, f := range c.Files {
			switch {
			case f.Path == "docs/roadmap.md":
				want.roadmap--
			case strings.HasPrefix(f.Path, "docs/adr-") && strings.HasSuffix(f.Path, ".md"):
				want.adrFiles--
			}
		}
	}
	for _, p := range r.rec.PullRequests {
		if p.Author != nil && strings.HasSuffix(p.Author.Login, "[bot]") {
			want.pullRequests--
		}
	}
	return want
}

func TestRecordedRepositoriesEndToEnd(t *testing.T) {
	repos := loadRecorded(t)
	for _, noise := range []bool{false, true} {
		t.Run(map[bool]string{false: "all", true: "noise"}[noise], func(t *testing.T) {
			storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				server := serveRecorded(t, repos, githubtest.Options{})
				importCatalogue(t, db, estateCatalogue(repos, noise))
				client := newTestClient(t, map[string]string{
					"GHILLIE_GITHUB_TOKEN": githubtest.DefaultToken,
				}, server)

				results := ingestEstate(t, db, client)
				for i, r := range repos {
					got := silverCounts(t, db, r.rec.Repository.Owner, r.rec.Repository.Name)
					is.Equal(got, wantCounts(r, noise)) // Silver rows of the repository
					is.Equal(results[i].Streams[ingest.KindCommit].Truncated, false)
				}
				is.Equal(server.ValidationErrors(), nil) // every document valid
				is.Equal(server.Unsupported(), nil)

				for _, r := range repos {
					reportRecorded(t, db, r, wantCounts(r, noise))
				}

				// Nothing changed: one request per repository, no new rows.
				again := ingestEstate(t, db, client)
				for _, res := range again {
					is.Equal(res.Requests, 1)
					is.Equal(res.Total(), 0)
				}
			})
		})
	}
}

func newTestClient(t *testing.T, env map[string]string, server *githubtest.Server,
	opts ...githubapi.Option) *githubapi.Client {
	t.Helper()

	env["GHILLIE_GITHUB_API_URL"] = server.URL
	cfg, err := githubapi.ConfigFromEnv(envFrom(env))
	if err != nil {
		t.Fatal(err)
	}
	client, err := githubapi.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestRecordedRepositoriesSurviveFaults ingests through GitHub App tokens
// that expire within seconds, while GitHub responds with secondary rate
// limits, RATE_LIMITED, 502s on large pages and a rejected token. Every
// event must be stored once.
func TestRecordedRepositoriesSurviveFaults(t *testing.T) {
	repos := loadRecorded(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		is.NoErr(err)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
			Bytes: x509.MarshalPKCS1PrivateKey(key)})

		server := serveRecorded(t, repos, githubtest.Options{AppID: 42, AppKey: &key.PublicKey,
			TokenLifetime: 2 * time.Second, ResetInterval: time.Second})
		faults := []*githubtest.InjectedFault{
			server.Inject(githubtest.Fault{Kind: githubtest.SecondaryLimit, API: githubtest.GraphQLAPI,
				Skip: 1}),
			server.Inject(githubtest.Fault{Kind: githubtest.SecondaryLimit429, RetryAfter: time.Second,
				API: githubtest.GraphQLAPI, Skip: 3}),
			server.Inject(githubtest.Fault{Kind: githubtest.RateLimited, API: githubtest.GraphQLAPI,
				Skip: 5}),
			server.Inject(githubtest.Fault{Kind: githubtest.BadGateway, API: githubtest.GraphQLAPI,
				PageSizeOver: 50, Times: 3}),
			server.Inject(githubtest.Fault{Kind: githubtest.ExpiredToken, Skip: 8}),
			server.Inject(githubtest.Fault{Kind: githubtest.SecondaryLimit, API: githubtest.RESTAPI,
				Skip: 2}),
		}
		importCatalogue(t, db, estateCatalogue(repos, false))
		client := newTestClient(t, map[string]string{
			"GHILLIE_GITHUB_APP_ID":              "42",
			"GHILLIE_GITHUB_APP_INSTALLATION_ID": "7",
			"GHILLIE_GITHUB_APP_PRIVATE_KEY":     string(pemKey),
		}, server, githubapi.WithMinSecondaryWait(10*time.Millisecond))

		ingestEstate(t, db, client)
		for _, f := range faults {
			is.True(server.Fired(f) > 0) // every fault happened
		}
		for _, r := range repos {
			got := silverCounts(t, db, r.rec.Repository.Owner, r.rec.Repository.Name)
			is.Equal(got, wantCounts(r, false))
		}

		var rows, distinct int
		is.NoErr(db.Get(&rows, `SELECT count(*) FROM raw_events`))
		is.NoErr(db.Get(&distinct, `SELECT count(*) FROM (SELECT DISTINCT event_type,
			source_event_id FROM raw_events) d`))
		is.Equal(rows, distinct) // every event stored once
		is.True(server.MintedTokens() > 1)
	})
}

// TestLatePushOverRealHTTP pushes a commit dated a month back onto a
// recorded repository after a first ingestion, as a merge or a late push
// does. The next run, through the real client and the fake GitHub, must
// store it and its documentation change.
func TestLatePushOverRealHTTP(t *testing.T) {
	repos := loadRecorded(t)[:1]
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		server := serveRecorded(t, repos, githubtest.Options{})
		importCatalogue(t, db, estateCatalogue(repos, false))
		client := newTestClient(t, map[string]string{"GHILLIE_GITHUB_TOKEN": githubtest.DefaultToken},
			server)
		ingestEstate(t, db, client)

		owner, name := repos[0].rec.Repository.Owner, repos[0].rec.Repository.Name
		late := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)
		is.NoErr(server.Update(owner, name, func(r *githubtest.Repository) {
			head := r.Commits[0].OID
			r.Commits = append([]githubtest.Commit{{
				OID: "1a7e000000000000000000000000000000000000", Parents: []string{head},
				MessageHeadline: "docs: a month-old roadmap edit", AuthoredDate: late,
				CommittedDate: late, Author: githubtest.GitActor{Name: "Dev One",
					Email: "dev1@example.invalid"},
				Files: []githubtest.ChangedFile{{Path: "docs/roadmap.md", ChangeType: "MODIFIED"}},
			}}, r.Commits...)
		}))

		results := ingestEstate(t, db, client)
		is.Equal(results[0].Streams[ingest.KindCommit].Ingested, 1)
		is.Equal(results[0].Streams[ingest.KindDocChange].Ingested, 1)
		got := silverCounts(t, db, owner, name)
		want := wantCounts(repos[0], false)
		is.Equal(got.commits, want.commits+1)
		is.Equal(got.roadmap, want.roadmap+1)
	})
}

// reportRecorded reports on a recorded repository's whole history, up to
// now, with the mock model, and checks that the report covers every event
// fact of its window and that its evidence holds the expected entities.
func reportRecorded(t *testing.T, db *store.DB, r recorded, want counts) {
	t.Helper()
	ctx := context.Background()
	is := is.New(t)

	repo, err := registry.NewService(db, nil).Get(ctx, r.rec.Repository.Owner, r.rec.Repository.Name)
	is.NoErr(err)
	var first, last store.Time
	slug := repo.Slug()
	is.NoErr(db.Get(&first, db.Rebind(`SELECT min(occurred_at) FROM event_facts
		WHERE repo_external_id = ?`), slug))
	is.NoErr(db.Get(&last, db.Rebind(`SELECT max(occurred_at) FROM event_facts
		WHERE repo_external_id = ?`), slug))
	// Some recorded issues are dated after this machine's clock; a
	// window cannot end in the future.
	start, end := first.Truncate(24*time.Hour), last.Add(time.Second)
	if now := time.Now().Truncate(time.Second); end.After(now) {
		end = now
	}

	bundle, err := evidence.NewBuilder(db).Repository(ctx, repo.ID, start, end)
	is.NoErr(err)
	is.Equal(len(bundle.Commits), want.commits) // the evidence holds every commit
	is.Equal(len(bundle.PullRequests), want.pullRequests)
	is.Equal(len(bundle.DocumentationChanges), want.roadmap+want.adrFiles)

	sink := t.TempDir()
	cfg := reporting.DefaultConfig
	cfg.SinkPath = sink
	svc, err := reporting.NewService(db, status.NewMock(), cfg)
	is.NoErr(err)
	out, err := svc.RunRepository(ctx, repo.ID, reporting.RunOptions{Start: start, End: end})
	var invalid *reporting.ValidationError
	if errors.As(err, &invalid) {
		t.Fatalf("the mock's report of %s failed validation: %+v", slug, invalid.Issues)
	}
	is.NoErr(err)
	is.True(out.Report != nil)

	var covered, facts int
	is.NoErr(db.Get(&covered, db.Rebind(`SELECT count(*) FROM report_coverage WHERE report_id = ?`),
		out.Report.ID))
	is.NoErr(db.Get(&facts, db.Rebind(`SELECT count(*) FROM event_facts WHERE repo_external_id = ?
		AND occurred_at < ?`), slug, store.NewTime(end)))
	is.Equal(covered, facts) // the report covers every event of the window
	markdown, err := os.ReadFile(filepath.Join(sink, repo.Owner, repo.Name, "latest.md"))
	is.NoErr(err)
	is.True(strings.HasPrefix(string(markdown), "# "+slug+" — Status report"))
}

package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// reefCatalogue lists reef with a glob among its documentation paths,
// which makes the worker list commit files over REST.
const reefCatalogue = `version: 1
projects:
  - key: reef
    name: Reef
    components:
      - key: reef-main
        name: Reef
        repository:
          owner: octo
          name: reef
          default_branch: main
          documentation_paths: [docs/roadmap.md, "docs/*.md"]
`

// ingestReef ingests reef through client into a fresh database and
// returns the Bronze rows as "event_type source_event_id", sorted.
func ingestReef(t *testing.T, client ingest.GitHubClient) ([]string, ingest.Result) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)

	c, err := catalogue.Parse("reef.yaml", []byte(reefCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalogue.NewImporter(db, nil).Import(ctx, catalogue.Estate{Key: "reef"}, c,
		""); err != nil {
		t.Fatal(err)
	}
	svc := registry.NewService(db, nil)
	if _, err := svc.Sync(ctx, "reef"); err != nil {
		t.Fatal(err)
	}
	repo, err := svc.Get(ctx, "octo", "reef")
	if err != nil {
		t.Fatal(err)
	}

	worker, err := ingest.NewWorker(db, client, ingest.Config{
		InitialLookback: time.Since(reefStart) + 30*24*time.Hour, MaxEventsPerKind: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := worker.IngestRepository(ctx, repo)
	if err != nil {
		t.Fatalf("ingest octo/reef: %v", err)
	}

	var rows []string
	if err := db.Select(&rows, `SELECT event_type || ' ' || source_event_id FROM raw_events
		ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	return rows, res
}

// readIndex decodes the index of the recording in dir.
func readIndex(t *testing.T, dir string) indexFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, recordingIndex))
	if err != nil {
		t.Fatal(err)
	}
	var index indexFile
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatalf("decode index %s: %v", data, err)
	}
	return index
}

// checkNoSecrets fails the test when a file in dir contains one of the
// secrets or an Authorization header, ignoring case.
func checkNoSecrets(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ToLower(string(data))
		for _, s := range append([]string{"authorization", "bearer "}, secrets...) {
			if strings.Contains(text, strings.ToLower(s)) {
				t.Errorf("%s contains %q", e.Name(), s)
			}
		}
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestRecordThenReplayRun(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	dir := filepath.Join(t.TempDir(), "recording")
	rec, err := NewRecorder(dir, nil)
	is.NoErr(err)
	client, err := New(Config{Token: testToken, APIURL: server.URL}, WithTransport(rec))
	is.NoErr(err)

	live, liveRes := ingestReef(t, client)
	is.NoErr(rec.Close())
	is.True(liveRes.Streams[ingest.KindDocChange].Ingested > 0)
	kinds := map[string]bool{}
	for _, row := range live {
		kinds[strings.Fields(row)[0]] = true
	}
	is.Equal(len(kinds), 4) // commits, pull requests, issues and documentation changes

	index := readIndex(t, dir)
	is.Equal(len(index.Exchanges), rec.Exchanges())
	is.Equal(len(index.Exchanges), liveRes.Requests)
	rest := 0
	for _, e := range index.Exchanges {
		if strings.Contains(e.Path, "/commits/") {
			rest++
		}
	}
	is.True(rest > 0) // the glob made the worker list commit files
	checkNoSecrets(t, dir, testToken)

	server.Close()
	replayer, err := NewReplayer(dir)
	is.NoErr(err)
	client, err = New(Config{Token: "replay", APIURL: server.URL}, WithTransport(replayer))
	is.NoErr(err)
	replayed, res := ingestReef(t, client)
	is.Equal(replayed, live) // the same Bronze rows
	is.Equal(res.Requests, liveRes.Requests)
	is.Equal(res.Points, liveRes.Points)
}

func TestRecordingLeavesOutAppTokens(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{AppID: 42, AppKey: &testKey().PublicKey})
	dir := t.TempDir()
	rec, err := NewRecorder(dir, nil)
	is.NoErr(err)
	client, err := New(Config{
		App:    &AppConfig{AppID: 42, InstallationID: 7, PrivateKey: testKey()},
		APIURL: server.URL,
	}, WithTransport(rec))
	is.NoErr(err)

	_, err = client.CommitFiles(context.Background(), "octo", "reef", "e5")
	is.NoErr(err)
	is.NoErr(rec.Close())
	is.Equal(server.MintedTokens(), 1)

	index := readIndex(t, dir)
	is.Equal(len(index.Exchanges), 1) // the commit, not the installation token
	// A loopback API URL counts as GitHub Enterprise Server, hence /api/v3.
	is.Equal(index.Exchanges[0].Path, "/api/v3/repos/octo/reef/commits/e5")
	checkNoSecrets(t, dir, "ghs_", "eyJ", "access_tokens")
}

func TestReplayMissingRequest(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	dir := t.TempDir()
	rec, err := NewRecorder(dir, nil)
	is.NoErr(err)
	client, err := New(Config{Token: testToken, APIURL: server.URL}, WithTransport(rec))
	is.NoErr(err)
	_, err = client.CommitFiles(context.Background(), "octo", "reef", "e5")
	is.NoErr(err)
	is.NoErr(rec.Close())

	replayer, err := NewReplayer(dir)
	is.NoErr(err)
	h := newHarnessFor(t, nil, Config{Token: "replay", APIURL: server.URL},
		WithTransport(replayer))
	_, err = h.client.CommitFiles(context.Background(), "octo", "reef", "c3")
	is.True(errors.Is(err, ErrNotRecorded))
	is.True(strings.Contains(err.Error(), "replay GET /api/v3/repos/octo/reef/commits/c3: "))
	is.True(strings.Contains(err.Error(), "record the run again"))
	is.Equal(strings.Contains(h.logs.String(), eventRetryWait), false) // not retried

	files, err := h.client.CommitFiles(context.Background(), "octo", "reef", "e5")
	is.NoErr(err)
	is.Equal(len(files.Files), 3)
}

func TestReplaySkipsRateLimitResponses(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	server.Inject(githubtest.Fault{Kind: githubtest.RateLimited, API: githubtest.RESTAPI})
	dir := t.TempDir()
	rec, err := NewRecorder(dir, nil)
	is.NoErr(err)
	sleep := &recordingSleep{}
	client, err := New(Config{Token: testToken, APIURL: server.URL},
		WithClock(sleep.Now, sleep.Sleep), WithTransport(rec))
	is.NoErr(err)

	files, err := client.CommitFiles(context.Background(), "octo", "reef", "c3")
	is.NoErr(err)
	is.Equal(files.Requests, 2)
	is.Equal(len(sleep.Sleeps()), 1) // the live run waited for the reset
	is.NoErr(rec.Close())
	index := readIndex(t, dir)
	is.Equal(len(index.Exchanges), 2)
	is.True(index.Exchanges[0].RateLimited)
	is.Equal(index.Exchanges[1].RateLimited, false)

	replayer, err := NewReplayer(dir)
	is.NoErr(err)
	h := newHarnessFor(t, nil, Config{Token: "replay", APIURL: server.URL},
		WithTransport(replayer))
	files, err = h.client.CommitFiles(context.Background(), "octo", "reef", "c3")
	is.NoErr(err)
	is.Equal(files.Requests, 1)
	is.Equal(files.Files, []ingest.ChangedFile{{Path: "docs/roadmap.md", Status: "added"}})
	is.Equal(strings.Contains(h.logs.String(), eventRateLimitWait), false)
}

func TestReplayIgnoresSpentBudget(t *testing.T) {
	is := is.New(t)
	reset := epoch.Add(30 * time.Minute).Unix() // half an hour after the fake clock's start
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Ratelimit-Remaining", "0")
		w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(reset, 10))
		writeJSON(w, http.StatusOK, obj{"sha": "e5", "files": arr{
			obj{"filename": "docs/a.md", "status": "added"},
		}})
	})
	dir := t.TempDir()
	rec, err := NewRecorder(dir, nil)
	is.NoErr(err)
	live := newHarness(t, handler, WithTransport(rec))
	for _, sha := range []string{"e5", "d4"} {
		_, err := live.client.CommitFiles(context.Background(), "octo", "reef", sha)
		is.NoErr(err)
	}
	is.Equal(len(live.clock.Sleeps()), 1) // live, the spent budget held the second request
	is.NoErr(rec.Close())

	replayer, err := NewReplayer(dir)
	is.NoErr(err)
	h := newHarnessFor(t, live.server, Config{Token: "replay", APIURL: live.server.URL},
		WithTransport(replayer))
	for _, sha := range []string{"e5", "d4"} {
		files, err := h.client.CommitFiles(context.Background(), "octo", "reef", sha)
		is.NoErr(err)
		is.Equal(files.Requests, 1)
	}
	is.Equal(h.logs.String(), "") // no wait, no retry
}

func TestReplayRepeatsResponsesInOrder(t *testing.T) {
	is := is.New(t)
	count := 0
	server := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count++
		w.Header().Set("X-Ratelimit-Remaining", "0")
		w.Header().Set("X-Custom", "dropped")
		writeJSON(w, http.StatusOK, obj{"n": count})
	}))
	dir := t.TempDir()
	rec, err := NewRecorder(dir, nil)
	is.NoErr(err)
	get := func(rt http.RoundTripper) (string, http.Header) {
		t.Helper()
		resp, err := (&http.Client{Transport: rt}).Get(server.URL + "/repeat?b=2&a=1")
		is.NoErr(err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		return strings.TrimSpace(string(body)), resp.Header
	}
	for range 3 {
		get(rec)
	}
	is.NoErr(rec.Close())

	replayer, err := NewReplayer(dir)
	is.NoErr(err)
	var got []string
	for range 4 {
		body, header := get(replayer)
		got = append(got, body)
		is.Equal(header.Get("Content-Type"), "application/json")
		is.Equal(header.Get("X-Ratelimit-Remaining"), "")
		is.Equal(header.Get("X-Custom"), "")
	}
	is.Equal(got, []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":3}`})

	names := []string{}
	for _, e := range readIndex(t, dir).Exchanges {
		names = append(names, e.File[17:])
	}
	is.Equal(names, []string{"001.json", "002.json", "003.json"})
}

func TestRequestKey(t *testing.T) {
	graphQL := func(since, after string) []byte {
		return fmt.Appendf(nil, `{"query":"q","variables":{"since":%q,"after":%q,"first":10}}`,
			since, after)
	}
	base := requestKey("POST", "/graphql", "", graphQL("2026-01-01T00:00:00Z", "c1"))
	tests := []struct {
		name   string
		method string
		path   string
		query  string
		body   []byte
		same   bool
	}{
		{"other time", "POST", "/graphql", "", graphQL("2026-02-03T04:05:06.7Z", "c1"), true},
		{"keys reordered", "POST", "/graphql", "",
			[]byte(`{"variables":{"first":10,"after":"c1","since":"2025-01-01T00:00:00Z"},"query":"q"}`),
			true},
		{"other cursor", "POST", "/graphql", "", graphQL("2026-01-01T00:00:00Z", "c2"), false},
		{"other path", "POST", "/api/graphql", "", graphQL("2026-01-01T00:00:00Z", "c1"), false},
		{"other method", "PUT", "/graphql", "", graphQL("2026-01-01T00:00:00Z", "c1"), false},
		{"query added", "POST", "/graphql", "page=2", graphQL("2026-01-01T00:00:00Z", "c1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(requestKey(tt.method, tt.path, tt.query, tt.body) == base, tt.same)
		})
	}

	t.Run("query order", func(t *testing.T) {
		is := is.New(t)
		is.Equal(requestKey("GET", "/x", "b=2&a=1", nil), requestKey("GET", "/x", "a=1&b=2", nil))
	})
	t.Run("time outside variables", func(t *testing.T) {
		is := is.New(t)
		a := requestKey("POST", "/x", "", []byte(`{"at":"2026-01-01T00:00:00Z"}`))
		b := requestKey("POST", "/x", "", []byte(`{"at":"2026-01-02T00:00:00Z"}`))
		is.True(a != b)
	})
}

func TestRecordingDirectoryErrors(t *testing.T) {
	recorded := t.TempDir()
	rec, err := NewRecorder(recorded, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	incomplete := t.TempDir()
	writeTestFile(t, incomplete, recordingIndex, `{"version":1,"exchanges":[{"file":"gone-001.json",`+
		`"method":"GET","path":"/repos/octo/reef/commits/e5","sequence":1,"status":200}]}`)
	oldFormat := t.TempDir()
	writeTestFile(t, oldFormat, "0123456789abcdef-001.json",
		`{"version":9,"request":{"method":"GET","path":"/x"},"response":{"status":200}}`)

	tests := []struct {
		name string
		open func() error
		want string
	}{
		{"record into a recording", func() error {
			_, err := NewRecorder(recorded, nil)
			return err
		}, "already contains a recording (index.json): record into a new or empty directory"},
		{"record without a directory", func() error {
			_, err := NewRecorder(" ", nil)
			return err
		}, "recording directory is empty"},
		{"replay a missing directory", func() error {
			_, err := NewReplayer(filepath.Join(recorded, "nope"))
			return err
		}, "record a run into it first"},
		{"replay an empty directory", func() error {
			_, err := NewReplayer(t.TempDir())
			return err
		}, "contains no recording: record a run into it first"},
		{"replay an incomplete recording", func() error {
			_, err := NewReplayer(incomplete)
			return err
		}, "is incomplete: GET /repos/octo/reef/commits/e5"},
		{"replay another format", func() error {
			_, err := NewReplayer(oldFormat)
			return err
		}, "has format version 9, not 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			err := tt.open()
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want)) // the error names the problem
		})
	}

	t.Run("replay an empty recording", func(t *testing.T) {
		is := is.New(t)
		replayer, err := NewReplayer(recorded)
		is.NoErr(err)
		client, err := New(Config{Token: "replay", APIURL: "http://127.0.0.1:9"},
			WithTransport(replayer))
		is.NoErr(err)
		_, err = client.Activity(context.Background(), reefQuery(10))
		is.True(errors.Is(err, ErrNotRecorded))
		is.True(strings.Contains(err.Error(), "replay POST /api/graphql: no recorded response"))
	})
}

func writeTestFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRecordingDatesItsIndex(t *testing.T) {
	is := is.New(t)
	server := fakeGitHub(t, githubtest.Options{})
	dir := t.TempDir()
	closedAt := time.Date(2025, 6, 13, 16, 0, 0, 999, time.FixedZone("CEST", 2*60*60))
	rec, err := NewRecorder(dir, nil, WithRecordingClock(func() time.Time { return closedAt }))
	is.NoErr(err)
	client, err := New(Config{Token: testToken, APIURL: server.URL}, WithTransport(rec))
	is.NoErr(err)
	_, err = client.CommitFiles(context.Background(), "octo", "reef", "e5")
	is.NoErr(err)
	is.NoErr(rec.Close())

	data, err := os.ReadFile(filepath.Join(dir, recordingIndex))
	is.NoErr(err)
	is.True(strings.Contains(string(data), `"recorded_at": "2025-06-13T14:00:00Z"`)) // UTC, whole seconds
	replayer, err := NewReplayer(dir)
	is.NoErr(err)
	is.True(replayer.RecordedAt().Equal(closedAt.Truncate(time.Second)))
}

func TestReplayUndatedRecording(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	writeTestFile(t, dir, recordingIndex, `{"version":1,"exchanges":[]}`)

	replayer, err := NewReplayer(dir)
	is.NoErr(err)                           // recordings made before recorded_at still load
	is.True(replayer.RecordedAt().IsZero()) // and have no date
}

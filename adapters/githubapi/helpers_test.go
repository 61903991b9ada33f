package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ghillie/ghillie/ingest"
)

// testToken is the token test clients send; tests check that it never
// reaches a log line or an error.
const testToken = "ghp_test0123456789secret"

// epoch is the fake clock's start.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock whose sleeps return at once, advance the clock
// and are recorded.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Lines returns the decoded log lines.
func (b *logBuffer) Lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	for dec.More() {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("decode log line: %v", err)
		}
		lines = append(lines, line)
	}
	return lines
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a Client pointed at a local server, with a fake clock and a
// log buffer.
type harness struct {
	client *Client
	server *httptest.Server
	clock  *fakeClock
	logs   *logBuffer
}

// newHarness starts handler on 127.0.0.1 and returns a token Client for
// it. The Client's jitter is zero so waits are exact.
func newHarness(t *testing.T, handler http.Handler, opts ...Option) *harness {
	t.Helper()
	server := newServer(t, handler)
	return newHarnessFor(t, server, Config{Token: testToken, APIURL: server.URL}, opts...)
}

// newServer starts handler on 127.0.0.1 until the test ends.
func newServer(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return server
}

func newHarnessFor(t *testing.T, server *httptest.Server, cfg Config, opts ...Option) *harness {
	t.Helper()
	h := &harness{server: server, clock: newFakeClock(), logs: &logBuffer{}}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]Option{WithClock(h.clock.Now, h.clock.Sleep), WithLogger(logger)}, opts...)
	client, err := New(cfg, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	client.limits.jitter = func(time.Duration) time.Duration { return 0 }
	h.client = client
	return h
}

// graphQLRequest is a GraphQL request as the server receives it.
type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

func decodeGraphQL(t *testing.T, r *http.Request) graphQLRequest {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read request: %v", err)
	}
	var req graphQLRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Errorf("decode request %s: %v", body, err)
	}
	return req
}

// decodeInto decodes a JSON request body into v.
func decodeInto(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// allStreams requests every stream, with two documentation paths.
func allStreams() ingest.ActivityQuery {
	since := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	return ingest.ActivityQuery{
		Owner:        "octo",
		Name:         "reef",
		Branch:       "main",
		Commits:      &ingest.Page{Since: since, First: 100},
		PullRequests: &ingest.Page{First: 100},
		Issues:       &ingest.Page{Since: since, First: 100},
		Docs: []ingest.PathPage{
			{Path: "docs/roadmap.md", Page: ingest.Page{Since: since, First: 100}},
			{Path: "docs/adr", Page: ingest.Page{Since: since, First: 100}},
		},
	}
}

// obj is shorthand for a JSON object in canned responses.
type obj = map[string]any

// arr is shorthand for a JSON array in canned responses.
type arr = []any

func commitJSON(oid, date string, author any) obj {
	return obj{
		"oid": oid, "message": "Change " + oid, "authoredDate": date, "committedDate": date,
		"author": author,
	}
}

func history(nodes ...obj) obj {
	edges := arr{}
	for i, n := range nodes {
		var node any = n
		if n == nil {
			node = nil
		}
		edges = append(edges, obj{"cursor": "c" + string(rune('0'+i)), "node": node})
	}
	return obj{"edges": edges, "pageInfo": obj{"hasNextPage": false, "endCursor": "c9"}}
}

func rateLimitJSON() obj {
	return obj{"cost": 1, "remaining": 4999, "resetAt": "2026-03-01T13:00:00Z", "limit": 5000}
}

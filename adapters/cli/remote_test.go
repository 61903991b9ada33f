package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
)

// fakeAPI is a loopback server that records the requests it receives
// and responds to each with its handler.
type fakeAPI struct {
	*httptest.Server

	mu       sync.Mutex
	requests []*http.Request
}

func newFakeAPI(t *testing.T, handler http.HandlerFunc) *fakeAPI {
	t.Helper()

	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(r.Context()))
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeAPI) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// errorBody responds with the status and a JSON error body, as the API
// does.
func errorBody(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// noEstates serves GET /estates with an empty list.
func noEstates(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"estates": []}`)
}

// writeState writes a state file below a new configuration folder and
// returns the folder.
func writeState(t *testing.T, content string) string {
	t.Helper()

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ghillie"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ghillie"), "state.json", content)
	return dir
}

func TestRemotePrecedence(t *testing.T) {
	flagAPI := newFakeAPI(t, noEstates)
	envAPI := newFakeAPI(t, noEstates)
	stateAPI := newFakeAPI(t, noEstates)
	stateDir := writeState(t, `{"api_base_url": "`+stateAPI.URL+`", "source": "stack_up"}`)
	memory := "sqlite::memory:"

	tests := []struct {
		name   string
		flag   string
		env    map[string]string
		called *fakeAPI // nil for local mode
	}{
		{"flag over env", flagAPI.URL, map[string]string{"GHILLIE_API_BASE_URL": envAPI.URL}, flagAPI},
		{"env over database", "", map[string]string{"GHILLIE_API_BASE_URL": envAPI.URL,
			"GHILLIE_DATABASE_URL": memory}, envAPI},
		{"database over state", "", map[string]string{"GHILLIE_DATABASE_URL": memory}, nil},
		{"state", "", map[string]string{}, stateAPI},
		{"none", "", map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			if _, ok := tt.env["XDG_CONFIG_HOME"]; !ok {
				tt.env["XDG_CONFIG_HOME"] = stateDir
			}
			before := map[*fakeAPI]int{flagAPI: flagAPI.count(), envAPI: envAPI.count(),
				stateAPI: stateAPI.count()}

			args := []string{"-o", "json", "estate", "list"}
			if tt.flag != "" {
				args = append([]string{"--api-base-url", tt.flag}, args...)
			}
			r := run(t, tt.env, args...)
			for api, n := range before {
				want := n
				if api == tt.called {
					want++
				}
				is.Equal(api.count(), want) // request sent only to the chosen API
			}
			if tt.called != nil || tt.env["GHILLIE_DATABASE_URL"] != "" {
				is.Equal(r.code, cli.ExitOK)
				is.Equal(strings.TrimSpace(r.stdout), "[]")
				return
			}
			is.Equal(r.code, cli.ExitFailure) // the default database does not exist
			is.True(strings.Contains(r.stderr, "ghillie migrate"))
		})
	}
}

func TestRemoteInvalidURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"scheme", "ftp://127.0.0.1", "the scheme must be http or https"},
		{"relative", "127.0.0.1:8080", "use an absolute http or https URL"},
		{"path only", "/api", "the scheme must be http or https"},
		{"no host", "http://", "it has no host"},
		{"credentials", "http://user:secret@127.0.0.1", "it contains credentials"},
		{"query", "http://127.0.0.1/?a=b", "it has a query"},
		{"fragment", "http://127.0.0.1/#x", "it has a fragment"},
		{"port", "http://127.0.0.1:99999", "the port must be a number from 1 to 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			r := run(t, nil, "--api-base-url", tt.url, "estate", "list")
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, tt.want))
			is.True(strings.Contains(r.stderr, "from --api-base-url"))
			is.True(!strings.Contains(r.stderr, "secret")) // credentials never printed

			r = run(t, map[string]string{"GHILLIE_API_BASE_URL": tt.url}, "estate", "list")
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, "from GHILLIE_API_BASE_URL"))

			dir := writeState(t, `{"api_base_url": "`+tt.url+`"}`)
			r = run(t, map[string]string{"XDG_CONFIG_HOME": dir}, "estate", "list")
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, filepath.Join(dir, "ghillie", "state.json")))
		})
	}
}

func TestRemoteBadStateFile(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"array", `[]`, "is not a JSON object"},
		{"not JSON", `api_base_url: x`, "is not a JSON object"},
		{"null", `null`, "is not a JSON object"},
		{"no URL", `{"source": "stack_up"}`, "has no api_base_url"},
		{"wrong type", `{"api_base_url": 8080}`, "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			dir := writeState(t, tt.content)

			r := run(t, map[string]string{"XDG_CONFIG_HOME": dir}, "estate", "list")
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, tt.want))
			is.True(strings.Contains(r.stderr, filepath.Join(dir, "ghillie", "state.json")))

			// An explicit database skips the state file.
			r = run(t, map[string]string{"XDG_CONFIG_HOME": dir,
				"GHILLIE_DATABASE_URL": "sqlite::memory:"}, "estate", "list")
			is.Equal(r.code, cli.ExitOK)
		})
	}
}

func TestRemoteToken(t *testing.T) {
	const token = "remote-secret-token-42"
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			noEstates(w, r)
			return
		}
		unauthorized := errorBody(http.StatusUnauthorized,
			`{"title": "Unauthorized", "description": "bad token"}`)
		unauthorized(w, r)
	})

	is := is.New(t)
	r := run(t, nil, "--log-level", "debug", "--api-base-url", api.URL, "estate", "list")
	is.Equal(r.code, cli.ExitOK)
	is.Equal(api.last().Header.Get("Authorization"), "") // no token, no header
	is.Equal(api.last().Header.Get("User-Agent"), "ghillie/"+cli.Version)

	env := map[string]string{"GHILLIE_AUTH_TOKEN": token}
	r = run(t, env, "--log-level", "debug", "--api-base-url", api.URL, "estate", "list")
	is.Equal(api.last().Header.Get("Authorization"), "Bearer "+token)
	is.Equal(r.code, cli.ExitRunFailed)
	is.True(strings.Contains(r.stderr, "401 Unauthorized: Unauthorized: bad token"))
	is.True(strings.Contains(r.stderr, "rejected the token"))
	is.True(strings.Contains(r.stderr, "api.request.completed")) // the debug log ran
	is.True(!strings.Contains(r.stdout+r.stderr, token))

	r = run(t, nil, "--auth-token", token, "--api-base-url", api.URL, "estate", "list")
	is.Equal(api.last().Header.Get("Authorization"), "Bearer "+token)
	is.True(!strings.Contains(r.stdout+r.stderr, token))
}

func TestRemoteRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		noEstates(w, r)
	})
	defer close(release)

	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag duration", nil, []string{"--request-timeout", "200ms"}, "timed out after 200ms"},
		{"flag seconds", nil, []string{"--request-timeout", "0.25"}, "timed out after 250ms"},
		{"env seconds", map[string]string{"GHILLIE_REQUEST_TIMEOUT_S": "0.3"}, nil,
			"timed out after 300ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			start := time.Now()
			args := append(append([]string{"--api-base-url", api.URL}, tt.args...), "estate", "list")
			r := run(t, tt.env, args...)
			is.Equal(r.code, cli.ExitRunFailed)
			is.True(strings.Contains(r.stderr, tt.want))
			is.True(strings.Contains(r.stderr, api.URL+"/estates"))
			is.True(time.Since(start) < 5*time.Second)
		})
	}

	for _, bad := range []string{"0", "-1s", "soon"} {
		r := run(t, nil, "--api-base-url", api.URL, "--request-timeout", bad, "estate", "list")
		is.New(t).Equal(r.code, cli.ExitUsage)
	}
}

func TestRemoteUnreachable(t *testing.T) {
	is := is.New(t)
	api := newFakeAPI(t, noEstates)
	url := api.URL
	api.Close()

	r := run(t, nil, "--api-base-url", url, "estate", "list")
	is.Equal(r.code, cli.ExitRunFailed)
	is.True(strings.Contains(r.stderr, "GET "+url+"/estates failed"))
	is.True(strings.Contains(r.stderr, "from --api-base-url"))
}

func TestRemoteAPIError(t *testing.T) {
	is := is.New(t)
	api := newFakeAPI(t, errorBody(http.StatusNotFound,
		`{"title": "Estate not found", "description": "No estate has the key 'x'.",
			"field": "estate"}`))

	r := run(t, nil, "--api-base-url", api.URL, "estate", "sync", "--estate-key", "x")
	is.Equal(r.code, cli.ExitFailure) // as locally, where the estate is not found either
	is.True(strings.Contains(r.stderr, "POST "+api.URL+"/estates/x/registry-sync returned 404"))
	is.True(strings.Contains(r.stderr, "Estate not found: No estate has the key 'x'. (field estate)"))
}

func TestImportRejectsInvalidCommit(t *testing.T) {
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"local", []string{"--database-url", "sqlite::memory:"}},
		{"remote", []string{"--api-base-url", "http://127.0.0.1:9"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			is := is.New(t)
			args := append(mode.args, "estate", "import", "--estate-key", "demo",
				"--catalogue-path", "catalogue.yaml", "--commit-sha", "main")
			r := run(t, nil, args...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, `--commit-sha: invalid commit "main"`))
		})
	}
}

// TestRemoteWrongBaseURL distinguishes a path that no route matches, or a
// server that is not ghillie, from a subject that does not exist.
func TestRemoteWrongBaseURL(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"route", "application/json", `{"title": "Route not found",
			"description": "No route matches the path; GET /openapi.yaml lists the routes."}`, 404},
		{"html", "text/html", "<html><body>404 page not found</body></html>", 404},
		{"plain", "text/plain", "404 page not found", 404},
		{"not implemented", "text/html", "<html><body>Unsupported method</body></html>", 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			api := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})

			r := run(t, nil, "--api-base-url", api.URL+"/api", "estate", "list")
			is.Equal(r.code, cli.ExitRunFailed)
			is.True(strings.Contains(r.stderr, "check that the API base URL "+api.URL+"/api"))
		})
	}
}

// TestRemoteRunFromOtherServer rejects a JSON response that is not a
// run, without polling it, in either wait mode.
func TestRemoteRunFromOtherServer(t *testing.T) {
	for _, wait := range []string{"--wait", "--no-wait"} {
		t.Run(wait, func(t *testing.T) {
			is := is.New(t)
			api := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"errors": [{"message": "unknown field"}]}`)
			})

			r := run(t, nil, "--api-base-url", api.URL, "ingest", "run", "--scope", "estate",
				"--estate-key", "e", wait)
			is.Equal(r.code, cli.ExitRunFailed)
			is.True(strings.Contains(r.stderr, "returned no ingestion run"))
			is.True(strings.Contains(r.stderr, "is the root of a ghillie server"))
			is.Equal(api.count(), 1) // no polling
		})
	}
}

func TestRemoteServerError(t *testing.T) {
	is := is.New(t)
	api := newFakeAPI(t, errorBody(http.StatusInternalServerError,
		`{"title": "Internal error", "description": "The database is unreachable."}`))

	r := run(t, nil, "--api-base-url", api.URL, "estate", "sync", "--estate-key", "x")
	is.Equal(r.code, cli.ExitRunFailed)
	is.True(strings.Contains(r.stderr, "returned 500 Internal Server Error: Internal error: "+
		"The database is unreachable."))
}

func TestDatabaseCommandsRejectAPIFlag(t *testing.T) {
	for _, args := range [][]string{{"migrate"}, {"events", "import", "events.jsonl"}, {"transform"}, {"serve"},
		{"worker"}, {"jobs", "list"}, {"run"}, {"metrics", "reporting"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			r := run(t, nil, append([]string{"--api-base-url", "http://127.0.0.1:1"}, args...)...)
			is.Equal(r.code, cli.ExitUsage)
			command := "ghillie " + strings.Join(args[:min(2, len(args))], " ")
			is.True(strings.Contains(r.stderr, command+" works only on a database"))
		})
	}

	// The environment's URL does not apply to them.
	is := is.New(t)
	r := run(t, map[string]string{"GHILLIE_API_BASE_URL": "http://127.0.0.1:1",
		"GHILLIE_DATABASE_URL": "sqlite::memory:"}, "migrate")
	is.Equal(r.code, cli.ExitOK)
}

func TestRemoteLocalOnlyFlags(t *testing.T) {
	api := newFakeAPI(t, noEstates)
	tests := [][]string{
		{"ingest", "run", "--scope", "estate", "--estate-key", "e", "--replay", "dir"},
		{"ingest", "run", "--scope", "estate", "--estate-key", "e", "--record", "dir"},
		{"report", "run", "--scope", "estate", "--estate-key", "e", "--window-start",
			"2024-07-01T00:00:00Z", "--window-end", "2024-07-08T00:00:00Z"},
		{"report", "run", "--scope", "estate", "--estate-key", "e", "--estate-only"},
		{"report", "run", "--scope", "project", "--estate-key", "e", "--project-key", "p"},
		{"report", "run", "--scope", "estate", "--estate-key", "e", "--sink-path", "x"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[:3], " "), func(t *testing.T) {
			is := is.New(t)
			r := run(t, nil, append([]string{"--api-base-url", api.URL}, args...)...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, "does not work against the API at "+api.URL))
		})
	}
	is.New(t).Equal(api.count(), 0) // nothing was sent
}

func TestRemoteRunOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ingest defaults", []string{"ingest", "run", "--scope", "estate", "--estate-key", "e"},
			"estate_key=e&lookback_days=14&max_events_per_kind=500&scope=estate"},
		{"ingest limits", []string{"ingest", "run", "--scope", "estate", "--estate-key", "e",
			"--lookback-days", "3", "--max-events-per-kind", "40"},
			"estate_key=e&lookback_days=3&max_events_per_kind=40&scope=estate"},
		{"report defaults", []string{"report", "run", "--scope", "estate", "--estate-key", "e"},
			"estate_key=e&scope=estate"},
		{"report window", []string{"report", "run", "--scope", "estate", "--estate-key", "e",
			"--window-days", "3"}, "estate_key=e&scope=estate&window_days=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			api := fakeRuns(t, "queued", "queued", 0)
			args := append([]string{"--api-base-url", api.URL}, tt.args...)
			r := run(t, nil, append(args, "--no-wait")...)
			is.Equal(r.code, cli.ExitOK)
			is.Equal(api.last().URL.Query().Encode(), tt.want)
		})
	}

	// Values out of range are rejected before a request, as locally.
	is := is.New(t)
	api := fakeRuns(t, "queued", "queued", 0)
	for _, args := range [][]string{
		{"ingest", "run", "--scope", "estate", "--estate-key", "e", "--lookback-days", "0"},
		{"ingest", "run", "--scope", "estate", "--estate-key", "e", "--max-events-per-kind", "10001"},
		{"report", "run", "--scope", "estate", "--estate-key", "e", "--window-days", "0"},
	} {
		r := run(t, nil, append([]string{"--api-base-url", api.URL}, args...)...)
		is.Equal(r.code, cli.ExitUsage)
		is.True(strings.Contains(r.stderr, "invalid --"))
	}
	is.Equal(api.count(), 0)
}

// fakeRuns serves a run that stays in state until it has been read
// reads times, then ends in final.
func fakeRuns(t *testing.T, state, final string, reads int) *fakeAPI {
	t.Helper()

	var mu sync.Mutex
	seen := 0
	return newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		current := "queued"
		if r.Method == http.MethodGet {
			seen++
			current = state
			if reads > 0 && seen >= reads {
				current = final
			}
		}
		mu.Unlock()

		kind := "ingestion"
		if strings.HasPrefix(r.URL.Path, "/reports/") {
			kind = "report"
		}
		failed := 0
		if current == "partial" || current == "failed" {
			failed = 1
		}
		body := map[string]any{"run_id": "run-1", "kind": kind, "scope": "estate",
			"subject": "wildside", "state": current, "units_total": 2, "succeeded": 1,
			"skipped": 0, "failed": failed, "created_at": time.Now().UTC(), "started_at": nil,
			"finished_at": nil, "units": []map[string]any{{"name": "leynos/wildside",
				"state": "succeeded", "finished_at": time.Now().UTC()}}}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusAccepted)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

func TestRemoteRunWait(t *testing.T) {
	start := []string{"ingest", "run", "--scope", "estate", "--estate-key", "wildside",
		"--poll-interval", "100ms"}
	tests := []struct {
		name  string
		api   *fakeAPI
		extra []string
		code  int
		want  string
	}{
		{"succeeded", fakeRuns(t, "running", "succeeded", 2), nil, cli.ExitOK, "succeeded"},
		{"partial", fakeRuns(t, "running", "partial", 2), nil, cli.ExitRunFailed, "partial"},
		{"failed", fakeRuns(t, "failed", "failed", 0), nil, cli.ExitRunFailed, "failed"},
		{"timeout", fakeRuns(t, "running", "", 0), []string{"--wait-timeout", "350ms"},
			cli.ExitWaitTimeout, "running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			args := append(append([]string{"--api-base-url", tt.api.URL}, start...), tt.extra...)
			r := run(t, nil, args...)
			is.Equal(r.code, tt.code)
			is.True(strings.HasPrefix(r.stdout, "ingestion run run-1 of estate wildside: "+tt.want))
			is.True(strings.Contains(r.stdout, "leynos/wildside  succeeded")) // the units
			failedLine := strings.Contains(r.stderr, "1 of 2 repositories failed")
			is.Equal(failedLine, tt.code == cli.ExitRunFailed) // the line a local ingestion prints
		})
	}

	is := is.New(t)
	r := run(t, nil, "--api-base-url", tests[3].api.URL, "ingest", "run", "--scope", "estate",
		"--estate-key", "wildside", "--wait-timeout", "350ms", "--poll-interval", "100ms")
	is.True(strings.Contains(r.stderr, "gave up waiting after 350ms with the run running"))
	is.True(strings.Contains(r.stderr, "ghillie ingest status --run-id run-1"))
}

// TestRemoteWaitTimeoutBeforePoll gives up at the wait timeout even when
// the next poll would come an hour later.
func TestRemoteWaitTimeoutBeforePoll(t *testing.T) {
	is := is.New(t)
	api := fakeRuns(t, "running", "", 0)

	done := make(chan result, 1)
	go func() {
		done <- run(t, nil, "--api-base-url", api.URL, "ingest", "run", "--scope", "estate",
			"--estate-key", "wildside", "--wait-timeout", "300ms", "--poll-interval", "1h")
	}()
	select {
	case r := <-done:
		is.Equal(r.code, cli.ExitWaitTimeout)
		is.True(strings.Contains(r.stderr, "gave up waiting after 300ms with the run running"))
		is.Equal(api.count(), 2) // the POST, then one poll at the deadline
	case <-time.After(time.Minute):
		t.Fatal("still waiting a minute after a wait timeout of 300ms")
	}
}

func TestRemoteRunNoWait(t *testing.T) {
	is := is.New(t)
	api := fakeRuns(t, "running", "succeeded", 1)

	r := run(t, nil, "--api-base-url", api.URL, "ingest", "run", "--scope", "estate",
		"--estate-key", "wildside", "--no-wait")
	is.Equal(r.code, cli.ExitOK)
	is.Equal(api.count(), 1) // only the POST, no polling
	is.True(strings.HasPrefix(r.stdout, "ingestion run run-1 of estate wildside: queued"))
	is.True(strings.HasSuffix(r.stdout, "follow the run with: ghillie ingest status --run-id run-1\n"))

	r = run(t, nil, "--api-base-url", api.URL, "-o", "json", "ingest", "run", "--scope",
		"estate", "--estate-key", "wildside", "--no-wait")
	is.Equal(r.code, cli.ExitOK)
	var body struct {
		RunID string `json:"run_id"`
		State string `json:"state"`
	}
	is.NoErr(json.Unmarshal([]byte(r.stdout), &body)) // the hint stays off stdout
	is.Equal(body.RunID, "run-1")
	is.Equal(body.State, "queued")
	is.True(strings.Contains(r.stderr, "ghillie ingest status --run-id run-1"))

	// Locally a run finishes before the command returns.
	r = run(t, map[string]string{"GHILLIE_DATABASE_URL": "sqlite::memory:"}, "ingest", "run",
		"--scope", "estate", "--estate-key", "wildside", "--no-wait")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, "--no-wait needs remote mode"))
}

// TestRemotePathParameters checks that a path parameter is escaped once:
// escaping it again sent the id "a b" as "a%2520b".
func TestRemotePathParameters(t *testing.T) {
	is := is.New(t)
	api := newFakeAPI(t, errorBody(http.StatusNotFound, `{"title": "Review not found"}`))

	r := run(t, nil, "--api-base-url", api.URL+"/base%20path", "report", "reviews", "resolve", "a b/c")
	is.Equal(r.code, cli.ExitFailure)
	is.Equal(api.count(), 1)
	is.Equal(api.last().URL.EscapedPath(), "/base%20path/reports/reviews/a%20b%2Fc/resolve")
}

func TestEstateKeyChecked(t *testing.T) {
	api := newFakeAPI(t, noEstates)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"sync spaces", []string{"estate", "sync", "--estate-key", "a b"}},
		{"repo list spaces", []string{"estate", "repo", "list", "--estate-key", "a b"}},
		{"sync empty", []string{"estate", "sync", "--estate-key", ""}},
		{"import capitals", []string{"estate", "import", "--estate-key", "Bad", "--catalogue-path",
			"x.yaml", "--commit-sha", ""}},
		{"import empty", []string{"estate", "import", "--estate-key", "", "--catalogue-path",
			"x.yaml", "--commit-sha", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			for _, remote := range [][]string{nil, {"--api-base-url", api.URL}} {
				r := run(t, nil, append(remote, tc.args...)...)
				is.Equal(r.code, cli.ExitUsage)
				is.True(strings.Contains(r.stderr, "--estate-key"))
			}
			is.Equal(api.count(), 0)
		})
	}
}

// TestRemoteConflict checks that a request the server rejects for its
// subject's state, such as ingesting a repository whose ingestion is
// disabled, exits with 1 as locally.
func TestRemoteConflict(t *testing.T) {
	is := is.New(t)
	api := newFakeAPI(t, errorBody(http.StatusConflict,
		`{"title": "Ingestion disabled", "description": "ingestion of o/n is disabled."}`))

	r := run(t, nil, "--api-base-url", api.URL, "ingest", "run", "--scope", "repository",
		"--owner", "o", "--name", "n")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "Ingestion disabled: ingestion of o/n is disabled."))
}

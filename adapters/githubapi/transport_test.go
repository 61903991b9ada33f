package githubapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

// step is one canned response of a scripted server.
type step struct {
	status int
	header map[string]string
	body   any
}

// script serves its steps in order, repeating the last one, and records
// the requests.
type script struct {
	mu       sync.Mutex
	steps    []step
	requests []*http.Request
	queries  []graphQLRequest
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, r)
	if strings.HasSuffix(r.URL.Path, "/graphql") {
		var req graphQLRequest
		_ = decodeInto(r, &req)
		s.queries = append(s.queries, req)
	}
	st := s.steps[min(n, len(s.steps)-1)]
	s.mu.Unlock()

	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	writeJSON(w, st.status, st.body)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// resetIn returns an x-ratelimit-reset value d after the fake epoch.
func resetIn(d time.Duration) string {
	return strconv.FormatInt(epoch.Add(d).Unix(), 10)
}

// commitAnswer is a REST commit with one file.
func commitAnswer() obj {
	return obj{"sha": "abc123", "files": arr{obj{"filename": "docs/a.md", "status": "modified"}}}
}

// pullsQuery requests only pull requests, the smallest useful document.
func pullsQuery() ingest.ActivityQuery {
	return ingest.ActivityQuery{Owner: "octo", Name: "reef", PullRequests: &ingest.Page{First: 100}}
}

func pullsAnswer() obj {
	return obj{"data": obj{
		"repository": obj{
			"defaultBranchRef": obj{"name": "main"},
			"pullRequests":     obj{"edges": arr{}, "pageInfo": obj{"hasNextPage": false, "endCursor": nil}},
		},
		"rateLimit": rateLimitJSON(),
	}}
}

// spentBudget returns the headers of a spent primary budget that resets
// d after the fake epoch.
func spentBudget(d time.Duration) map[string]string {
	return map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(d)}
}

// graphQLLimited is GitHub's 200 response to a query over the budget.
func graphQLLimited() obj {
	return obj{
		"data":   nil,
		"errors": arr{obj{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}},
	}
}

func secondaryBody() obj {
	return obj{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
}

func ok(body any) step { return step{status: http.StatusOK, body: body} }

func TestRESTWaits(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		steps  []step
		sleeps []time.Duration
		reason string
	}{
		{"primary limit waits for reset", nil, []step{
			{403, spentBudget(10 * time.Minute), obj{"message": "API rate limit exceeded"}},
			ok(commitAnswer()),
		}, []time.Duration{10*time.Minute + time.Second}, "primary"},
		{"primary reset a full window away", nil, []step{
			{403, spentBudget(time.Hour), obj{"message": "API rate limit exceeded"}},
			ok(commitAnswer()),
		}, []time.Duration{time.Hour + time.Second}, "primary"},
		{"primary limit on 429", nil, []step{
			{429, spentBudget(90 * time.Second), obj{"message": "API rate limit exceeded"}},
			ok(commitAnswer()),
		}, []time.Duration{91 * time.Second}, "primary"},
		{"secondary limit honours Retry-After", nil, []step{
			{403, map[string]string{"Retry-After": "30"}, secondaryBody()},
			ok(commitAnswer()),
		}, []time.Duration{30 * time.Second}, "secondary"},
		{"secondary limit backs off from one minute", nil, []step{
			{403, nil, secondaryBody()},
			{403, nil, secondaryBody()},
			ok(commitAnswer()),
		}, []time.Duration{60 * time.Second, 120 * time.Second}, "secondary"},
		{"secondary limit with a smaller minimum", []Option{WithMinSecondaryWait(5 * time.Second)}, []step{
			{429, nil, obj{"message": "Too many requests"}},
			{429, nil, obj{"message": "Too many requests"}},
			{429, nil, obj{"message": "Too many requests"}},
			ok(commitAnswer()),
		}, []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}, "secondary"},
		{"429 honours Retry-After", nil, []step{
			{429, map[string]string{"Retry-After": "7"}, obj{"message": "Too many requests"}},
			ok(commitAnswer()),
		}, []time.Duration{7 * time.Second}, "secondary"},
		{"transient statuses back off from one second", nil, []step{
			{503, nil, obj{"message": "unavailable"}},
			{502, nil, obj{"message": "bad gateway"}},
			{504, nil, obj{"message": "timeout"}},
			ok(commitAnswer()),
		}, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, "status"},
		{"no limit headers means no waits", nil, []step{ok(commitAnswer())}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := &script{steps: tt.steps}
			h := newHarness(t, s, tt.opts...)

			files, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
			is.NoErr(err)
			is.Equal(files.Requests, len(tt.steps))
			is.Equal(s.count(), len(tt.steps))
			is.Equal(h.clock.Sleeps(), tt.sleeps)

			lines := h.logs.Lines(t)
			is.Equal(len(lines), len(tt.sleeps)) // one log line per wait
			for i, line := range lines {
				is.Equal(line["reason"], tt.reason)
				is.Equal(line["wait_seconds"], tt.sleeps[i].Seconds())
				is.True(line["status"] != nil)
			}
		})
	}
}

func TestRESTWaitLogLine(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{
		{403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(time.Minute)},
			obj{"message": "API rate limit exceeded"}},
		ok(commitAnswer()),
	}}
	h := newHarness(t, s)

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
	is.NoErr(err)
	lines := h.logs.Lines(t)
	is.Equal(len(lines), 1)
	is.Equal(lines[0]["msg"], "github.rate_limit.wait")
	is.Equal(lines[0]["reason"], "primary")
	is.Equal(lines[0]["wait_seconds"], 61.0)
	is.Equal(lines[0]["status"], 403.0)
	is.Equal(lines[0]["reset_at"], epoch.Add(time.Minute).Format(time.RFC3339))
	is.True(!strings.Contains(h.logs.String(), testToken))
	is.True(!strings.Contains(h.logs.String(), "Authorization"))
}

func TestBudgetSpentHoldsNextRequest(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{
		{200, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(5 * time.Minute)},
			commitAnswer()},
		ok(commitAnswer()),
	}}
	h := newHarness(t, s)

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
	is.NoErr(err)
	is.Equal(len(h.clock.Sleeps()), 0) // the response itself is data

	_, err = h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
	is.NoErr(err)
	is.Equal(h.clock.Sleeps(), []time.Duration{5*time.Minute + time.Second})
	is.Equal(s.count(), 2)
	is.Equal(h.logs.Lines(t)[0]["reason"], "budget_spent")
}

func TestBudgetsAreSeparate(t *testing.T) {
	is := is.New(t)
	spent := map[string]string{
		"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(5 * time.Minute),
		"X-Ratelimit-Resource": "core",
	}
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/graphql") {
			writeJSON(w, http.StatusOK, pullsAnswer())
			return
		}
		for k, v := range spent {
			w.Header().Set(k, v)
		}
		writeJSON(w, http.StatusOK, commitAnswer())
	}))

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
	is.NoErr(err)
	_, err = h.client.Activity(context.Background(), pullsQuery())
	is.NoErr(err)
	is.Equal(len(h.clock.Sleeps()), 0) // a spent REST budget leaves GraphQL alone
}

func TestResetBeyondMaxWait(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		step step
	}{
		{"primary reset in two hours", nil, step{403,
			map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(2 * time.Hour)},
			obj{"message": "API rate limit exceeded"}}},
		{"primary reset beyond a shorter maximum", []Option{WithMaxResetWait(10 * time.Minute)}, step{403,
			map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(30 * time.Minute)},
			obj{"message": "API rate limit exceeded"}}},
		{"Retry-After beyond the maximum", nil, step{403,
			map[string]string{"Retry-After": "7200"}, secondaryBody()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := &script{steps: []step{tt.step, ok(commitAnswer())}}
			h := newHarness(t, s, tt.opts...)

			_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
			var apiErr *ingest.APIError
			is.True(errors.As(err, &apiErr))
			is.Equal(apiErr.Type, "RATE_LIMITED")
			is.True(strings.Contains(apiErr.Message, "beyond the maximum wait"))
			is.Equal(len(h.clock.Sleeps()), 0)
			is.Equal(s.count(), 1)
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	tests := []struct {
		name     string
		step     step
		wantType string
		sleeps   []time.Duration
	}{
		{"transient status", step{503, nil, obj{"message": "unavailable"}}, "",
			[]time.Duration{time.Second, 2 * time.Second}},
		{"secondary limit", step{403, nil, secondaryBody()}, "RATE_LIMITED",
			[]time.Duration{time.Minute, 2 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := &script{steps: []step{tt.step}}
			h := newHarness(t, s, WithRetries(2))

			_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
			var apiErr *ingest.APIError
			is.True(errors.As(err, &apiErr))
			is.Equal(apiErr.Status, tt.step.status)
			is.Equal(apiErr.Type, tt.wantType)
			is.Equal(s.count(), 3)
			is.Equal(h.clock.Sleeps(), tt.sleeps)
		})
	}
}

func TestFinalStatusesAreNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 410, 422, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			is := is.New(t)
			s := &script{steps: []step{{status, nil, obj{"message": "no"}}, ok(commitAnswer())}}
			h := newHarness(t, s)

			_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
			is.True(err != nil)
			is.Equal(s.count(), 1)
			is.Equal(len(h.clock.Sleeps()), 0)
		})
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	is := is.New(t)
	var calls atomic.Int32
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeJSON(w, http.StatusOK, commitAnswer())
	}))

	files, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc123")
	is.NoErr(err)
	is.Equal(files.Requests, 2)
	is.Equal(h.clock.Sleeps(), []time.Duration{time.Second})
	is.Equal(h.logs.Lines(t)[0]["msg"], "github.retry.wait")
	is.Equal(h.logs.Lines(t)[0]["reason"], "network")
}

func TestGraphQLRateLimited(t *testing.T) {
	limited := graphQLLimited()
	limitedWithData := graphQLLimited()
	limitedWithData["data"] = obj{"rateLimit": obj{
		"cost": 1, "remaining": 0, "resetAt": "2026-03-01T12:20:00Z", "limit": 5000,
	}}
	tests := []struct {
		name   string
		first  step
		sleeps []time.Duration
	}{
		{"reset from header", step{200, map[string]string{
			"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": resetIn(15 * time.Minute),
		}, limited}, []time.Duration{15*time.Minute + time.Second}},
		{"reset from rateLimit", step{200, nil, limitedWithData},
			[]time.Duration{20*time.Minute + time.Second}},
		{"no reset known", step{200, nil, limited}, []time.Duration{time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := &script{steps: []step{tt.first, ok(pullsAnswer())}}
			h := newHarness(t, s)

			a, err := h.client.Activity(context.Background(), pullsQuery())
			is.NoErr(err)
			is.Equal(a.Cost.Requests, 2)
			is.Equal(a.DefaultBranch, "main") // the data comes from the retry
			is.Equal(h.clock.Sleeps(), tt.sleeps)
			is.Equal(h.logs.Lines(t)[0]["reason"], "graphql_rate_limited")
		})
	}
}

func TestGraphQLRateLimitedGivesUp(t *testing.T) {
	is := is.New(t)
	reset := map[string]string{"X-Ratelimit-Reset": resetIn(3 * time.Hour)}
	s := &script{steps: []step{{200, reset, graphQLLimited()}}}
	h := newHarness(t, s)

	_, err := h.client.Activity(context.Background(), pullsQuery())
	var apiErr *ingest.APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Type, "RATE_LIMITED")
	is.Equal(s.count(), 1)
	is.Equal(len(h.clock.Sleeps()), 0)
}

func TestActivityHalvesPagesAfter502(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{
		{502, nil, obj{"message": "bad gateway"}},
		{504, nil, obj{"message": "gateway timeout"}},
		ok(pullsAnswer()),
	}}
	h := newHarness(t, s)
	q := pullsQuery()
	q.Docs = []ingest.PathPage{{Path: "docs", Page: ingest.Page{Since: epoch, First: 40}}}
	q.Commits = &ingest.Page{Since: epoch, First: 8}

	a, err := h.client.Activity(context.Background(), q)
	// The canned response has no history, so the mapping fails after the
	// retries; only the requests matter here.
	is.True(err != nil)
	is.Equal(a, nil)
	is.Equal(s.count(), 3)
	var pulls, docs, commits []float64
	for _, q := range s.queries {
		pulls = append(pulls, q.Variables["pullRequestsFirst"].(float64))
		docs = append(docs, q.Variables["doc0First"].(float64))
		commits = append(commits, q.Variables["commitsFirst"].(float64))
	}
	is.Equal(pulls, []float64{100, 50, 25})
	is.Equal(docs, []float64{40, 20, 10})
	is.Equal(commits, []float64{8, 8, 8}) // never below the floor, never raised to it
	is.Equal(h.clock.Sleeps(), []time.Duration{time.Second, 2 * time.Second})
	line := h.logs.Lines(t)[0]
	is.Equal(line["msg"], "github.retry.wait")
	is.Equal(line["pull_requests_first"], 50.0)
	is.Equal(line["status"], 502.0)
}

func TestActivityRetryCountsRequests(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{{502, nil, obj{"message": "bad gateway"}}, ok(pullsAnswer())}}
	h := newHarness(t, s)

	a, err := h.client.Activity(context.Background(), pullsQuery())
	is.NoErr(err)
	is.Equal(a.Cost.Requests, 2)
}

func TestActivityHalvesPagesAfterTimeout(t *testing.T) {
	is := is.New(t)
	var calls atomic.Int32
	var sizes []float64
	var mu sync.Mutex
	server := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := decodeGraphQL(t, r)
		mu.Lock()
		sizes = append(sizes, req.Variables["pullRequestsFirst"].(float64))
		mu.Unlock()
		if calls.Add(1) == 1 {
			select { // outlast the client's timeout
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, http.StatusOK, pullsAnswer())
	}))
	cfg := Config{Token: testToken, APIURL: server.URL, Timeout: 100 * time.Millisecond}
	h := newHarnessFor(t, server, cfg)

	a, err := h.client.Activity(context.Background(), pullsQuery())
	is.NoErr(err)
	is.Equal(a.Cost.Requests, 2)
	mu.Lock()
	is.Equal(sizes, []float64{100, 50})
	mu.Unlock()
	is.Equal(h.clock.Sleeps(), []time.Duration{time.Second})
	is.Equal(h.logs.Lines(t)[0]["reason"], "timeout")
}

func TestActivityTimeoutsExhausted(t *testing.T) {
	is := is.New(t)
	server := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	cfg := Config{Token: testToken, APIURL: server.URL, Timeout: 50 * time.Millisecond}
	h := newHarnessFor(t, server, cfg, WithRetries(1))

	_, err := h.client.Activity(context.Background(), pullsQuery())
	is.True(errors.Is(err, context.DeadlineExceeded))
	is.True(errors.Is(err, ingest.ErrNetwork))
	is.Equal(h.clock.Sleeps(), []time.Duration{time.Second})
}

func TestWaitHonoursCancellation(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{{403, map[string]string{"Retry-After": "30"}, secondaryBody()}}}
	server := newServer(t, s)
	client, err := New(Config{Token: testToken, APIURL: server.URL})
	is.NoErr(err)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = client.CommitFiles(ctx, "octo", "reef", "abc123")
	is.True(errors.Is(err, context.DeadlineExceeded))
	is.True(time.Since(start) < 5*time.Second)
	is.Equal(s.count(), 1)
}

func TestCancelledRetryReturnsContextError(t *testing.T) {
	is := is.New(t)
	s := &script{steps: []step{{503, nil, obj{"message": "unavailable"}}}}
	h := newHarness(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	h.client.limits.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}

	_, err := h.client.Activity(ctx, pullsQuery())
	is.True(errors.Is(err, context.Canceled))
	var apiErr *ingest.APIError
	is.True(!errors.As(err, &apiErr)) // the 503 before the wait is not the outcome
	is.Equal(s.count(), 1)
}

func TestRequestsAreSerialized(t *testing.T) {
	is := is.New(t)
	var inFlight, most atomic.Int32
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		if strings.HasSuffix(r.URL.Path, "/graphql") {
			writeJSON(w, http.StatusOK, pullsAnswer())
			return
		}
		writeJSON(w, http.StatusOK, commitAnswer())
	}))

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = h.client.CommitFiles(context.Background(), "octo", "reef", fmt.Sprint(i))
			} else {
				_, err = h.client.Activity(context.Background(), pullsQuery())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		is.NoErr(err)
	}
	is.Equal(most.Load(), int32(1))
}

func TestRetryAfterDate(t *testing.T) {
	is := is.New(t)
	d, ok := parseRetryAfter(epoch.Add(45*time.Second).Format(http.TimeFormat), epoch)
	is.True(ok)
	is.Equal(d, 45*time.Second)
	_, ok = parseRetryAfter("soon", epoch)
	is.True(!ok)
}

func TestPageSizesHalved(t *testing.T) {
	tests := []struct {
		name string
		in   int
		want int
	}{
		{"full page", 100, 50},
		{"odd", 25, 12},
		{"near floor", 12, 10},
		{"at floor", 10, 10},
		{"below floor", 8, 8},
		{"not requested", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := pageSizes{commits: tt.in, docs: []int{tt.in}}.halved()
			is.Equal(got.commits, tt.want)
			is.Equal(got.docs, []int{tt.want})
		})
	}
}

package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/gold"
)

// fakeLLM is a chat completions server on 127.0.0.1 that checks each
// request and answers from a list of handlers, the last repeating.
type fakeLLM struct {
	t        *testing.T
	server   *httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	headers  []http.Header
	answers  []http.HandlerFunc
}

func newFakeLLM(t *testing.T, answers ...http.HandlerFunc) *fakeLLM {
	t.Helper()
	f := &fakeLLM{t: t, answers: answers}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("decode request: %v", err)
	}

	f.mu.Lock()
	f.requests = append(f.requests, body)
	f.headers = append(f.headers, r.Header.Clone())
	n := len(f.requests)
	f.mu.Unlock()

	f.answers[min(n, len(f.answers))-1](w, r)
}

// count returns the number of requests received.
func (f *fakeLLM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeLLM) endpoint() string { return f.server.URL + "/v1/chat/completions" }

// completion returns a valid response body whose message content is
// content.
func completion(content, finish string, usage string) string {
	text, _ := json.Marshal(content)
	return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1,`+
		`"model":"test-model","choices":[{"index":0,"message":{"role":"assistant",`+
		`"content":%s},"finish_reason":%q}],"usage":%s}`, text, finish, usage)
}

const goodUsage = `{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}`

const goodAnswer = `{"status":"At-Risk","summary":"acme/widget slowed down.",` +
	`"highlights":["a","b","c","d","e","f"],"risks":["Flaky CI"],"next_steps":[],` +
	`"extra":"ignored"}`

// reply returns a handler that responds with status and a JSON body.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// sleeper records the waits asked for instead of waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

var testNow = time.Date(2024, 7, 8, 12, 0, 0, 0, time.UTC)

// newTestModel returns a model pointed at f with a fixed clock, a
// jitter of 0.5 and a recording sleeper.
func newTestModel(t *testing.T, f *fakeLLM, change func(*OpenAIConfig)) (*OpenAI, *sleeper) {
	t.Helper()
	cfg := OpenAIConfig{APIKey: testKey, Endpoint: f.endpoint(), Model: "test-model",
		Temperature: 0.2, MaxTokens: 700, Timeout: 5 * time.Second}
	if change != nil {
		change(&cfg)
	}
	s := &sleeper{}
	m, err := NewOpenAI(cfg, OpenAIOptions{
		Sleep:  s.sleep,
		Now:    func() time.Time { return testNow },
		Jitter: func() float64 { return 0.5 },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func TestOpenAIRequest(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", goodUsage)))
	m, _ := newTestModel(t, f, nil)
	b := richRepoBundle()

	_, err := m.SummarizeRepository(context.Background(), b)
	is.NoErr(err)

	is.Equal(f.count(), 1)
	req, header := f.requests[0], f.headers[0]
	is.Equal(header.Get("Authorization"), "Bearer "+testKey)
	is.True(strings.HasPrefix(header.Get("Content-Type"), "application/json"))
	is.Equal(req["model"], "test-model")
	is.Equal(req["temperature"], 0.2)
	is.Equal(req["max_tokens"], 700.0)
	is.Equal(req["stream"], nil)

	format := req["response_format"].(map[string]any)
	is.Equal(format["type"], "json_schema")
	schema := format["json_schema"].(map[string]any)
	is.Equal(schema["name"], "status_report")
	is.Equal(schema["strict"], true)
	is.Equal(schema["schema"], ReportSchema())

	p, err := RepositoryPrompt(b, PromptOptions{})
	is.NoErr(err)
	messages := req["messages"].([]any)
	is.Equal(len(messages), 2)
	is.Equal(messages[0], map[string]any{"role": "system", "content": p.System})
	is.Equal(messages[1], map[string]any{"role": "user", "content": p.User})
}

func TestOpenAITemperatureZeroSent(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", goodUsage)))
	m, _ := newTestModel(t, f, func(c *OpenAIConfig) { c.Temperature = 0 })

	_, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))
	is.NoErr(err)

	v, ok := f.requests[0]["temperature"]
	is.True(ok)
	is.Equal(v, 0.0)
}

func TestOpenAIResult(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", goodUsage)))
	m, _ := newTestModel(t, f, nil)

	r, err := m.SummarizeRepository(context.Background(), richRepoBundle())
	is.NoErr(err)

	is.Equal(r.Status, gold.StatusAtRisk)
	is.Equal(r.Summary, "acme/widget slowed down.")
	is.Equal(r.Highlights, []string{"a", "b", "c", "d", "e"})
	is.Equal(r.Risks, []string{"Flaky CI"})
	is.Equal(r.NextSteps, []string{})
	is.Equal(r.Metrics.Provider, ProviderOpenAI)
	is.Equal(r.Metrics.Model, "test-model")
	is.Equal(*r.Metrics.PromptTokens, int64(120))
	is.Equal(*r.Metrics.CompletionTokens, int64(30))
	is.Equal(*r.Metrics.TotalTokens, int64(150))
	is.Equal(*r.Metrics.Latency, time.Duration(0))
}

func TestOpenAIProjectAndEstate(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", goodUsage)))
	m, _ := newTestModel(t, f, nil)

	_, err := m.SummarizeProject(context.Background(), projectBundle(gold.StatusAtRisk))
	is.NoErr(err)
	_, err = m.SummarizeEstate(context.Background(), estateBundle(gold.StatusOnTrack))
	is.NoErr(err)

	is.Equal(f.count(), 2)
	project := f.requests[0]["messages"].([]any)[0].(map[string]any)["content"]
	estate := f.requests[1]["messages"].([]any)[0].(map[string]any)["content"]
	is.Equal(project, ProjectSystemPrompt())
	is.Equal(estate, EstateSystemPrompt())
}

func TestOpenAIUsage(t *testing.T) {
	tests := []struct {
		name  string
		usage string
		want  [3]string // prompt, completion, total; "nil" when absent
	}{
		{"integers", goodUsage, [3]string{"120", "30", "150"}},
		{"floats and strings", `{"prompt_tokens":50.0,"completion_tokens":"10",` +
			`"total_tokens":true}`, [3]string{"nil", "nil", "nil"}},
		{"exponent", `{"prompt_tokens":1e2,"completion_tokens":3,"total_tokens":null}`,
			[3]string{"nil", "3", "nil"}},
		{"missing", `null`, [3]string{"nil", "nil", "nil"}},
	}
	show := func(n *int64) string {
		if n == nil {
			return "nil"
		}
		return fmt.Sprint(*n)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", tt.usage)))
			m, _ := newTestModel(t, f, nil)

			r, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))
			is.NoErr(err)

			is.Equal(show(r.Metrics.PromptTokens), tt.want[0])
			is.Equal(show(r.Metrics.CompletionTokens), tt.want[1])
			is.Equal(show(r.Metrics.TotalTokens), tt.want[2])
		})
	}
}

func TestOpenAIInvalidResponses(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		words []string
	}{
		{"body not json", "<html>oops</html>", []string{"JSON", "parse", "<html>"}},
		{"missing choices", `{"usage":` + goodUsage + `}`, []string{"choices"}},
		{"empty choices", `{"choices":[]}`, []string{"choices"}},
		{"choice not object", `{"choices":[3]}`, []string{"choices[0]"}},
		{"missing message", `{"choices":[{"finish_reason":"stop"}]}`,
			[]string{"choices[0].message"}},
		{"content null", `{"choices":[{"message":{"content":null}}]}`,
			[]string{"choices[0].message.content"}},
		{"refusal", `{"choices":[{"message":{"content":null,"refusal":"No."}}]}`,
			[]string{"refused", "No."}},
		{"truncated", completion(`{"status":"on_tr`, "length", goodUsage),
			[]string{"truncated", "length", EnvOpenAIMaxTokens}},
		{"content filter", completion("", "content_filter", goodUsage),
			[]string{"content_filter"}},
		{"content not json", completion("Everything is fine.", "stop", goodUsage),
			[]string{"JSON", "parse", "Everything is fine."}},
		{"content in fences", completion("```json\n{}\n```", "stop", goodUsage),
			[]string{"JSON"}},
		{"content not object", completion(`["on_track"]`, "stop", goodUsage),
			[]string{"not a JSON object"}},
		{"missing status", completion(`{"summary":"s"}`, "stop", goodUsage),
			[]string{"missing required field status"}},
		{"status case sensitive key", completion(`{"Status":"on_track","summary":"s"}`, "stop",
			goodUsage), []string{"missing required field status"}},
		{"status number", completion(`{"status":1,"summary":"s"}`, "stop", goodUsage),
			[]string{"status is a number"}},
		{"missing summary", completion(`{"status":"on_track"}`, "stop", goodUsage),
			[]string{"summary"}},
		{"summary null", completion(`{"status":"on_track","summary":null}`, "stop",
			goodUsage), []string{"summary is null"}},
		{"null list", completion(`{"status":"on_track","summary":"s","risks":null}`, "stop",
			goodUsage), []string{"risks is null"}},
		{"list of numbers", completion(`{"status":"on_track","summary":"s",`+
			`"highlights":["a",2]}`, "stop", goodUsage), []string{"highlights", "item 1"}},
		{"list as string", completion(`{"status":"on_track","summary":"s",`+
			`"next_steps":"do it"}`, "stop", goodUsage), []string{"next_steps is a string"}},
		{"trailing data", completion(`{"status":"on_track","summary":"s"} {}`, "stop",
			goodUsage), []string{"JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFakeLLM(t, reply(200, tt.body))
			m, s := newTestModel(t, f, nil)

			r, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))

			var respErr *ResponseError
			is.True(errors.As(err, &respErr))
			for _, w := range tt.words {
				is.True(strings.Contains(err.Error(), w))
			}
			is.Equal(f.count(), 1)
			is.Equal(len(s.waits), 0)
			is.Equal(r.Metrics.Provider, ProviderOpenAI)
		})
	}
}

func TestOpenAIUsageKeptOnTruncation(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, completion(`{"status":`, "length", goodUsage)))
	m, _ := newTestModel(t, f, nil)

	r, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))

	is.True(err != nil)
	is.Equal(*r.Metrics.TotalTokens, int64(150))
}

func TestOpenAIValidAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		status gold.Status
	}{
		{"lists optional", `{"status":"on_track","summary":"s"}`, gold.StatusOnTrack},
		{"hyphen and case", `{"status":"ON-TRACK","summary":"s"}`, gold.StatusOnTrack},
		{"unknown status", `{"status":"on track","summary":"s"}`, gold.StatusUnknown},
		{"empty status", `{"status":"","summary":"s"}`, gold.StatusUnknown},
		{"blocked", `{"status":"blocked","summary":"s","risks":["x"]}`, gold.StatusBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFakeLLM(t, reply(200, completion(tt.answer, "stop", goodUsage)))
			m, _ := newTestModel(t, f, nil)

			r, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))
			is.NoErr(err)

			is.Equal(r.Status, tt.status)
			is.True(r.Highlights != nil)
			is.True(r.Risks != nil)
			is.True(r.NextSteps != nil)
		})
	}
}

func TestOpenAITimeout(t *testing.T) {
	is := is.New(t)
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	f := newFakeLLM(t, slow)
	m, s := newTestModel(t, f, func(c *OpenAIConfig) {
		c.Timeout = 50 * time.Millisecond
		c.MaxAttempts = 2
	})

	_, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))

	var apiErr *APIError
	is.True(errors.As(err, &apiErr))
	is.True(apiErr.Timeout)
	is.Equal(apiErr.Status, 0)
	is.Equal(apiErr.Attempts, 2)
	is.True(strings.Contains(err.Error(), "timed out"))
	is.True(strings.Contains(err.Error(), "timeout"))
	is.Equal(f.count(), 2)
	is.Equal(s.waits, []time.Duration{750 * time.Millisecond})
}

func TestOpenAIRetries(t *testing.T) {
	ok := reply(200, completion(goodAnswer, "stop", goodUsage))
	date := testNow.Add(30 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name     string
		answers  []http.HandlerFunc
		change   func(*OpenAIConfig)
		requests int
		waits    []time.Duration
		status   int      // the APIError's status; 0 when the call succeeds
		words    []string // in the error message
	}{
		{"retry after seconds", []http.HandlerFunc{
			reply(429, `{"error":{"message":"slow down"}}`, "Retry-After", "7"), ok},
			nil, 2, []time.Duration{7 * time.Second}, 0, nil},
		{"retry after date", []http.HandlerFunc{
			reply(429, `{}`, "Retry-After", date), ok},
			nil, 2, []time.Duration{30 * time.Second}, 0, nil},
		{"retry after past date", []http.HandlerFunc{
			reply(429, `{}`, "Retry-After", testNow.Add(-time.Hour).Format(http.TimeFormat)),
			ok}, nil, 2, []time.Duration{750 * time.Millisecond}, 0, nil},
		{"server error then success", []http.HandlerFunc{reply(500, `oops`), ok},
			nil, 2, []time.Duration{750 * time.Millisecond}, 0, nil},
		{"backoff doubles", []http.HandlerFunc{reply(502, ``), reply(503, ``), ok},
			nil, 3, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, 0, nil},
		{"backoff capped", []http.HandlerFunc{reply(500, ``), reply(500, ``), ok},
			func(c *OpenAIConfig) { c.MaxDelay = 1200 * time.Millisecond },
			3, []time.Duration{750 * time.Millisecond, 900 * time.Millisecond}, 0, nil},
		{"rate limited to the end", []http.HandlerFunc{
			reply(429, `{"error":{"message":"quota"}}`, "Retry-After", "2")},
			nil, 3, []time.Duration{2 * time.Second, 2 * time.Second}, 429,
			[]string{"rate limited", "429", "retry after 2s", "quota", "3 attempts"}},
		{"retry after too long", []http.HandlerFunc{reply(429, `{}`, "Retry-After", "3600")},
			nil, 1, nil, 429, []string{"rate", "429", "retry after 1h0m0s"}},
		{"server error to the end", []http.HandlerFunc{reply(503, `unavailable`)},
			func(c *OpenAIConfig) { c.MaxAttempts = 2 },
			2, []time.Duration{750 * time.Millisecond}, 503, []string{"503", "unavailable"}},
		{"bad request final", []http.HandlerFunc{reply(400,
			`{"error":{"message":"Unsupported parameter: 'max_tokens'","type":"invalid"}}`)},
			nil, 1, nil, 400, []string{"400", "Unsupported parameter"}},
		{"unauthorized final", []http.HandlerFunc{reply(401,
			`{"error":{"message":"Incorrect API key provided: `+testKey+`"}}`)},
			nil, 1, nil, 401, []string{"401", "Incorrect API key", redacted}},
		{"one attempt", []http.HandlerFunc{reply(500, ``)},
			func(c *OpenAIConfig) { c.MaxAttempts = 1 }, 1, nil, 500, []string{"500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			f := newFakeLLM(t, tt.answers...)
			m, s := newTestModel(t, f, tt.change)

			r, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))

			is.Equal(f.count(), tt.requests)
			is.Equal(s.waits, tt.waits)
			if tt.status == 0 {
				is.NoErr(err)
				is.Equal(r.Status, gold.StatusAtRisk)
				return
			}
			var apiErr *APIError
			is.True(errors.As(err, &apiErr))
			is.Equal(apiErr.Status, tt.status)
			is.Equal(apiErr.Attempts, tt.requests)
			for _, w := range tt.words {
				is.True(strings.Contains(err.Error(), w))
			}
			is.True(!strings.Contains(err.Error(), testKey))
		})
	}
}

func TestOpenAINetworkError(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, ""))
	m, s := newTestModel(t, f, nil)
	f.server.Close()

	_, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))

	var apiErr *APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Status, 0)
	is.True(!apiErr.Timeout)
	is.True(strings.Contains(err.Error(), "network"))
	is.Equal(len(s.waits), 2)
}

func TestOpenAIContextCanceledWhileWaiting(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(500, ``))
	m, s := newTestModel(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	m.opts.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return s.sleep(ctx, d)
	}

	_, err := m.SummarizeRepository(ctx, repoBundle(1, 0, 0))

	is.True(errors.Is(err, context.Canceled))
	is.Equal(f.count(), 1)
}

func TestOpenAIDeadlineStopsRetries(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(429, `{}`, "Retry-After", "30"))
	m, s := newTestModel(t, f, nil)
	m.opts.Now = time.Now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := m.SummarizeRepository(ctx, repoBundle(1, 0, 0))

	var apiErr *APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Status, 429)
	is.Equal(len(s.waits), 0)
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 12 ", 12 * time.Second},
		{"-3", 0},
		{"1.5", 0},
		{testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{testNow.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Monday", 0},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			is := is.New(t)
			is.Equal(parseRetryAfter(tt.header, testNow), tt.want)
		})
	}
}

func TestOpenAIConcurrentCalls(t *testing.T) {
	is := is.New(t)
	usage := func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		user := body["messages"].([]any)[1].(map[string]any)["content"].(string)
		n := strings.Count(user, `"sha"`)
		reply(200, completion(goodAnswer, "stop",
			fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":1,"total_tokens":%d}`, n, n+1)),
		)(w, r)
	}
	server := httptest.NewServer(http.HandlerFunc(usage))
	t.Cleanup(server.Close)
	m, err := NewOpenAI(OpenAIConfig{APIKey: testKey,
		Endpoint: server.URL + "/v1/chat/completions"}, OpenAIOptions{})
	is.NoErr(err)

	var wg sync.WaitGroup
	results := make([]Result, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = m.SummarizeRepository(context.Background(), repoBundle(i, 0, 0))
		})
	}
	wg.Wait()

	for i, r := range results {
		is.NoErr(errs[i])
		is.Equal(*r.Metrics.PromptTokens, int64(i))
		is.True(*r.Metrics.Latency > 0)
	}
}

func TestOpenAIReasoningModelRequest(t *testing.T) {
	for _, model := range []string{"gpt-5.1-thinking", "o3-mini", "openai/gpt-5"} {
		t.Run(model, func(t *testing.T) {
			is := is.New(t)
			f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", goodUsage)))
			m, _ := newTestModel(t, f, func(c *OpenAIConfig) { c.Model = model })

			_, err := m.SummarizeRepository(context.Background(), repoBundle(1, 0, 0))
			is.NoErr(err)
			req := f.requests[0]
			is.Equal(req["max_completion_tokens"], 700.0)
			_, hasMaxTokens := req["max_tokens"]
			is.True(!hasMaxTokens) // reasoning models reject max_tokens
			_, hasTemperature := req["temperature"]
			is.True(!hasTemperature) // and any temperature but the default
		})
	}
}

func TestOpenAIRetryCarriesFeedback(t *testing.T) {
	is := is.New(t)
	f := newFakeLLM(t, reply(200, completion(goodAnswer, "stop", goodUsage)))
	m, _ := newTestModel(t, f, nil)

	ctx := WithFeedback(context.Background(), []string{"The report names #43, which is not in its evidence."})
	_, err := m.SummarizeRepository(ctx, repoBundle(1, 0, 0))
	is.NoErr(err)
	user := f.requests[0]["messages"].([]any)[1].(map[string]any)["content"].(string)
	is.True(strings.HasSuffix(user, "correcting them:\n- The report names #43, which is not in its evidence."))
}

package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ghillie/ghillie/evidence"
)

// detailRunes caps the provider's error text quoted in an APIError.
const detailRunes = 200

// OpenAIOptions holds the collaborators of an OpenAI model. Every field
// is optional.
type OpenAIOptions struct {
	// HTTPClient sends the requests. Nil means a client of its own that
	// follows no redirects, so the key never goes to another host.
	HTTPClient *http.Client

	// Logger receives one warning per retry. Nil means silent.
	Logger *slog.Logger

	// Sleep waits between attempts and returns early with ctx's error.
	// Nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	// Now reads the clock for latency and Retry-After dates. Nil means
	// time.Now.
	Now func() time.Time

	// Jitter returns a number in [0, 1) that spreads backoff delays. Nil
	// means math/rand/v2.
	Jitter func() float64
}

// OpenAI is a Model that requests each report from a chat completions
// endpoint of the OpenAI API or of a compatible server. It sends the
// prompt of the scope with the report's JSON Schema as a strict
// json_schema response format and validates the model output. Requests
// that time out, fail on the network, or get HTTP 429 or a 5xx status
// are retried up to MaxAttempts in all, after an exponential backoff
// with jitter or after the wait that Retry-After requests. Other errors
// are final. It is safe for concurrent use.
type OpenAI struct {
	cfg  OpenAIConfig
	chat openai.ChatCompletionService
	opts OpenAIOptions
}

// NewOpenAI returns an OpenAI model for cfg. Zero fields of cfg take the
// defaults of DefaultOpenAIConfig, except Temperature. An invalid
// setting is a *ConfigError naming its environment variable.
//
// The client reads no OPENAI_* environment variables: cfg is its only
// configuration.
func NewOpenAI(cfg OpenAIConfig, opts OpenAIOptions) (*OpenAI, error) {
	cfg, base, err := completeConfig(cfg)
	if err != nil {
		return nil, err
	}

	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}

	// NewChatCompletionService, unlike openai.NewClient, reads no
	// OPENAI_* environment variables. Retries are left to complete,
	// which honours Retry-After dates and takes an injected clock.
	chat := openai.NewChatCompletionService(
		option.WithBaseURL(base),
		option.WithAPIKey(string(cfg.APIKey)),
		option.WithHTTPClient(opts.HTTPClient),
		option.WithMaxRetries(0),
	)
	return &OpenAI{cfg: cfg, chat: chat, opts: opts}, nil
}

// completeConfig fills in defaults, checks cfg and returns the client
// base URL of its endpoint.
func completeConfig(cfg OpenAIConfig) (OpenAIConfig, string, error) {
	def := DefaultOpenAIConfig()
	if strings.TrimSpace(string(cfg.APIKey)) == "" {
		return cfg, "", &ConfigError{Variable: EnvOpenAIAPIKey,
			Problem: "missing API key: set it to a non-empty OpenAI API key"}
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = def.Endpoint
	}
	if cfg.Model == "" {
		cfg.Model = def.Model
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = def.MaxTokens
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = def.BaseDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = def.MaxDelay
	}
	if cfg.PromptTokens == 0 {
		cfg.PromptTokens = def.PromptTokens
	}

	invalid := func(variable string, value any, problem string) error {
		return &ConfigError{Variable: variable, Value: fmt.Sprint(value), Problem: problem}
	}
	switch {
	case !(cfg.Temperature >= 0 && cfg.Temperature <= 2):
		return cfg, "", invalid(EnvOpenAITemperature, cfg.Temperature,
			"invalid temperature: want a number from 0.0 to 2.0")
	case cfg.MaxTokens < 0:
		return cfg, "", invalid(EnvOpenAIMaxTokens, cfg.MaxTokens,
			"invalid max_tokens: want a positive integer")
	case cfg.Timeout < 0:
		return cfg, "", invalid(EnvOpenAITimeout, cfg.Timeout,
			"invalid timeout: want a positive duration")
	case cfg.MaxAttempts < 0 || cfg.MaxAttempts > maxAttemptsLimit:
		return cfg, "", invalid(EnvOpenAIMaxAttempts, cfg.MaxAttempts,
			fmt.Sprintf("invalid max_attempts: want 1 to %d", maxAttemptsLimit))
	case cfg.PromptTokens < 0:
		return cfg, "", invalid(EnvOpenAIPromptTokens, cfg.PromptTokens,
			"invalid prompt_tokens: want a positive integer")
	case cfg.BaseDelay < 0 || cfg.MaxDelay < 0:
		return cfg, "", fmt.Errorf("invalid retry delays %s and %s: want positive durations",
			cfg.BaseDelay, cfg.MaxDelay)
	}

	base, err := baseURL(cfg.Endpoint)
	return cfg, base, err
}

// String describes the model without its key.
func (m *OpenAI) String() string {
	return fmt.Sprintf("OpenAI model %s at %s", m.cfg.Model, m.cfg.Endpoint)
}

// GoString describes the model without its key, for %#v.
func (m *OpenAI) GoString() string { return m.String() }

// Config returns the model's configuration, defaults filled in.
func (m *OpenAI) Config() OpenAIConfig { return m.cfg }

// SummarizeRepository requests a repository report from the model. On
// error, the Result carries only the Metrics of the call.
func (m *OpenAI) SummarizeRepository(ctx context.Context,
	b *evidence.RepositoryBundle,
) (Result, error) {
	if b == nil {
		return Result{}, errors.New("summarize repository: nil bundle")
	}
	slug := clean(b.Repository.Slug(), maxNameRunes)
	p, err := RepositoryPrompt(b, PromptOptions{TokenBudget: m.cfg.PromptTokens})
	if err != nil {
		return Result{}, fmt.Errorf("summarize repository %q: %w", slug, err)
	}
	result, err := m.complete(ctx, p)
	if err != nil {
		return result, fmt.Errorf("summarize repository %q: %w", slug, err)
	}
	return result, nil
}

// SummarizeProject requests a project report from the model. On error, the
// Result carries only the Metrics of the call.
func (m *OpenAI) SummarizeProject(ctx context.Context, b *evidence.ProjectBundle) (Result, error) {
	if b == nil {
		return Result{}, errors.New("summarize project: nil bundle")
	}
	key := clean(b.Project.Key, maxNameRunes)
	p, err := ProjectPrompt(b, PromptOptions{TokenBudget: m.cfg.PromptTokens})
	if err != nil {
		return Result{}, fmt.Errorf("summarize project %q: %w", key, err)
	}
	result, err := m.complete(ctx, p)
	if err != nil {
		return result, fmt.Errorf("summarize project %q: %w", key, err)
	}
	return result, nil
}

// SummarizeEstate requests an estate report from the model. On error, the
// Result carries only the Metrics of the call.
func (m *OpenAI) SummarizeEstate(ctx context.Context, b *evidence.EstateBundle) (Result, error) {
	if b == nil {
		return Result{}, errors.New("summarize estate: nil bundle")
	}
	key := clean(b.EstateKey, maxNameRunes)
	p, err := EstatePrompt(b, PromptOptions{TokenBudget: m.cfg.PromptTokens})
	if err != nil {
		return Result{}, fmt.Errorf("summarize estate %q: %w", key, err)
	}
	result, err := m.complete(ctx, p)
	if err != nil {
		return result, fmt.Errorf("summarize estate %q: %w", key, err)
	}
	return result, nil
}

// withFeedback appends to the user prompt the checks a previous answer
// failed, cleaned like evidence text, so a retry can correct them.
func withFeedback(ctx context.Context, p Prompt) Prompt {
	problems := Feedback(ctx)
	if len(problems) == 0 {
		return p
	}
	var b strings.Builder
	b.WriteString(p.User)
	b.WriteString("\n\nYour previous answer failed these checks against the evidence. " +
		"Answer again, correcting them:")
	for _, problem := range problems {
		b.WriteString("\n- " + clean(problem, maxItemRunes))
	}
	p.User = b.String()
	p.Tokens = EstimateTokens(p.System) + EstimateTokens(p.User)
	return p
}

// complete sends the prompt, retrying as the type documents, and parses
// the response.
func (m *OpenAI) complete(ctx context.Context, p Prompt) (Result, error) {
	p = withFeedback(ctx, p)
	start := m.opts.Now()
	metrics := func(u tokenUsage) Metrics {
		latency := m.opts.Now().Sub(start)
		return Metrics{
			Provider:         ProviderOpenAI,
			Model:            m.cfg.Model,
			PromptTokens:     u.prompt,
			CompletionTokens: u.completion,
			TotalTokens:      u.total,
			Latency:          &latency,
		}
	}
	params := m.params(p)

	for attempt := 1; ; attempt++ {
		body, err := m.send(ctx, params)
		if err == nil {
			result, usage, err := parseCompletion(body)
			result.Metrics = metrics(usage)
			return result, err
		}

		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			return Result{Metrics: metrics(tokenUsage{})}, err
		}
		apiErr.Attempts = attempt
		delay, retry := m.retryDelay(ctx, attempt, apiErr)
		if !retry {
			return Result{Metrics: metrics(tokenUsage{})}, apiErr
		}

		m.opts.Logger.WarnContext(ctx, "status.openai.retry",
			slog.Int("attempt", attempt),
			slog.Int("max_attempts", m.cfg.MaxAttempts),
			slog.Duration("delay", delay),
			slog.Int("http_status", apiErr.Status),
			slog.String("err", apiErr.Error()))
		if err := m.opts.Sleep(ctx, delay); err != nil {
			return Result{Metrics: metrics(tokenUsage{})},
				fmt.Errorf("wait to retry after %w: %w", apiErr, err)
		}
	}
}

// retryDelay returns the wait before the next attempt, and false when
// there is none: the error is final, the attempts are used up, the
// server requests a wait longer than MaxDelay, or ctx would expire
// first.
func (m *OpenAI) retryDelay(ctx context.Context, attempt int, e *APIError) (time.Duration, bool) {
	if !e.Retryable() || attempt >= m.cfg.MaxAttempts {
		return 0, false
	}

	var delay time.Duration
	switch {
	case e.RetryAfter > m.cfg.MaxDelay:
		return 0, false
	case e.RetryAfter > 0:
		delay = e.RetryAfter
	default:
		// Equal jitter: half the exponential backoff, plus a random part
		// of the other half, so concurrent callers spread out.
		backoff := min(m.cfg.BaseDelay<<(attempt-1), m.cfg.MaxDelay)
		delay = backoff/2 + time.Duration(m.opts.Jitter()*float64(backoff/2))
	}

	if deadline, ok := ctx.Deadline(); ok && m.opts.Now().Add(delay).After(deadline) {
		return 0, false
	}
	return delay, true
}

// reasoningModel reports whether a model name is one of OpenAI's
// reasoning models (the o-series and GPT-5), which reject max_tokens and
// any temperature but the default.
func reasoningModel(name string) bool {
	name = strings.ToLower(name)
	name = name[strings.LastIndexByte(name, '/')+1:]
	for _, prefix := range []string{"gpt-5", "o1", "o3", "o4"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// params builds the request body of a prompt. Reasoning models get the
// token limit as max_completion_tokens and no temperature; other models,
// including most OpenAI-compatible servers, get max_tokens and the
// configured temperature.
func (m *OpenAI) params(p Prompt) openai.ChatCompletionNewParams {
	params := m.baseParams(p)
	if reasoningModel(m.cfg.Model) {
		params.MaxCompletionTokens = openai.Int(int64(m.cfg.MaxTokens))
		return params
	}
	params.Temperature = openai.Float(m.cfg.Temperature)
	params.MaxTokens = openai.Int(int64(m.cfg.MaxTokens))
	return params
}

func (m *OpenAI) baseParams(p Prompt) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: m.cfg.Model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(p.System),
			openai.UserMessage(p.User),
		},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   reportSchemaName,
					Strict: openai.Bool(true),
					Schema: ReportSchema(),
				},
			},
		},
	}
}

// send makes one request and returns the response body, an *APIError,
// or ctx's error when ctx ended.
func (m *OpenAI) send(ctx context.Context, params openai.ChatCompletionNewParams) ([]byte, error) {
	attemptCtx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()

	var body []byte
	var resp *http.Response
	_, err := m.chat.New(attemptCtx, params,
		option.WithResponseBodyInto(&body), option.WithResponseInto(&resp))

	switch {
	case resp != nil && (resp.StatusCode < 200 || resp.StatusCode > 299):
		return nil, &APIError{
			Status:     resp.StatusCode,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), m.opts.Now()),
			Detail:     m.redact(providerDetail(err, resp)),
		}
	case err == nil:
		return body, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("chat completion request: %w", ctx.Err())
	case errors.Is(attemptCtx.Err(), context.DeadlineExceeded):
		return nil, &APIError{Timeout: true, Detail: "no response within " + m.cfg.Timeout.String(),
			Err: err}
	}
	return nil, &APIError{Detail: m.redact(clean(err.Error(), detailRunes)), Err: err}
}

// redact removes the API key from text that came from elsewhere.
func (m *OpenAI) redact(text string) string {
	if key := string(m.cfg.APIKey); key != "" {
		text = strings.ReplaceAll(text, key, redacted)
	}
	return text
}

// providerDetail returns the provider's error message of a failed
// response, cleaned and shortened: the message field of an OpenAI error
// body, or else the start of the body.
func providerDetail(err error, resp *http.Response) string {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return clean(apiErr.Message, detailRunes)
	}
	if resp.Body == nil {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4*detailRunes))
	return clean(string(data), detailRunes)
}

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date. It returns 0 for a missing or invalid header or a date in
// the past.
func parseRetryAfter(header string, now time.Time) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(header, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(header); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

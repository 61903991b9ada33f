package githubapi

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"

	"github.com/ghillie/ghillie/ingest"
)

// Defaults of the options.
const (
	// DefaultMinSecondaryWait is the first wait after a secondary rate
	// limit without Retry-After.
	DefaultMinSecondaryWait = 60 * time.Second

	// DefaultMaxResetWait is the longest wait for a rate-limit reset,
	// one primary window.
	DefaultMaxResetWait = time.Hour

	// DefaultRetries is how many times a request is retried.
	DefaultRetries = 3
)

// userAgent names the client to GitHub, which requires a User-Agent.
const userAgent = "ghillie"

// Client reads repository activity from GitHub. It implements
// ingest.GitHubClient and is safe for concurrent use; its requests are
// sent one at a time because they share one token's rate limits.
type Client struct {
	graphQL *githubv4.Client
	rest    *github.Client
	limits  *limiter
	log     *slog.Logger
	retries int
}

var _ ingest.GitHubClient = (*Client)(nil)

// Option changes a default of New.
type Option func(*options)

type options struct {
	transport        http.RoundTripper
	logger           *slog.Logger
	now              func() time.Time
	sleep            func(context.Context, time.Duration) error
	minSecondaryWait time.Duration
	maxResetWait     time.Duration
	retries          int
}

// WithTransport sets the http.RoundTripper that sends requests;
// http.DefaultTransport when unset or nil. It also sends the requests
// for App installation tokens. A Recorder saves every exchange of a run,
// and a Replayer serves the responses of such a recording. With a
// Replayer the Client never waits between retries.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

// WithLogger sets the logger of waits, retries and token renewals;
// nil, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithClock replaces the clock and the sleep function of rate-limit
// and retry waits. sleep must return early with ctx.Err() when ctx ends.
// A nil argument keeps the default (time.Now, a timer).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
		if sleep != nil {
			o.sleep = sleep
		}
	}
}

// WithMinSecondaryWait sets the first wait after a secondary rate limit
// without Retry-After, and later waits double it. The default is
// DefaultMinSecondaryWait because GitHub's documentation requests a wait
// of at least one minute.
func WithMinSecondaryWait(d time.Duration) Option {
	return func(o *options) { o.minSecondaryWait = d }
}

// WithMaxResetWait sets the longest wait for a rate-limit reset. When the
// reset is further away, the request fails with an *ingest.APIError of
// Type RATE_LIMITED instead of waiting. The default is
// DefaultMaxResetWait.
func WithMaxResetWait(d time.Duration) Option {
	return func(o *options) { o.maxResetWait = d }
}

// WithRetries sets how many times a request is retried after a rate
// limit, a 502, 503 or 504 status, a timeout or a network error. The
// default is DefaultRetries, and 0 disables retries.
func WithRetries(n int) Option {
	return func(o *options) { o.retries = n }
}

// New returns a Client for cfg. It sends no request: a GitHub App's
// first installation token is minted with the first call.
func New(cfg Config, opts ...Option) (*Client, error) {
	o := options{
		transport:        http.DefaultTransport,
		now:              time.Now,
		sleep:            sleepContext,
		minSecondaryWait: DefaultMinSecondaryWait,
		maxResetWait:     DefaultMaxResetWait,
		retries:          DefaultRetries,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.transport == nil {
		o.transport = http.DefaultTransport
	}
	if _, ok := o.transport.(*Replayer); ok {
		// Recorded responses are ready at once, so a wait would only
		// slow the replay down.
		o.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.retries < 0 || o.minSecondaryWait <= 0 || o.maxResetWait < 0 {
		return nil, fmt.Errorf("invalid GitHub client options: retries %d and maximum reset "+
			"wait %s must not be negative, minimum secondary wait %s must be positive",
			o.retries, o.maxResetWait, o.minSecondaryWait)
	}

	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, &ingest.ConfigError{Variable: EnvTimeout, Problem: "must be positive"}
	}
	ends, err := parseEndpoints(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	tokens, err := newTokenSource(cfg, ends.rest, o)
	if err != nil {
		return nil, err
	}

	limits := &limiter{
		next:             &authTransport{next: o.transport, tokens: tokens},
		timeout:          cfg.Timeout,
		retries:          o.retries,
		minSecondaryWait: o.minSecondaryWait,
		maxResetWait:     o.maxResetWait,
		now:              o.now,
		sleep:            o.sleep,
		jitter:           randomJitter,
		log:              o.logger,
		turn:             make(chan struct{}, 1),
		budgets:          map[string]budget{},
	}
	httpClient := &http.Client{Transport: limits}

	rest := github.NewClient(httpClient)
	rest.BaseURL, err = url.Parse(ends.rest)
	if err != nil {
		return nil, fmt.Errorf("REST URL %q: %w", ends.rest, err)
	}
	rest.UserAgent = userAgent

	return &Client{
		graphQL: githubv4.NewEnterpriseClient(ends.graphQL, httpClient),
		rest:    rest,
		limits:  limits,
		log:     o.logger,
		retries: o.retries,
	}, nil
}

// newTokenSource returns the source of the Authorization header.
func newTokenSource(cfg Config, restURL string, o options) (tokenSource, error) {
	token := string(cfg.Token)
	switch {
	case token != "" && cfg.App != nil:
		return nil, &ingest.ConfigError{
			Variable: EnvToken,
			Problem: "set together with a GitHub App: " +
				"configure either a token or a GitHub App, not both",
		}
	case token != "":
		if err := checkToken(token); err != nil {
			return nil, err
		}
		return staticToken(token), nil
	case cfg.App == nil:
		return nil, &ingest.ConfigError{
			Variable: EnvToken,
			Problem: EnvToken + " is required for GitHub API " +
				"unless a GitHub App is configured",
		}
	case cfg.App.AppID <= 0 || cfg.App.InstallationID <= 0 || cfg.App.PrivateKey == nil:
		return nil, &ingest.ConfigError{
			Variable: EnvAppID,
			Problem: "GitHub App configuration is incomplete: " +
				"set the App id, installation id and private key",
		}
	}
	return &appTokens{
		app: *cfg.App,
		url: fmt.Sprintf("%sapp/installations/%d/access_tokens",
			restURL, cfg.App.InstallationID),
		client:  &http.Client{Transport: o.transport, Timeout: cfg.Timeout},
		now:     o.now,
		log:     o.logger,
		renewal: appTokenRenewal,
	}, nil
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// randomJitter returns a random duration of up to a quarter of d, which
// spreads the retries of clients that failed together.
func randomJitter(d time.Duration) time.Duration {
	if d < 4 {
		return 0
	}
	return rand.N(d / 4)
}

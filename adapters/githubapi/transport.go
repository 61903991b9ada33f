package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ghillie/ghillie/ingest"
)

// transientBackoff is the first wait before retrying a 502, 503, 504,
// timeout or network error; each further retry doubles it.
const transientBackoff = time.Second

// resetMargin is added to waits for a reset time, which GitHub gives in
// whole seconds, so the retry does not arrive just before the refill.
// For the same reason a reset up to resetMargin beyond maxResetWait is
// still awaited, so the default of one hour covers a full window.
const resetMargin = time.Second

// Budget names, after GitHub's x-ratelimit-resource header: GraphQL
// points and REST requests are separate primary budgets.
const (
	resourceGraphQL = "graphql"
	resourceREST    = "core"
)

// exchange collects what the limiter saw while sending one logical
// request, for the method that made it. The limiter writes it and the
// method reads it after the githubv4 or go-github call returns.
type exchange struct {
	// graphQL marks a GraphQL request. Its 200 responses are checked for
	// RATE_LIMITED errors and its body is kept.
	graphQL bool

	// shrinkable makes the limiter hand 502, 504 and timeouts back to
	// the caller, which retries with smaller pages, instead of retrying
	// the same request.
	shrinkable bool

	requests int
	status   int
	body     []byte

	// transient reports that the last attempt failed with a 502, 504 or
	// timeout that the limiter did not retry because shrinkable is set.
	transient bool

	// err is the limiter's final error, such as a rate limit whose reset
	// is too far away. It is kept here because the HTTP client wraps it.
	err error
}

type exchangeKey struct{}

func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

func exchangeFrom(ctx context.Context) *exchange {
	if ex, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		return ex
	}
	return &exchange{}
}

// budget is the primary rate limit GitHub last reported for one
// resource; remaining is -1 when unknown.
type budget struct {
	remaining int
	reset     time.Time
}

// limiter is the http.RoundTripper shared by the GraphQL and REST
// clients of one token. It sends one request at a time, waits for the
// reset when a budget is spent, waits out secondary limits, and retries
// transient failures with exponential backoff and jitter.
type limiter struct {
	next             http.RoundTripper
	timeout          time.Duration
	retries          int
	minSecondaryWait time.Duration
	maxResetWait     time.Duration
	now              func() time.Time
	sleep            func(context.Context, time.Duration) error
	jitter           func(time.Duration) time.Duration
	log              *slog.Logger

	// turn holds a token while a request is in flight.
	turn chan struct{}

	mu      sync.Mutex
	budgets map[string]budget

	// pausedUntil is the end of a secondary-limit wait, which holds back
	// every request of the token.
	pausedUntil time.Time
}

// verdict is the limiter's decision after one attempt.
type verdict struct {
	retry   bool
	wait    time.Duration
	event   string
	reason  string
	resetAt time.Time

	// final ends the request with this error instead of the response.
	final error
}

// RoundTrip sends req, waiting and retrying as the limits require.
func (l *limiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.GetBody != nil {
		// Every attempt sends a copy from GetBody, so the original is
		// only closed, as the RoundTripper contract requires.
		defer req.Body.Close()
	}
	ex := exchangeFrom(req.Context())
	resp, err := l.roundTrip(req, ex)
	if err != nil && ex.err == nil {
		ex.err = err
	}
	return resp, err
}

func (l *limiter) roundTrip(req *http.Request, ex *exchange) (*http.Response, error) {
	ctx := req.Context()
	resource := resourceREST
	if ex.graphQL {
		resource = resourceGraphQL
	}

	secondaryHits, transientHits := 0, 0
	for attempt := 0; ; attempt++ {
		if err := l.waitForBudget(ctx, resource, ex); err != nil {
			return nil, err
		}

		resp, err := l.send(req, ex)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}

		v := l.judge(resource, resp, err, ex, &secondaryHits, &transientHits)
		if v.final != nil {
			ex.err = v.final
			closeBody(resp)
			return nil, v.final
		}
		if !v.retry {
			if resp != nil {
				l.stripLimits(resp)
			}
			return resp, err
		}
		if attempt >= l.retries {
			return l.giveUp(resp, err, ex, v)
		}

		closeBody(resp)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if err := l.wait(ctx, v.wait, v.event, v.reason, v.resetAt, status, attempt+1); err != nil {
			return nil, err
		}
	}
}

// giveUp ends a request whose retries are spent. A rate limit becomes an
// *ingest.APIError of Type RATE_LIMITED, a network failure an error
// wrapping ingest.ErrNetwork and its cause; a failed status returns the
// last response as it is.
func (l *limiter) giveUp(resp *http.Response, err error, ex *exchange, v verdict,
) (*http.Response, error) {
	if v.event == eventRateLimitWait {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		closeBody(resp)
		ex.err = &ingest.APIError{
			Status:  status,
			Type:    "RATE_LIMITED",
			Message: fmt.Sprintf("still rate limited (%s) after %d retries", v.reason, l.retries),
		}
		return nil, ex.err
	}
	var apiErr *ingest.APIError
	if err != nil && errors.As(err, &apiErr) {
		// Minting an installation token kept failing with a 5xx status,
		// so GitHub was reachable.
		ex.err = fmt.Errorf("GitHub request failed after %d retries: %w", l.retries, err)
		return nil, ex.err
	}
	if err != nil {
		ex.err = fmt.Errorf("GitHub request failed after %d retries: %w: %w",
			l.retries, ingest.ErrNetwork, err)
		return nil, ex.err
	}
	l.stripLimits(resp)
	return resp, nil
}

// send makes one attempt within the per-request timeout, holding the
// token's turn until the response body is read, so exactly one request
// is in flight per token.
func (l *limiter) send(req *http.Request, ex *exchange) (*http.Response, error) {
	ctx := req.Context()
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.turn }()

	attemptCtx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	r := req.Clone(attemptCtx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("rewind request body: %w", err)
		}
		r.Body = body
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", userAgent)
	}

	ex.requests++
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read GitHub response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ex.status = resp.StatusCode
	if ex.graphQL {
		ex.body = body
	}
	return resp, nil
}

// judge decides what follows one attempt and records the rate limit the
// response reported.
func (l *limiter) judge(resource string, resp *http.Response, err error, ex *exchange,
	secondaryHits, transientHits *int,
) verdict {
	ex.transient = false
	if isFinalMint(err) || isLocal(err) {
		return verdict{final: err}
	}
	if err != nil {
		reason := "network"
		if isTimeout(err) {
			reason = "timeout"
			if ex.shrinkable {
				ex.transient = true
				return verdict{}
			}
		}
		*transientHits++
		return l.backoff(reason, transientBackoff, *transientHits)
	}

	l.record(resource, resp.Header)
	body := readBody(resp)
	switch status := resp.StatusCode; {
	case status == http.StatusForbidden || status == http.StatusTooManyRequests:
		return l.judgeLimited(resp, body, secondaryHits)
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		if ex.shrinkable {
			ex.transient = true
			return verdict{}
		}
		*transientHits++
		return l.backoff("status", transientBackoff, *transientHits)
	case status == http.StatusServiceUnavailable:
		*transientHits++
		return l.backoff("status", transientBackoff, *transientHits)
	case status == http.StatusOK && ex.graphQL:
		return l.judgeGraphQL(resp, body, secondaryHits)
	}
	return verdict{}
}

// judgeLimited classifies a 403 or 429. GitHub signals a spent primary
// budget with x-ratelimit-remaining 0, and a secondary limit with a body
// that mentions it, often with Retry-After. A 429 is always a limit; a
// 403 that is neither is a permission problem and final.
func (l *limiter) judgeLimited(resp *http.Response, body []byte, secondaryHits *int) verdict {
	retryAfter, hasRetryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), l.now())
	secondary := bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit"))

	if !secondary && !hasRetryAfter && resp.Header.Get("X-Ratelimit-Remaining") == "0" {
		if reset, ok := parseReset(resp.Header.Get("X-Ratelimit-Reset")); ok {
			return l.untilReset("primary", reset, resp.StatusCode)
		}
	}
	if !secondary && !hasRetryAfter && resp.StatusCode == http.StatusForbidden {
		return verdict{}
	}

	*secondaryHits++
	if hasRetryAfter && retryAfter > l.maxResetWait {
		reset := l.now().Add(retryAfter)
		return verdict{final: l.tooLong("secondary", reset, retryAfter, resp.StatusCode)}
	}
	if hasRetryAfter {
		l.pause(retryAfter)
		return verdict{
			retry: true, wait: retryAfter, event: eventRateLimitWait, reason: "secondary",
			resetAt: l.now().Add(retryAfter),
		}
	}
	v := l.backoff("secondary", l.minSecondaryWait, *secondaryHits)
	v.event = eventRateLimitWait
	l.pause(v.wait)
	return v
}

// judgeGraphQL treats a 200 response whose errors include RATE_LIMITED as
// a spent budget: it carries no data, so the request waits for the reset
// and is sent again.
func (l *limiter) judgeGraphQL(resp *http.Response, body []byte, secondaryHits *int) verdict {
	var answer struct {
		Data *struct {
			RateLimit *struct {
				ResetAt time.Time `json:"resetAt"`
			} `json:"rateLimit"`
		} `json:"data"`
		Errors []struct {
			Type string `json:"type"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &answer) != nil {
		return verdict{}
	}
	limited := false
	for _, e := range answer.Errors {
		limited = limited || e.Type == "RATE_LIMITED"
	}
	if !limited {
		return verdict{}
	}

	if reset, ok := parseReset(resp.Header.Get("X-Ratelimit-Reset")); ok {
		return l.untilReset("graphql_rate_limited", reset, 0)
	}
	if answer.Data != nil && answer.Data.RateLimit != nil {
		if reset := answer.Data.RateLimit.ResetAt; !reset.IsZero() {
			return l.untilReset("graphql_rate_limited", reset, 0)
		}
	}
	*secondaryHits++
	v := l.backoff("graphql_rate_limited", l.minSecondaryWait, *secondaryHits)
	v.event = eventRateLimitWait
	return v
}

// untilReset waits for a primary budget's reset, or gives up when the
// reset is further away than maxResetWait.
func (l *limiter) untilReset(reason string, reset time.Time, status int) verdict {
	wait := max(reset.Sub(l.now()), 0) + resetMargin
	if wait > l.maxResetWait+2*resetMargin {
		return verdict{final: l.tooLong(reason, reset, wait, status)}
	}
	return verdict{
		retry: true, wait: wait, event: eventRateLimitWait, reason: reason, resetAt: reset,
	}
}

// tooLong describes a rate limit the request does not wait for. status is
// the response's HTTP status, 0 when the limit is known before sending.
func (l *limiter) tooLong(reason string, reset time.Time, wait time.Duration, status int) error {
	return &ingest.APIError{
		Status: status,
		Type:   "RATE_LIMITED",
		Message: fmt.Sprintf("rate limit (%s) resets at %s, in %s, beyond the maximum wait of %s",
			reason, reset.UTC().Format(time.RFC3339), wait.Round(time.Second), l.maxResetWait),
	}
}

// backoff waits base·2^(hits-1) plus jitter of up to a quarter of that.
func (l *limiter) backoff(reason string, base time.Duration, hits int) verdict {
	wait := base << min(hits-1, 16)
	wait += l.jitter(wait)
	return verdict{retry: true, wait: wait, event: eventRetryWait, reason: reason}
}

// waitForBudget holds a request back while a secondary limit lasts or
// while the resource's budget is spent, as the last response reported.
func (l *limiter) waitForBudget(ctx context.Context, resource string, ex *exchange) error {
	l.mu.Lock()
	now := l.now()
	until, reason := l.pausedUntil, "secondary"
	b, known := l.budgets[resource]
	if known && b.remaining == 0 && b.reset.After(now) && b.reset.Add(resetMargin).After(until) {
		until, reason = b.reset.Add(resetMargin), "budget_spent"
	}
	l.mu.Unlock()

	wait := until.Sub(now)
	if wait <= 0 {
		return nil
	}
	if wait > l.maxResetWait+2*resetMargin {
		ex.err = l.tooLong(reason, until, wait, 0)
		return ex.err
	}
	if err := l.wait(ctx, wait, eventRateLimitWait, reason, until, 0, 0); err != nil {
		return err
	}

	// The reset has passed: the next response reports the new budget.
	l.mu.Lock()
	if b, ok := l.budgets[resource]; ok && !b.reset.After(l.now()) {
		l.budgets[resource] = budget{remaining: -1}
	}
	l.mu.Unlock()
	return nil
}

// record keeps the budget a response reported. A response without the
// headers (GitHub Enterprise Server with rate limits off) leaves the
// budget unknown, which never holds a request back.
func (l *limiter) record(resource string, h http.Header) {
	remaining, err := strconv.Atoi(h.Get("X-Ratelimit-Remaining"))
	if err != nil {
		return
	}
	reset, _ := parseReset(h.Get("X-Ratelimit-Reset"))
	if name := h.Get("X-Ratelimit-Resource"); name != "" {
		resource = name
	}

	l.mu.Lock()
	l.budgets[resource] = budget{remaining: remaining, reset: reset}
	l.mu.Unlock()
}

// pause holds back every request of the token for d.
func (l *limiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// stripLimits removes the rate-limit headers from a response the
// limiter has used. go-github would otherwise keep its own copy and
// refuse later requests without sending them, bypassing the waits here.
func (l *limiter) stripLimits(resp *http.Response) {
	for _, name := range []string{
		"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset",
		"X-Ratelimit-Used", "X-Ratelimit-Resource", "Retry-After",
	} {
		resp.Header.Del(name)
	}
}

// Log messages, one stable event name per kind of wait.
const (
	eventRateLimitWait = "github.rate_limit.wait"
	eventRetryWait     = "github.retry.wait"
)

// wait logs one line and sleeps for d, returning early when ctx ends.
func (l *limiter) wait(ctx context.Context, d time.Duration, event, reason string,
	resetAt time.Time, status, attempt int, extra ...slog.Attr,
) error {
	attrs := []slog.Attr{
		slog.String("reason", reason),
		slog.Float64("wait_seconds", d.Seconds()),
	}
	if !resetAt.IsZero() {
		attrs = append(attrs, slog.Time("reset_at", resetAt.UTC()))
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if attempt != 0 {
		attrs = append(attrs, slog.Int("attempt", attempt))
	}
	attrs = append(attrs, extra...)
	l.log.LogAttrs(ctx, slog.LevelWarn, event, attrs...)

	if err := l.sleep(ctx, d); err != nil {
		return fmt.Errorf("wait %s for GitHub (%s): %w", d.Round(time.Millisecond), reason, err)
	}
	return nil
}

// parseReset parses x-ratelimit-reset, a Unix time in seconds.
func parseReset(text string) (time.Time, bool) {
	seconds, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil || seconds <= 0 {
		return time.Time{}, false
	}
	return time.Unix(seconds, 0).UTC(), true
}

// parseRetryAfter parses Retry-After as seconds or as an HTTP date.
func parseRetryAfter(text string, now time.Time) (time.Duration, bool) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, false
	}
	if seconds, err := strconv.Atoi(text); err == nil && seconds >= 0 {
		return time.Duration(seconds) * time.Second, true
	}
	if at, err := http.ParseTime(text); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// isTimeout reports whether err is an attempt's deadline or a network
// timeout.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
}

// readBody returns a response body that send has buffered.
func readBody(resp *http.Response) []byte {
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

func closeBody(resp *http.Response) {
	if resp != nil {
		resp.Body.Close()
	}
}

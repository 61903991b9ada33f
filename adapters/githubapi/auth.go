package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ghillie/ghillie/ingest"
)

// appTokenRenewal is how long before its expiry an installation token is
// replaced. Tokens live one hour, so a cached token always has at least
// this long to finish a request, retries and rate-limit waits aside.
const appTokenRenewal = 5 * time.Minute

// GitHub rejects App JWTs issued in the future or valid for more than
// ten minutes; issuing a minute in the past absorbs clock drift.
const (
	jwtBackdate = 60 * time.Second
	jwtLifetime = 9 * time.Minute
)

// tokenSource supplies the bearer token of each request.
type tokenSource interface {
	token(ctx context.Context) (string, error)

	// renew discards stale, so the next token call returns a new one,
	// and reports whether a new token can differ from it.
	renew(stale string) bool
}

// staticToken is a token from the configuration, used as it is.
type staticToken string

func (t staticToken) token(context.Context) (string, error) { return string(t), nil }

func (staticToken) renew(string) bool { return false }

// appTokens mints GitHub App installation tokens and caches each one
// until it is close to its expiry. It is safe for concurrent use: one
// caller mints while the others wait for its token.
type appTokens struct {
	app     AppConfig
	url     string
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	renewal time.Duration

	mu        sync.Mutex
	current   string
	expiresAt time.Time
}

// mintError is a failed installation-token request. transient marks a
// network failure or a 5xx status, which the limiter retries.
type mintError struct {
	err       error
	transient bool
}

func (e *mintError) Error() string { return e.err.Error() }

func (e *mintError) Unwrap() error { return e.err }

func (a *appTokens) token(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()

	if a.current != "" && a.expiresAt.Sub(a.now()) > a.renewal {
		return a.current, nil
	}
	token, expiresAt, err := a.mint(ctx)
	if err != nil {
		return "", err
	}
	a.current, a.expiresAt = token, expiresAt
	a.log.LogAttrs(ctx, slog.LevelInfo, "github.app.token.minted",
		slog.Int64("app_id", a.app.AppID),
		slog.Int64("installation_id", a.app.InstallationID),
		slog.Time("expires_at", expiresAt))
	return token, nil
}

func (a *appTokens) renew(stale string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.current == stale {
		a.current = ""
	}
	return true
}

// mint creates an installation token, authenticating with a JWT signed
// by the App's private key.
func (a *appTokens) mint(ctx context.Context) (string, time.Time, error) {
	wrap := func(err error, transient bool) error {
		return &mintError{
			err: fmt.Errorf("create installation token for GitHub App %d, installation %d: %w",
				a.app.AppID, a.app.InstallationID, err),
			transient: transient,
		}
	}

	now := a.now()
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.app.AppID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.app.PrivateKey)
	if err != nil {
		return "", time.Time{}, wrap(fmt.Errorf("sign JWT: %w", err), false)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, nil)
	if err != nil {
		return "", time.Time{}, wrap(err, false)
	}
	req.Header.Set("Authorization", "Bearer "+signed)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", userAgent)
	resp, err := a.client.Do(req)
	if err != nil {
		return "", time.Time{}, wrap(err, ctx.Err() == nil)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", time.Time{}, wrap(fmt.Errorf("read response: %w", err), true)
	}

	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		apiErr := &ingest.APIError{Status: resp.StatusCode, Message: restMessage(body)}
		return "", time.Time{}, wrap(apiErr, resp.StatusCode >= 500)
	}
	var answer struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		shape := &ingest.ShapeError{Field: "access token response", Err: err}
		return "", time.Time{}, wrap(shape, false)
	}
	if answer.Token == "" {
		return "", time.Time{}, wrap(&ingest.ShapeError{Field: "token"}, false)
	}
	if answer.ExpiresAt.IsZero() {
		return "", time.Time{}, wrap(&ingest.ShapeError{Field: "expires_at"}, false)
	}
	return answer.Token, answer.ExpiresAt, nil
}

// authTransport sets the Authorization header. When GitHub rejects a
// token that is not yet due for renewal (revoked, or a clock that
// disagrees with GitHub's), it renews the token once and resends.
type authTransport struct {
	next   http.RoundTripper
	tokens tokenSource
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	token, err := t.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(authorize(req, req.Body, token))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.GetBody == nil || !t.tokens.renew(token) {
		return resp, nil
	}

	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	token, err = t.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("rewind request body: %w", err)
		}
	}
	exchangeFrom(ctx).requests++
	return t.next.RoundTrip(authorize(req, body, token))
}

// authorize returns a copy of req with body and the bearer token.
func authorize(req *http.Request, body io.ReadCloser, token string) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// restMessage returns the message of a REST error body, or the body
// itself, shortened, when it has none.
func restMessage(body []byte) string {
	var answer struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &answer) == nil && answer.Message != "" {
		return answer.Message
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return text
}

// isFinalMint reports whether err is a failed token mint that a retry
// cannot fix.
func isFinalMint(err error) bool {
	var m *mintError
	return errors.As(err, &m) && !m.transient
}

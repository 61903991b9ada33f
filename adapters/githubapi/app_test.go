package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

// fakeApp is a GitHub that mints installation tokens for App 12345,
// installation 678, and accepts only the newest token.
type fakeApp struct {
	t     *testing.T
	clock *fakeClock

	mu       sync.Mutex
	minted   int
	claims   []jwt.RegisteredClaims
	current  string
	revoked  map[string]bool
	mintFail int // status of failed mints; 0 mints
	used     []string
}

func newFakeApp(t *testing.T) *fakeApp {
	return &fakeApp{t: t, revoked: map[string]bool{}}
}

func (f *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/api/v3/app/installations/678/access_tokens" {
		f.mint(w, r)
		return
	}

	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.used = append(f.used, token)
	if token != f.current || f.revoked[token] {
		writeJSON(w, http.StatusUnauthorized, obj{"message": "Bad credentials"})
		return
	}
	writeJSON(w, http.StatusOK, commitAnswer())
}

func (f *fakeApp) mint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.t.Errorf("token request method %s, want POST", r.Method)
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), &claims,
		func(*jwt.Token) (any, error) { return &testKey().PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(f.clock.Now))
	if err != nil {
		f.t.Errorf("JWT invalid: %v", err)
		writeJSON(w, http.StatusUnauthorized, obj{"message": "A JSON web token could not be decoded"})
		return
	}
	f.claims = append(f.claims, claims)
	if f.mintFail != 0 {
		writeJSON(w, f.mintFail, obj{"message": "Integration not found"})
		return
	}
	f.minted++
	f.current = fmt.Sprintf("ghs_installation%d", f.minted)
	writeJSON(w, http.StatusCreated, obj{
		"token": f.current, "expires_at": f.clock.Now().Add(time.Hour).Format(time.RFC3339),
	})
}

func (f *fakeApp) Minted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.minted
}

func newAppHarness(t *testing.T, opts ...Option) (*harness, *fakeApp) {
	t.Helper()
	app := newFakeApp(t)
	server := newServer(t, app)
	cfg := Config{
		App:    &AppConfig{AppID: 12345, InstallationID: 678, PrivateKey: testKey()},
		APIURL: server.URL,
	}
	h := newHarnessFor(t, server, cfg, opts...)
	app.clock = h.clock
	return h, app
}

func TestAppMintsAndCachesToken(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)

	for range 3 {
		_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
		is.NoErr(err)
	}
	is.Equal(app.Minted(), 1)
	is.Equal(app.used, []string{"ghs_installation1", "ghs_installation1", "ghs_installation1"})

	claims := app.claims[0]
	is.Equal(claims.Issuer, "12345")
	is.True(claims.IssuedAt.Time.Equal(epoch.Add(-60 * time.Second)))
	is.True(claims.ExpiresAt.Time.Equal(epoch.Add(9 * time.Minute)))

	lines := h.logs.Lines(t)
	is.Equal(lines[0]["msg"], "github.app.token.minted")
	is.True(!strings.Contains(h.logs.String(), "ghs_installation"))
}

func TestAppRenewsTokenBeforeExpiry(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	h.clock.Advance(54 * time.Minute) // six minutes left: kept
	_, err = h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	is.Equal(app.Minted(), 1)

	h.clock.Advance(2 * time.Minute) // four minutes left: renewed
	_, err = h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	is.Equal(app.Minted(), 2)
	is.Equal(app.used[2], "ghs_installation2")
}

func TestAppRenewsOnceAfter401(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	app.mu.Lock()
	app.revoked["ghs_installation1"] = true
	app.mu.Unlock()

	files, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	is.Equal(files.Requests, 2)
	is.Equal(app.Minted(), 2)
	is.Equal(app.used, []string{"ghs_installation1", "ghs_installation1", "ghs_installation2"})

	app.mu.Lock()
	app.revoked["ghs_installation2"] = true
	app.revoked["ghs_installation3"] = true
	app.mu.Unlock()
	_, err = h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	var apiErr *ingest.APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Status, http.StatusUnauthorized)
	is.Equal(app.Minted(), 3) // one renewal per request, not a loop
}

func TestAppMintFailureIsFinal(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)
	app.mintFail = http.StatusNotFound

	_, err := h.client.Activity(context.Background(), pullsQuery())
	var apiErr *ingest.APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Status, http.StatusNotFound)
	is.True(strings.Contains(err.Error(), "GitHub App 12345, installation 678"))
	is.Equal(len(app.claims), 1)
	is.Equal(len(h.clock.Sleeps()), 0)
}

func TestAppMintServerErrorIsRetried(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)
	app.mintFail = http.StatusBadGateway
	h.client.limits.sleep = func(ctx context.Context, d time.Duration) error {
		app.mu.Lock()
		app.mintFail = 0
		app.mu.Unlock()
		return h.clock.Sleep(ctx, d)
	}

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	is.Equal(len(app.claims), 2)
	is.Equal(h.clock.Sleeps(), []time.Duration{time.Second})
}

func TestAppConcurrentCallsMintOnce(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	is.Equal(app.Minted(), 1)
}

func TestAppMintServerErrorsExhausted(t *testing.T) {
	is := is.New(t)
	h, app := newAppHarness(t)
	app.mintFail = http.StatusBadGateway

	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	var apiErr *ingest.APIError
	is.True(errors.As(err, &apiErr))
	is.Equal(apiErr.Status, http.StatusBadGateway)
	is.True(!errors.Is(err, ingest.ErrNetwork)) // GitHub answered
	is.Equal(len(h.clock.Sleeps()), DefaultRetries)
}

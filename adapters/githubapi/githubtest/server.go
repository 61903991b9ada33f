package githubtest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// DefaultToken is the token a server accepts when Options.Tokens is
// empty.
const DefaultToken = "ghp_githubtest"

// Options configures a Server. The zero value serves GitHub.com's
// limits without schema validation and accepts DefaultToken.
type Options struct {
	// Schema, when set, validates every GraphQL document against it, as
	// GitHub does. LoadSchema parses GitHub's published schema.
	Schema *ast.Schema

	// Tokens are the static tokens the server accepts. Empty means
	// DefaultToken only.
	Tokens []string

	// GraphQLLimit is the GraphQL budget in points per window; zero
	// means 5,000.
	GraphQLLimit int

	// RESTLimit is the REST budget in requests per window; zero means
	// 5,000.
	RESTLimit int

	// ResetInterval is how long a budget window lasts; zero means an
	// hour. A window ends on a whole second, like GitHub's reset times.
	ResetInterval time.Duration

	// RateLimitsOff serves no rate limit headers, charges nothing and
	// returns null for rateLimit, like GitHub Enterprise Server with
	// rate limiting disabled.
	RateLimitsOff bool

	// NullRateLimit returns null for the rateLimit field while the
	// budgets and headers still work.
	NullRateLimit bool

	// AppID and AppKey let POST /app/installations/{id}/access_tokens
	// mint installation tokens for JWTs signed by the App's private key.
	// Without AppKey the endpoint rejects every request.
	AppID  int64
	AppKey *rsa.PublicKey

	// TokenLifetime is how long a minted installation token lasts; zero
	// means an hour.
	TokenLifetime time.Duration
}

// Server is a fake GitHub serving GraphQL and a few REST endpoints from
// memory on 127.0.0.1. It is safe for concurrent use.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:PORT; GraphQL is at
	// URL+"/graphql" and URL+"/api/graphql", REST under URL and
	// URL+"/api/v3".
	URL string

	opts Options
	http *httptest.Server

	// dataMu guards repos; requests hold it for reading while they run.
	dataMu sync.RWMutex
	repos  map[string]*Repository

	// mu guards everything below.
	mu          sync.Mutex
	tokens      map[string]*tokenState
	budgets     map[string]*budget
	faults      []*InjectedFault
	log         []Request
	invalid     []GraphQLError
	unsupported []GraphQLError
	minted      int
}

type tokenState struct {
	installation int64
	expiresAt    time.Time // zero for a token that never expires
	requests     int
}

// Request is one request as the server logged it.
type Request struct {
	Time   time.Time
	Method string
	Path   string

	// Token is the credential sent, empty when none was.
	Token string

	// Query, Variables and OperationName are the GraphQL request, empty
	// for REST. Numbers in Variables are json.Number values.
	Query         string
	Variables     map[string]any
	OperationName string

	// Cost is the charge for the request: GraphQL points, or one for a
	// REST request.
	Cost int

	Status int

	// Fault is the injected fault that shaped the response, if any.
	Fault FaultKind
}

// Totals sums the request log.
type Totals struct {
	Requests int
	GraphQL  int
	REST     int

	// Points is the GraphQL cost charged in all.
	Points int

	ByStatus map[int]int
}

// NewServer starts a server on 127.0.0.1 serving the repositories. With
// a non-nil tb the server closes when the test ends; otherwise call
// Close.
func NewServer(tb testing.TB, opts Options, repos ...*Repository) *Server {
	if opts.GraphQLLimit == 0 {
		opts.GraphQLLimit = 5000
	}
	if opts.RESTLimit == 0 {
		opts.RESTLimit = 5000
	}
	if opts.ResetInterval == 0 {
		opts.ResetInterval = time.Hour
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	if len(opts.Tokens) == 0 {
		opts.Tokens = []string{DefaultToken}
	}

	s := &Server{
		opts:    opts,
		repos:   map[string]*Repository{},
		tokens:  map[string]*tokenState{},
		budgets: map[string]*budget{},
	}
	for _, t := range opts.Tokens {
		s.tokens[t] = &tokenState{}
	}
	for _, r := range repos {
		s.PutRepository(r)
	}

	// httptest.NewServer binds 127.0.0.1 and no other address.
	s.http = httptest.NewServer(s.routes())
	s.URL = s.http.URL
	if tb != nil {
		tb.Cleanup(s.Close)
	}
	return s
}

// Close stops the server, waiting for requests in flight.
func (s *Server) Close() {
	s.http.CloseClientConnections()
	s.http.Close()
}

// GraphQLURL returns the api.github.com-style GraphQL endpoint.
func (s *Server) GraphQLURL() string { return s.URL + "/graphql" }

// EnterpriseURL returns the GitHub Enterprise Server-style REST base,
// URL+"/api/v3"; GraphQL is then at URL+"/api/graphql".
func (s *Server) EnterpriseURL() string { return s.URL + "/api/v3" }

// PutRepository adds the repository, replacing one with the same owner
// and name. The server keeps r itself, so change it afterwards only
// inside Update.
func (s *Server) PutRepository(r *Repository) {
	s.dataMu.Lock()
	defer s.dataMu.Unlock()

	s.repos[repoKey(r.Owner, r.Name)] = r
}

// Update runs fn on a repository while no request reads it, for changes
// in the middle of a test. It returns an error naming the repository
// when there is none.
func (s *Server) Update(owner, name string, fn func(r *Repository)) error {
	s.dataMu.Lock()
	defer s.dataMu.Unlock()

	r, ok := s.repos[repoKey(owner, name)]
	if !ok {
		return fmt.Errorf("update repository %s/%s: not found", owner, name)
	}
	fn(r)
	return nil
}

// Repository returns a copy of a repository, or nil.
func (s *Server) Repository(owner, name string) *Repository {
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()

	r, ok := s.repos[repoKey(owner, name)]
	if !ok {
		return nil
	}
	return r.Clone()
}

// repoKey compares owners and names case-insensitively, like GitHub.
func repoKey(owner, name string) string {
	return strings.ToLower(owner) + "/" + strings.ToLower(name)
}

// AddToken registers a static token.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, ok := s.tokens[token]; !ok {
		s.tokens[token] = &tokenState{}
	}
}

// ExpireToken makes requests with the token get 401 from now on.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if t, ok := s.tokens[token]; ok {
		t.expiresAt = time.Now()
	}
}

// TokenRequests returns how many requests presented the token, rejected
// ones included.
func (s *Server) TokenRequests(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()

	if t, ok := s.tokens[token]; ok {
		return t.requests
	}
	return 0
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]Request(nil), s.log...)
}

// Totals sums the request log.
func (s *Server) Totals() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()

	t := Totals{ByStatus: map[int]int{}}
	for _, r := range s.log {
		t.Requests++
		if r.Query != "" || isGraphQLPath(r.Path) {
			t.GraphQL++
			t.Points += r.Cost
		} else {
			t.REST++
		}
		t.ByStatus[r.Status]++
	}
	return t
}

// ValidationErrors returns the errors of GraphQL documents the schema
// (or, without one, the executor) rejected as invalid, so a test can
// assert that a client sent only valid queries.
func (s *Server) ValidationErrors() []GraphQLError {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]GraphQLError(nil), s.invalid...)
}

// Unsupported returns the errors of valid GraphQL documents that used a
// field or argument the fake does not implement.
func (s *Server) Unsupported() []GraphQLError {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]GraphQLError(nil), s.unsupported...)
}

func isGraphQLPath(path string) bool {
	return path == "/graphql" || path == "/api/graphql"
}

// routes serves each endpoint under GitHub.com's and GitHub Enterprise
// Server's layouts.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql", s.serveGraphQL)
	mux.HandleFunc("POST /api/graphql", s.serveGraphQL)
	for _, prefix := range []string{"", "/api/v3"} {
		mux.HandleFunc("GET "+prefix+"/repos/{owner}/{repo}/commits/{sha}", s.serveCommit)
		mux.HandleFunc("GET "+prefix+"/repos/{owner}/{repo}/compare/{basehead}", s.serveCompare)
		mux.HandleFunc("POST "+prefix+"/app/installations/{id}/access_tokens", s.serveAccessToken)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeRateHeaders(w, resourceCore, s.peek(resourceCore))
		writeJSON(w, http.StatusNotFound, restError("Not Found", docsREST))
	})
	return s.logged(mux)
}

// Documentation links GitHub sends with REST errors.
const (
	docsREST       = "https://docs.github.com/rest"
	docsCommit     = "https://docs.github.com/rest/commits/commits#get-a-commit"
	docsCompare    = "https://docs.github.com/rest/commits/commits#compare-two-commits"
	docsRateLimits = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	docsSecondary  = docsRateLimits + "#about-secondary-rate-limits"
	docsAppTokens  = "https://docs.github.com/rest/apps/apps" +
		"#create-an-installation-access-token-for-an-app"
)

func restError(message, docs string) map[string]any {
	return map[string]any{"message": message, "documentation_url": docs}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

type logKey struct{}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logged records every request once its handler has responded. Handlers
// fill in the entry through entryOf.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entry := &Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path}
		sw := &statusWriter{ResponseWriter: w}

		next.ServeHTTP(sw, r.WithContext(withEntry(r.Context(), entry)))

		entry.Status = sw.status
		if entry.Status == 0 {
			entry.Status = http.StatusOK
		}
		s.mu.Lock()
		s.log = append(s.log, *entry)
		s.mu.Unlock()
	})
}

// authenticate checks the request's token and returns it, or responds 401
// and returns false. Every request that presents a token counts against
// it. The rate limit headers show the resource's budget, uncharged.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request,
	resource string) (string, bool) {
	token := bearer(r.Header.Get("Authorization"))
	entryOf(r.Context()).Token = token

	s.mu.Lock()
	state, ok := s.tokens[token]
	if ok {
		state.requests++
		if !state.expiresAt.IsZero() && !time.Now().Before(state.expiresAt) {
			ok = false
		}
	}
	s.mu.Unlock()

	if token == "" || !ok {
		s.writeRateHeaders(w, resource, s.peek(resource))
		writeJSON(w, http.StatusUnauthorized, restError("Bad credentials", docsREST))
		return token, false
	}
	return token, true
}

// principal names the account a token acts for in rate limit messages.
func (s *Server) principal(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()

	if t, ok := s.tokens[token]; ok && t.installation != 0 {
		return fmt.Sprintf("installation ID %d", t.installation)
	}
	return "user ID 1"
}

// bearer returns the credential of an Authorization header in either of
// the forms GitHub accepts, "Bearer T" and "token T".
func bearer(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return strings.TrimSpace(token)
	}
	return ""
}

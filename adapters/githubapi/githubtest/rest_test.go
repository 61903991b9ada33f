package githubtest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

func TestCommitFiles(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{}, fixture())

	a := send(t, http.MethodGet, s.URL+"/repos/Acme/widgets/commits/"+oid(6),
		githubtest.DefaultToken, nil)

	is.Equal(a.status, http.StatusOK)
	is.Equal(str(t, a.body, "sha"), oid(6))
	is.Equal(a.header.Get("Link"), "")
	files := list(t, a.body, "files")
	is.Equal(len(files), 1)
	is.Equal(str(t, files[0], "filename"), "docs/adr/0003-keyset.md")
	is.Equal(str(t, files[0], "status"), "renamed")
	is.Equal(str(t, files[0], "previous_filename"), "docs/adr/0003-draft.md")
	is.Equal(a.header.Get("X-Ratelimit-Resource"), "core")
	is.Equal(a.header.Get("X-Ratelimit-Remaining"), "4999")

	a = send(t, http.MethodGet, s.URL+"/repos/acme/widgets/commits/"+oid(9)[:7],
		githubtest.DefaultToken, nil)
	files = list(t, a.body, "files")
	is.Equal(str(t, files[1], "status"), "removed")
	is.Equal(num(t, files[1], "deletions"), 4)
	is.Equal(num(t, files[1], "changes"), 4)
	_, hasPrevious := files[1].(map[string]any)["previous_filename"]
	is.True(!hasPrevious)
}

func TestCommitFilesPaging(t *testing.T) {
	is := is.New(t)
	repo := fixture()
	var files []githubtest.ChangedFile
	for i := range 650 {
		files = append(files, githubtest.ChangedFile{Path: fmt.Sprintf("f%03d", i),
			ChangeType: "ADDED", Additions: 1})
	}
	repo.Commits[0].Files = files
	s := githubtest.NewServer(t, githubtest.Options{}, repo)
	url := s.URL + "/repos/acme/widgets/commits/" + oid(9)

	var names []string
	var links []string
	next := url
	for next != "" {
		a := send(t, http.MethodGet, next, githubtest.DefaultToken, nil)
		is.Equal(a.status, http.StatusOK)
		for _, f := range list(t, a.body, "files") {
			names = append(names, str(t, f, "filename"))
		}
		links = append(links, a.header.Get("Link"))
		next = ""
		for part := range strings.SplitSeq(a.header.Get("Link"), ", ") {
			if target, ok := strings.CutSuffix(part, `>; rel="next"`); ok {
				next = strings.TrimPrefix(target, "<")
			}
		}
	}

	is.Equal(len(names), 650)
	is.Equal(names[649], "f649")
	is.Equal(len(links), 3)
	is.Equal(links[0], fmt.Sprintf(`<%s?page=2>; rel="next", <%s?page=3>; rel="last"`, url, url))
	is.Equal(links[2], fmt.Sprintf(`<%s?page=2>; rel="prev", <%s?page=1>; rel="first"`, url, url))
}

func TestCommitErrors(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		status  int
		message string
	}{
		{"unknown repository", "/repos/acme/gadgets/commits/" + oid(1), http.StatusNotFound,
			"Not Found"},
		{"unknown commit", "/repos/acme/widgets/commits/deadbeef", http.StatusUnprocessableEntity,
			"No commit found for SHA: deadbeef"},
		{"unknown path", "/repos/acme/widgets/pulls", http.StatusNotFound, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := githubtest.NewServer(t, githubtest.Options{}, fixture())

			a := send(t, http.MethodGet, s.URL+tt.path, githubtest.DefaultToken, nil)

			is.Equal(a.status, tt.status)
			is.Equal(a.body["message"], tt.message)
			docs := a.body["documentation_url"].(string)
			is.True(strings.HasPrefix(docs, "https://docs.github.com/"))
		})
	}
}

func TestRESTRateLimit(t *testing.T) {
	is := is.New(t)
	s := githubtest.NewServer(t, githubtest.Options{RESTLimit: 2, ResetInterval: time.Second},
		fixture())
	url := s.URL + "/repos/acme/widgets/commits/" + oid(1)

	for want := 1; want >= 0; want-- {
		a := send(t, http.MethodGet, url, githubtest.DefaultToken, nil)
		is.Equal(a.status, http.StatusOK)
		is.Equal(a.header.Get("X-Ratelimit-Remaining"), strconv.Itoa(want))
	}

	a := send(t, http.MethodGet, url, githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusForbidden)
	is.Equal(a.body["message"], "API rate limit exceeded for user ID 1.")
	is.Equal(a.header.Get("X-Ratelimit-Remaining"), "0")
	is.Equal(a.header.Get("X-Ratelimit-Used"), "2")
	is.Equal(a.header.Get("X-Ratelimit-Resource"), "core")

	// GraphQL keeps its own budget.
	g := graphql(t, s.GraphQLURL(), `{ rateLimit { remaining } }`, nil)
	is.Equal(num(t, g.body, "data", "rateLimit", "remaining"), 4999)

	reset, err := strconv.ParseInt(a.header.Get("X-Ratelimit-Reset"), 10, 64)
	is.NoErr(err)
	time.Sleep(time.Until(time.Unix(reset, 0)))
	a = send(t, http.MethodGet, url, githubtest.DefaultToken, nil)
	is.Equal(a.status, http.StatusOK)
}

// appJWT signs an App JWT the way GitHub's documentation describes.
func appJWT(t *testing.T, key *rsa.PrivateKey, iss any, exp time.Duration) string {
	t.Helper()

	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(exp).Unix(),
		"iss": iss,
	})
	signed, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestAppTokens(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("rejected", func(t *testing.T) {
		tests := []struct {
			name string
			jwt  string
		}{
			{"none", ""},
			{"garbage", "not.a.jwt"},
			{"other key", appJWT(t, other, 42, 5*time.Minute)},
			{"other app", appJWT(t, key, 43, 5*time.Minute)},
			{"expired", appJWT(t, key, 42, -time.Minute)},
			{"too long", appJWT(t, key, 42, 20*time.Minute)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				s := githubtest.NewServer(t, githubtest.Options{AppID: 42, AppKey: &key.PublicKey})

				a := send(t, http.MethodPost, s.URL+"/app/installations/7/access_tokens",
					tt.jwt, nil)

				is.Equal(a.status, http.StatusUnauthorized)
				is.True(a.body["message"] != "")
				is.Equal(s.MintedTokens(), 0)
			})
		}
	})

	t.Run("minted and expired", func(t *testing.T) {
		is := is.New(t)
		s := githubtest.NewServer(t, githubtest.Options{
			AppID: 42, AppKey: &key.PublicKey, TokenLifetime: time.Second,
		}, fixture())

		for _, iss := range []any{42, "42"} {
			a := send(t, http.MethodPost, s.EnterpriseURL()+"/app/installations/7/access_tokens",
				appJWT(t, key, iss, 10*time.Minute), nil)
			is.Equal(a.status, http.StatusCreated)
			is.True(strings.HasPrefix(str(t, a.body, "token"), "ghs_"))
		}
		a := send(t, http.MethodPost, s.URL+"/app/installations/7/access_tokens",
			appJWT(t, key, 42, time.Minute), nil)
		token := str(t, a.body, "token")
		expires, err := time.Parse(time.RFC3339, str(t, a.body, "expires_at"))
		is.NoErr(err)
		is.True(time.Until(expires) <= time.Second)
		is.Equal(s.MintedTokens(), 3)

		g := graphqlAs(t, s.GraphQLURL(), token, `{ rateLimit { cost } }`, nil)
		is.Equal(g.status, http.StatusOK)
		s.SpendGraphQL(5000)
		g = graphqlAs(t, s.GraphQLURL(), token, `{ rateLimit { cost } }`, nil)
		is.Equal(firstError(t, g)["message"],
			"API rate limit already exceeded for installation ID 7.")

		time.Sleep(time.Until(expires.Add(time.Second)))
		g = graphqlAs(t, s.GraphQLURL(), token, `{ rateLimit { cost } }`, nil)
		is.Equal(g.status, http.StatusUnauthorized)
		is.Equal(g.body["message"], "Bad credentials")
		is.Equal(s.TokenRequests(token), 3)
	})
}

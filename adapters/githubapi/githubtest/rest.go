package githubtest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// CommitFilesPerPage is how many files GitHub lists per page of a commit.
const CommitFilesPerPage = 300

// serveCommit serves GET /repos/{owner}/{repo}/commits/{sha} with the
// commit and one page of its files.
func (s *Server) serveCommit(w http.ResponseWriter, r *http.Request) {
	if !s.admitREST(w, r) {
		return
	}
	page := queryInt(r, "page", 1)

	s.dataMu.RLock()
	defer s.dataMu.RUnlock()

	repo, ok := s.repos[repoKey(r.PathValue("owner"), r.PathValue("repo"))]
	if !ok {
		writeJSON(w, http.StatusNotFound, restError("Not Found", docsCommit))
		return
	}
	sha := r.PathValue("sha")
	c := findCommit(repo, sha)
	if c == nil {
		body := restError("No commit found for SHA: "+sha, docsCommit)
		writeJSON(w, http.StatusUnprocessableEntity, body)
		return
	}

	pages := max((len(c.Files)+CommitFilesPerPage-1)/CommitFilesPerPage, 1)
	if link := pageLinks(r, page, pages); link != "" {
		w.Header().Set("Link", link)
	}
	lo := min((page-1)*CommitFilesPerPage, len(c.Files))
	hi := min(lo+CommitFilesPerPage, len(c.Files))
	writeJSON(w, http.StatusOK, commitJSON(repo, c, c.Files[lo:hi]))
}

// admitREST authenticates a REST request, applies a fault meant for it
// and charges it to the REST budget. It reports whether the handler
// should go on; when not, it has responded.
func (s *Server) admitREST(w http.ResponseWriter, r *http.Request) bool {
	token, ok := s.authenticate(w, r, resourceCore)
	if !ok {
		return false
	}
	if f := s.takeFault(requestTraits{api: RESTAPI}); f != nil {
		if s.applyFault(w, r, f, token, resourceCore) {
			return false
		}
	}
	if !s.opts.RateLimitsOff {
		rl, ok := s.charge(resourceCore, 1)
		if !ok {
			s.writeRateHeaders(w, resourceCore, rl)
			writeJSON(w, http.StatusForbidden, restRateLimited(s.principal(token)))
			return false
		}
		entryOf(r.Context()).Cost = 1
		s.writeRateHeaders(w, resourceCore, rl)
	}
	return true
}

// queryInt reads a positive integer query parameter, or def when it is
// absent or not one.
func queryInt(r *http.Request, name string, def int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// findCommit looks a commit up by full or abbreviated (7 or more
// characters) oid, or by branch name for the branch's head.
func findCommit(repo *Repository, sha string) *Commit {
	if commits, ok := repo.branch(sha); ok && len(commits) > 0 {
		return &commits[0]
	}
	histories := [][]Commit{repo.Commits}
	for _, commits := range repo.Branches {
		histories = append(histories, commits)
	}
	for _, commits := range histories {
		for i := range commits {
			oid := commits[i].OID
			if oid == sha || len(sha) >= 7 && strings.HasPrefix(oid, strings.ToLower(sha)) {
				return &commits[i]
			}
		}
	}
	return nil
}

// pageLinks builds GitHub's Link header for a paged response. The links
// repeat the request's own path, where GitHub links a
// /repositories/{id} form of it.
func pageLinks(r *http.Request, page, pages int) string {
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}

	var parts []string
	if page > 1 {
		parts = append(parts, link(min(page-1, pages), "prev"))
	}
	if page < pages {
		parts = append(parts, link(page+1, "next"), link(pages, "last"))
	}
	if page > 1 {
		parts = append(parts, link(1, "first"))
	}
	return strings.Join(parts, ", ")
}

// restStatus maps GraphQL's PatchStatus to the REST API's file status.
var restStatus = map[string]string{
	"ADDED":    "added",
	"MODIFIED": "modified",
	"DELETED":  "removed",
	"RENAMED":  "renamed",
	"COPIED":   "copied",
	"CHANGED":  "changed",
}

func commitJSON(repo *Repository, c *Commit, files []ChangedFile) map[string]any {
	fileList := make([]map[string]any, 0, len(files))
	for _, f := range files {
		status, ok := restStatus[f.ChangeType]
		if !ok {
			status = strings.ToLower(f.ChangeType)
		}
		entry := map[string]any{
			"filename":  f.Path,
			"status":    status,
			"additions": f.Additions,
			"deletions": f.Deletions,
			"changes":   f.Additions + f.Deletions,
		}
		if f.PreviousPath != "" {
			entry["previous_filename"] = f.PreviousPath
		}
		fileList = append(fileList, entry)
	}

	out := commitSummaryJSON(repo, c, c.Parents)
	out["stats"] = map[string]any{
		"additions": c.Additions, "deletions": c.Deletions,
		"total": c.Additions + c.Deletions,
	}
	out["files"] = fileList
	return out
}

// commitSummaryJSON is a commit as REST lists it: its sha, git data,
// linked GitHub account and parents. The committer is the author, at
// the commit's CommittedDate.
func commitSummaryJSON(repo *Repository, c *Commit, parentOIDs []string) map[string]any {
	parents := make([]map[string]any, 0, len(parentOIDs))
	for _, p := range parentOIDs {
		parents = append(parents, map[string]any{"sha": p})
	}
	person := func(at time.Time) map[string]any {
		return map[string]any{
			"name": c.Author.Name, "email": c.Author.Email,
			"date": at.UTC().Format(time.RFC3339),
		}
	}
	var author any
	if c.Author.Login != "" {
		typ := "User"
		if strings.HasSuffix(c.Author.Login, "[bot]") {
			typ = "Bot"
		}
		author = map[string]any{"login": c.Author.Login, "type": typ}
	}
	return map[string]any{
		"sha":      c.OID,
		"html_url": webURL + "/" + repo.NameWithOwner() + "/commit/" + c.OID,
		"commit": map[string]any{
			"author":    person(c.AuthoredDate),
			"committer": person(c.CommittedDate),
			"message":   c.Message(),
		},
		"author":  author,
		"parents": parents,
	}
}

// maxJWTLifetime is how far ahead GitHub accepts an App JWT's exp.
const maxJWTLifetime = 10 * time.Minute

// serveAccessToken serves POST /app/installations/{id}/access_tokens:
// for a JWT the App's key signed, it mints an installation token.
func (s *Server) serveAccessToken(w http.ResponseWriter, r *http.Request) {
	raw := bearer(r.Header.Get("Authorization"))
	entryOf(r.Context()).Token = raw
	installation, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusNotFound, restError("Not Found", docsAppTokens))
		return
	}
	if msg := s.checkAppJWT(raw); msg != "" {
		writeJSON(w, http.StatusUnauthorized, restError(msg, docsREST))
		return
	}

	token := "ghs_" + randomToken(36)
	expires := time.Now().Add(s.opts.TokenLifetime)
	s.mu.Lock()
	s.tokens[token] = &tokenState{installation: installation, expiresAt: expires}
	s.minted++
	s.mu.Unlock()

	writeJSON(w, http.StatusCreated, map[string]any{
		"token":      token,
		"expires_at": expires.UTC().Format(time.RFC3339),
		"permissions": map[string]string{
			"contents": "read", "issues": "read", "metadata": "read", "pull_requests": "read",
		},
		"repository_selection": "all",
	})
}

// checkAppJWT verifies an App JWT as GitHub does: RS256 by the App's
// key, iss the App id, exp present and at most ten minutes ahead. It
// returns GitHub's message for a JWT it rejects, or "".
func (s *Server) checkAppJWT(raw string) string {
	const undecodable = "A JSON web token could not be decoded"
	if s.opts.AppKey == nil || raw == "" {
		return undecodable
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims,
		func(*jwt.Token) (any, error) { return s.opts.AppKey, nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithJSONNumber())
	if err != nil {
		return fmt.Sprintf("%s: %v", undecodable, err)
	}

	exp, err := claims.GetExpirationTime()
	if err != nil || exp.After(time.Now().Add(maxJWTLifetime+time.Second)) {
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	var iss string
	switch v := claims["iss"].(type) {
	case json.Number:
		iss = v.String()
	case string:
		iss = v
	}
	if iss != strconv.FormatInt(s.opts.AppID, 10) {
		return "'Issuer' claim ('iss') must be the App's id"
	}
	return ""
}

// MintedTokens returns how many installation tokens the server minted.
func (s *Server) MintedTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.minted
}

func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

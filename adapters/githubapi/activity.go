package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ghillie/ghillie/ingest"
)

// Stream names of ingest.PartialError.
const (
	streamCommit      = "commit"
	streamPullRequest = "pull_request"
	streamIssue       = "issue"
	streamDocChange   = "doc_change"
)

// Activity reads one page of each stream q requests in one GraphQL
// request. After a 502, a 504 or a timeout it retries with every page
// size halved, down to 10, so a page may contain fewer items than
// requested. The cursors stay valid for the next page. Errors GitHub
// reports for one connection become Activity.Errors and leave that
// stream nil. Cost.Requests counts the HTTP requests, retries included
// but installation-token requests excluded. A repository GitHub does
// not show returns an error wrapping ingest.ErrNotFound. Other rejections return an
// *ingest.APIError, and a response without a required field returns an
// *ingest.ShapeError.
func (c *Client) Activity(ctx context.Context, q ingest.ActivityQuery) (*ingest.Activity, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("GitHub activity query: %w", err)
	}

	sizes := initialSizes(q)
	requests := 0
	for attempt := 1; ; attempt++ {
		built := buildActivityQuery(q, sizes)
		ex := &exchange{graphQL: true, shrinkable: true}
		err := c.graphQL.Query(withExchange(ctx, ex), built.value.Interface(), built.variables)
		requests += ex.requests

		if ex.transient && ctx.Err() == nil {
			if attempt > c.retries {
				return nil, fmt.Errorf("GitHub activity of %s/%s, retried %d times with "+
					"smaller pages: %w", q.Owner, q.Name, c.retries, transientError(ex, err))
			}
			sizes = sizes.halved()
			if err := c.shrinkWait(ctx, ex, attempt, sizes); err != nil {
				return nil, err
			}
			continue
		}

		activity, err := readActivity(q, built, ex, err)
		if err != nil {
			return nil, fmt.Errorf("GitHub activity of %s/%s: %w", q.Owner, q.Name, err)
		}
		activity.Cost.Requests = requests
		return activity, nil
	}
}

// shrinkWait logs and waits before a retry with smaller pages.
func (c *Client) shrinkWait(ctx context.Context, ex *exchange, attempt int, next pageSizes) error {
	reason, status := "timeout", 0
	if ex.status == http.StatusBadGateway || ex.status == http.StatusGatewayTimeout {
		reason, status = "status", ex.status
	}
	v := c.limits.backoff(reason, transientBackoff, attempt)
	return c.limits.wait(ctx, v.wait, eventRetryWait, reason, time.Time{}, status, attempt,
		slog.Int("commits_first", next.commits),
		slog.Int("pull_requests_first", next.pullRequests),
		slog.Int("issues_first", next.issues),
		slog.Any("docs_first", next.docs))
}

// transientError describes a 502, 504 or timeout that used up the
// retries. A timeout wraps ingest.ErrNetwork.
func transientError(ex *exchange, err error) error {
	if ex.status == http.StatusBadGateway || ex.status == http.StatusGatewayTimeout {
		return &ingest.APIError{Status: ex.status, Message: restMessage(ex.body)}
	}
	return fmt.Errorf("%w: %w", ingest.ErrNetwork, err)
}

// graphQLError is one entry of a GraphQL answer's errors.
type graphQLError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// dotted joins an error path with dots, as ingest.PartialError.Path.
func (e graphQLError) dotted() string {
	parts := make([]string, len(e.Path))
	for i, p := range e.Path {
		switch v := p.(type) {
		case string:
			parts[i] = v
		case float64:
			parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, ".")
}

// connection returns the stream and the dotted path of the connection
// the error belongs to, or empty strings when it belongs to none.
func (e graphQLError) connection() (stream, path string) {
	at := func(i int) string {
		if i < len(e.Path) {
			s, _ := e.Path[i].(string)
			return s
		}
		return ""
	}
	if at(0) != "repository" {
		return "", ""
	}
	join := func(n int) string {
		parts := make([]string, n)
		for i := range n {
			parts[i] = at(i)
		}
		return strings.Join(parts, ".")
	}
	switch at(1) {
	case "pullRequests":
		return streamPullRequest, join(2)
	case "issues":
		return streamIssue, join(2)
	case "ref", "defaultBranchRef":
		if at(2) != "target" {
			return "", ""
		}
		if at(3) == "history" {
			return streamCommit, join(4)
		}
		if strings.HasPrefix(at(3), "doc") && at(3) != "doc" {
			return streamDocChange, join(4)
		}
	}
	return "", ""
}

// readActivity turns what the request produced into an Activity.
func readActivity(q ingest.ActivityQuery, built activityQuery, ex *exchange, queryErr error,
) (*ingest.Activity, error) {
	if ex.err != nil {
		return nil, ex.err
	}
	if ex.status == 0 {
		return nil, queryErr
	}
	if ex.status != http.StatusOK {
		return nil, &ingest.APIError{Status: ex.status, Message: restMessage(ex.body)}
	}

	var envelope struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(ex.body, &envelope); err != nil {
		return nil, &ingest.ShapeError{Field: "response", Err: err}
	}
	if queryErr != nil && !isGraphQLErrors(queryErr) {
		return nil, &ingest.ShapeError{Field: "data", Err: queryErr}
	}

	rejected := map[string]bool{}
	var partial []ingest.PartialError
	var other []graphQLError
	for _, e := range envelope.Errors {
		if e.Type == "NOT_FOUND" && len(e.Path) == 1 && e.Path[0] == "repository" {
			return nil, fmt.Errorf("%w: %s", ingest.ErrNotFound, e.Message)
		}
		stream, conn := e.connection()
		if stream == "" {
			other = append(other, e)
			continue
		}
		rejected[conn] = true
		partial = append(partial, ingest.PartialError{
			Stream: stream, Path: e.dotted(), Type: e.Type, Message: e.Message,
		})
	}
	if len(other) > 0 {
		return nil, &ingest.APIError{Type: other[0].Type, Message: other[0].Message}
	}

	data := built.value.Elem()
	repo := data.FieldByName(fieldRepository)
	if repo.IsNil() {
		if len(envelope.Errors) > 0 {
			first := envelope.Errors[0]
			return nil, &ingest.APIError{Type: first.Type, Message: first.Message}
		}
		if len(envelope.Data) == 0 || string(envelope.Data) == "null" {
			return nil, &ingest.ShapeError{Field: "data", Err: errMissing}
		}
		return nil, fmt.Errorf("%w: repository is null", ingest.ErrNotFound)
	}

	m := activityMapper{rejected: rejected}
	limit := data.FieldByName(fieldRateLimit).Interface().(*rateLimitNode)
	activity := m.activity(q, repo.Elem(), limit)
	if m.read.err != nil {
		return nil, m.read.err
	}
	activity.Errors = partial
	return activity, nil
}

// isGraphQLErrors reports whether err is the errors list githubv4
// returns after decoding the data, rather than a decoding failure.
//
// NOTE: shurcooL/graphql returns its errors as an unexported slice type
// and decoding failures as other errors, so the kind distinguishes them.
func isGraphQLErrors(err error) bool {
	return reflect.TypeOf(err).Kind() == reflect.Slice
}

// activityMapper maps the decoded response to the port's types.
type activityMapper struct {
	read     fieldReader
	rejected map[string]bool
}

func (m *activityMapper) activity(q ingest.ActivityQuery, repo reflect.Value, limit *rateLimitNode,
) *ingest.Activity {
	a := &ingest.Activity{}

	defaultBranch := repo.FieldByName(fieldDefaultBranch)
	if !defaultBranch.IsNil() {
		name := defaultBranch.Elem().FieldByName(fieldName).Interface().(field)
		a.DefaultBranch = m.read.str("repository.defaultBranchRef.name", name)
	}

	branch, branchPath := defaultBranch, "repository.defaultBranchRef"
	if q.Branch != "" {
		branch, branchPath = repo.FieldByName(fieldRef), "repository.ref"
	}
	a.BranchFound = !branch.IsNil()
	if a.BranchFound && historyStreams(q) {
		m.histories(q, a, branch.Elem().FieldByName(fieldTarget), branchPath+".target")
	}

	if q.PullRequests != nil {
		conn := repo.FieldByName(fieldPullRequests).Interface().(*pullRequestConnection)
		a.PullRequests = m.pullRequests(conn, "repository.pullRequests")
	}
	if q.Issues != nil {
		conn := repo.FieldByName(fieldIssues).Interface().(*issueConnection)
		a.Issues = m.issues(conn, "repository.issues")
	}

	a.Cost = m.cost(limit)
	return a
}

// histories maps the oid and the commit and documentation histories of
// the branch's target commit.
func (m *activityMapper) histories(q ingest.ActivityQuery, a *ingest.Activity, target reflect.Value,
	path string,
) {
	if target.IsNil() {
		m.read.fail(path, errNull)
		return
	}
	commit := target.Elem().FieldByName(fieldCommit)
	a.HeadOID = m.read.str(path+".oid", commit.FieldByName(fieldOID).Interface().(field))
	if q.Commits != nil {
		conn := commit.FieldByName(fieldCommits).Interface().(*historyConnection)
		a.Commits = m.history(conn, path+".history")
	}
	a.Docs = make([]*ingest.CommitPage, len(q.Docs))
	for i := range q.Docs {
		name, alias := docField(i)
		conn := commit.FieldByName(name).Interface().(*historyConnection)
		a.Docs[i] = m.history(conn, path+"."+alias)
	}
}

// present reports whether a connection can be mapped. A null connection
// that GitHub reported an error for leaves its page nil, and any other
// null connection is a shape problem.
func (m *activityMapper) present(isNil bool, path string) bool {
	if !isNil {
		return true
	}
	if !m.rejected[path] {
		m.read.fail(path, errNull)
	}
	return false
}

func (m *activityMapper) history(conn *historyConnection, path string) *ingest.CommitPage {
	if !m.present(conn == nil, path) {
		return nil
	}
	page := &ingest.CommitPage{Commits: []ingest.Commit{}}
	if conn.Edges == nil {
		m.read.fail(path+".edges", errNull)
	}
	r := &m.read
	for i, e := range conn.Edges {
		at := fmt.Sprintf("%s.edges.%d", path, i)
		if e.Node == nil {
			continue
		}
		n, node := e.Node, at+".node"
		c := ingest.Commit{
			Cursor:        r.str(at+".cursor", e.Cursor),
			OID:           r.str(node+".oid", n.OID),
			Message:       r.str(node+".message", n.Message),
			AuthoredDate:  r.time(node+".authoredDate", n.AuthoredDate),
			CommittedDate: r.time(node+".committedDate", n.CommittedDate),
		}
		if n.Author != nil {
			c.Author = &ingest.GitActor{
				Name:  r.optStr(node+".author.name", n.Author.Name),
				Email: r.optStr(node+".author.email", n.Author.Email),
			}
			if n.Author.User != nil {
				c.Author.Login = r.str(node+".author.user.login", n.Author.User.Login)
			}
		}
		page.Commits = append(page.Commits, c)
	}
	page.PageInfo = m.pageInfo(conn.PageInfo, path+".pageInfo")
	return page
}

func (m *activityMapper) pullRequests(conn *pullRequestConnection, path string,
) *ingest.PullRequestPage {
	if !m.present(conn == nil, path) {
		return nil
	}
	page := &ingest.PullRequestPage{PullRequests: []ingest.PullRequest{}}
	if conn.Edges == nil {
		m.read.fail(path+".edges", errNull)
	}
	r := &m.read
	for i, e := range conn.Edges {
		at := fmt.Sprintf("%s.edges.%d", path, i)
		if e.Node == nil {
			continue
		}
		n, node := e.Node, at+".node"
		page.PullRequests = append(page.PullRequests, ingest.PullRequest{
			Cursor:      r.str(at+".cursor", e.Cursor),
			DatabaseID:  r.bigInt(node+".fullDatabaseId", n.FullDatabaseID),
			Number:      int(r.integer(node+".number", n.Number)),
			Title:       r.str(node+".title", n.Title),
			State:       r.str(node+".state", n.State),
			IsDraft:     r.boolean(node+".isDraft", n.IsDraft),
			CreatedAt:   r.time(node+".createdAt", n.CreatedAt),
			UpdatedAt:   r.time(node+".updatedAt", n.UpdatedAt),
			MergedAt:    r.optTime(node+".mergedAt", n.MergedAt),
			ClosedAt:    r.optTime(node+".closedAt", n.ClosedAt),
			BaseRefName: r.str(node+".baseRefName", n.BaseRefName),
			HeadRefName: r.str(node+".headRefName", n.HeadRefName),
			Author:      m.actor(n.Author, node+".author"),
			Labels:      m.labels(n.Labels, node+".labels"),
		})
	}
	page.PageInfo = m.pageInfo(conn.PageInfo, path+".pageInfo")
	return page
}

func (m *activityMapper) issues(conn *issueConnection, path string) *ingest.IssuePage {
	if !m.present(conn == nil, path) {
		return nil
	}
	page := &ingest.IssuePage{Issues: []ingest.Issue{}}
	if conn.Edges == nil {
		m.read.fail(path+".edges", errNull)
	}
	r := &m.read
	for i, e := range conn.Edges {
		at := fmt.Sprintf("%s.edges.%d", path, i)
		if e.Node == nil {
			continue
		}
		n, node := e.Node, at+".node"
		page.Issues = append(page.Issues, ingest.Issue{
			Cursor:     r.str(at+".cursor", e.Cursor),
			DatabaseID: r.bigInt(node+".fullDatabaseId", n.FullDatabaseID),
			Number:     int(r.integer(node+".number", n.Number)),
			Title:      r.str(node+".title", n.Title),
			State:      r.str(node+".state", n.State),
			CreatedAt:  r.time(node+".createdAt", n.CreatedAt),
			UpdatedAt:  r.time(node+".updatedAt", n.UpdatedAt),
			ClosedAt:   r.optTime(node+".closedAt", n.ClosedAt),
			Author:     m.actor(n.Author, node+".author"),
			Labels:     m.labels(n.Labels, node+".labels"),
		})
	}
	page.PageInfo = m.pageInfo(conn.PageInfo, path+".pageInfo")
	return page
}

// actor maps a pull request or issue author; nil stands for a deleted
// account.
func (m *activityMapper) actor(n *actorNode, path string) *ingest.Actor {
	if n == nil {
		return nil
	}
	return &ingest.Actor{
		Login: m.read.str(path+".login", n.Login),
		Type:  m.read.str(path+".__typename", n.Typename),
	}
}

// labels maps label names, skipping null labels.
func (m *activityMapper) labels(n *labelsConnection, path string) []string {
	if n == nil {
		return nil
	}
	names := []string{}
	for i, l := range n.Nodes {
		if l != nil {
			names = append(names, m.read.str(fmt.Sprintf("%s.nodes.%d.name", path, i), l.Name))
		}
	}
	return names
}

func (m *activityMapper) pageInfo(n *pageInfoNode, path string) ingest.PageInfo {
	if n == nil {
		m.read.fail(path, errNull)
		return ingest.PageInfo{}
	}
	info := ingest.PageInfo{
		HasNextPage: m.read.boolean(path+".hasNextPage", n.HasNextPage),
		EndCursor:   m.read.optStr(path+".endCursor", n.EndCursor),
	}
	if info.HasNextPage && info.EndCursor == "" {
		m.read.fail(path+".endCursor", errors.New("null although hasNextPage is true"))
	}
	return info
}

// cost reads rateLimit, which is null when GitHub Enterprise Server has
// rate limits off; Remaining is then -1.
func (m *activityMapper) cost(n *rateLimitNode) ingest.Cost {
	if n == nil {
		return ingest.Cost{Remaining: -1}
	}
	return ingest.Cost{
		Points:    int(m.read.integer("rateLimit.cost", n.Cost)),
		Remaining: int(m.read.integer("rateLimit.remaining", n.Remaining)),
		ResetAt:   m.read.time("rateLimit.resetAt", n.ResetAt),
	}
}

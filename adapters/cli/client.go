package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ghillie/ghillie/adapters/httpapi"
)

// maxErrorBody bounds the error body read from the server.
const maxErrorBody = 64 << 10

// apiClient calls the Ghillie HTTP API in remote mode.
type apiClient struct {
	base    *url.URL
	source  string // the flag, variable or file of base, for errors
	token   string
	timeout time.Duration
	http    *http.Client
	log     *slog.Logger
}

func newAPIClient(base *url.URL, source, token string, timeout time.Duration,
	logger *slog.Logger) *apiClient {
	return &apiClient{base: base, source: source, token: token, timeout: timeout,
		http: &http.Client{}, log: logger}
}

// remoteError is a failed API call: the server could not be reached, did
// not respond in time, or returned an error. It exits with ExitRunFailed.
type remoteError struct {
	msg    string
	status int // 0 when no response arrived
	err    error

	// notFound is set when the server returned that the subject of the
	// request does not exist, as opposed to a path that no route
	// matches, which a wrong base URL gives.
	notFound bool

	// conflict is set when the server rejected the request for the
	// subject's state, such as a repository whose ingestion is disabled
	// or a review resolved already, which fail the same way locally.
	conflict bool
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// serverError is the JSON error body of the API.
type serverError struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Field       string `json:"field"`
	Issues      []struct {
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"issues"`
}

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	accept       string
}

// endpoint returns the URL of path below the base URL, without
// credentials, which the base URL never has. The path is escaped already
// (see pathEscape), so it goes into the URL as it is: setting only
// url.URL.Path would escape the escapes, and send the key "a b" as
// "a%2520b".
func (c *apiClient) endpoint(path string, query url.Values) string {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	if unescaped, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = unescaped
	} else {
		u.Path = c.base.Path + path
		u.RawPath = ""
	}
	u.RawQuery = query.Encode()
	return u.String()
}

// do sends the request and calls read with the body of a 2xx response.
// Other responses become a remoteError with the server's title and
// description.
func (c *apiClient) do(ctx context.Context, req request, read func(*http.Response) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	target := c.endpoint(req.path, req.query)
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return fmt.Errorf("build request %s %s: %w", req.method, target, err)
	}
	hr.Header.Set("User-Agent", "ghillie/"+Version)
	hr.Header.Set("Accept", "application/json")
	if req.accept != "" {
		hr.Header.Set("Accept", req.accept)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}

	start := time.Now()
	resp, err := c.http.Do(hr)
	if err != nil {
		return c.transportError(ctx, req.method, target, err)
	}
	defer resp.Body.Close()
	c.log.Debug("api.request.completed", "method", req.method, "url", target,
		"status", resp.StatusCode, "duration_ms", time.Since(start).Milliseconds())

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(req.method, target, resp)
	}
	if err := read(resp); err != nil {
		if ctx.Err() != nil {
			return c.transportError(ctx, req.method, target, err)
		}
		return err
	}
	return nil
}

func (c *apiClient) transportError(ctx context.Context, method, target string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &remoteError{err: err, msg: fmt.Sprintf("%s %s timed out after %s: "+
			"raise --request-timeout or GHILLIE_REQUEST_TIMEOUT_S, or check the server",
			method, target, c.timeout)}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // the URL is in the message already
	}
	return &remoteError{err: err, msg: fmt.Sprintf("%s %s failed: %v: check that the server "+
		"runs and that the API base URL from %s is right", method, target, err, c.source)}
}

// statusError turns an error response into a remoteError with the
// server's title, description and field.
func (c *apiClient) statusError(method, target string, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body serverError
	message := ""
	fromGhillie := json.Unmarshal(data, &body) == nil && (body.Title != "" || body.Description != "")
	if fromGhillie {
		message = body.Title
		if body.Description != "" {
			message += ": " + body.Description
		}
		if body.Field != "" {
			message += " (field " + body.Field + ")"
		}
		for _, issue := range body.Issues {
			message += "\n  " + issueText(issue.Line, issue.Column, issue.Path, issue.Message)
		}
	} else {
		message = strings.TrimSpace(firstLine(string(data), 200))
		if message == "" {
			message = "no error description"
		}
	}

	notFound := resp.StatusCode == http.StatusNotFound && body.Title != "" &&
		body.Title != httpapi.RouteNotFound
	hint := ""
	if !fromGhillie || (resp.StatusCode == http.StatusNotFound && !notFound) {
		hint = "\ncheck that the API base URL " + c.base.String() + " (from " + c.source +
			") is the root of a ghillie server"
	}
	if resp.StatusCode == http.StatusUnauthorized {
		hint = "\nset the server's token with --auth-token or GHILLIE_AUTH_TOKEN"
		if c.token != "" {
			hint = "\nthe server rejected the token of --auth-token or GHILLIE_AUTH_TOKEN"
		}
	}
	conflict := resp.StatusCode == http.StatusConflict && fromGhillie
	return &remoteError{status: resp.StatusCode, notFound: notFound, conflict: conflict,
		msg: fmt.Sprintf("%s %s returned %s: %s%s", method, target, resp.Status, message, hint)}
}

func issueText(line, column int, path, message string) string {
	var b strings.Builder
	if line > 0 {
		fmt.Fprintf(&b, "line %d:%d: ", line, column)
	}
	if path != "" {
		b.WriteString(path + ": ")
	}
	b.WriteString(message)
	return b.String()
}

// getJSON sends a GET request and decodes the JSON response into out.
func (c *apiClient) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: query}, decodeInto(out))
}

// sendJSON sends a request with an optional JSON body and decodes the
// JSON response into out, when out is not nil.
func (c *apiClient) sendJSON(ctx context.Context, method, path string, query url.Values,
	body, out any) error {
	req := request{method: method, path: path, query: query}
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode the request body of %s %s: %w", method, path, err)
		}
		req.body, req.contentType = data, "application/json"
	}
	return c.do(ctx, req, decodeInto(out))
}

func decodeInto(out any) func(*http.Response) error {
	return func(resp *http.Response) error {
		if out == nil {
			_, err := io.Copy(io.Discard, resp.Body)
			return err
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return &remoteError{status: resp.StatusCode, err: err, msg: fmt.Sprintf(
				"decode the response of %s: %v: is the API base URL a Ghillie server?",
				resp.Request.URL.Redacted(), err)}
		}
		return nil
	}
}

// pathEscape escapes each path parameter.
func pathEscape(format string, params ...string) string {
	escaped := make([]any, len(params))
	for i, p := range params {
		escaped[i] = url.PathEscape(p)
	}
	return fmt.Sprintf(format, escaped...)
}

package githubapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// recordingVersion is the format version of exchange files and the index.
const recordingVersion = 1

// recordingIndex is the name of the index file of a recording.
const recordingIndex = "index.json"

// maskedTime replaces time values among GraphQL variables in request keys.
const maskedTime = "<time>"

// recordedExchange is the content of one exchange file.
type recordedExchange struct {
	Version  int    `json:"version"`
	Key      string `json:"key"`
	Sequence int    `json:"sequence"`

	// RateLimited marks a rate-limit response, which replay skips.
	RateLimited bool             `json:"rate_limited,omitempty"`
	Request     recordedRequest  `json:"request"`
	Response    recordedResponse `json:"response"`
}

type recordedRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
	recordedBody
}

type recordedResponse struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	recordedBody
}

// recordedBody is a body in the most readable form that keeps it intact:
// JSON as it is, other UTF-8 text as a string, anything else in base64.
type recordedBody struct {
	Body       json.RawMessage `json:"body,omitempty"`
	BodyText   string          `json:"body_text,omitempty"`
	BodyBase64 string          `json:"body_base64,omitempty"`
}

func newRecordedBody(b []byte) recordedBody {
	switch {
	case len(b) == 0:
		return recordedBody{}
	case json.Valid(b):
		return recordedBody{Body: b}
	case utf8.Valid(b):
		return recordedBody{BodyText: string(b)}
	}
	return recordedBody{BodyBase64: base64.StdEncoding.EncodeToString(b)}
}

// bytes returns the body as it was sent, JSON in compact form.
func (b recordedBody) bytes() ([]byte, error) {
	switch {
	case len(b.Body) > 0:
		var buf bytes.Buffer
		err := json.Compact(&buf, b.Body)
		return buf.Bytes(), err
	case b.BodyBase64 != "":
		return base64.StdEncoding.DecodeString(b.BodyBase64)
	}
	return []byte(b.BodyText), nil
}

// indexFile is the content of index.json.
type indexFile struct {
	Version int `json:"version"`

	// RecordedAt is when the recording was closed, which a replay takes
	// as its clock. Recordings made before the field existed lack it.
	RecordedAt time.Time    `json:"recorded_at,omitzero"`
	Exchanges  []indexEntry `json:"exchanges"`
}

// indexEntry lists one exchange file in the order of recording.
type indexEntry struct {
	File        string `json:"file"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	Query       string `json:"query,omitempty"`
	Sequence    int    `json:"sequence"`
	Status      int    `json:"status"`
	RateLimited bool   `json:"rate_limited,omitempty"`
}

// recordedHeaders are the response headers a recording keeps, besides those
// starting with X-Ratelimit-.
var recordedHeaders = []string{"Content-Type", "Link", "Retry-After"}

// Recorder is an http.RoundTripper that sends each request through the
// next RoundTripper and saves the exchange in a directory, for a
// Replayer. Pass it to New with WithTransport. It never saves request
// headers, so no token or App JWT reaches the files, and it neither saves
// nor counts requests for GitHub App installation tokens. Close writes
// the index. A Recorder is safe for concurrent use.
type Recorder struct {
	dir  string
	next http.RoundTripper
	now  func() time.Time

	mu sync.Mutex
	// sequences counts the exchanges of each request key so far.
	sequences map[string]int
	// files maps each file name used to its request key.
	files map[string]string
	index []indexEntry
}

// RecorderOption configures a Recorder.
type RecorderOption func(*Recorder)

// WithRecordingClock replaces time.Now as the clock that dates a
// recording, so a program that records activity at fixed dates can
// write the same index every time.
func WithRecordingClock(now func() time.Time) RecorderOption {
	return func(r *Recorder) { r.now = now }
}

// NewRecorder returns a Recorder that saves exchanges in dir and sends
// requests through next, http.DefaultTransport when nil. It creates dir
// when missing and returns an error when dir already contains a
// recording.
func NewRecorder(dir string, next http.RoundTripper, opts ...RecorderOption) (*Recorder, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("recording directory is empty: name a directory to record into")
	}
	if next == nil {
		next = http.DefaultTransport
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create recording directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read recording directory: %w", err)
	}
	for _, e := range entries {
		if isRecordingFile(e.Name()) {
			return nil, fmt.Errorf("recording directory %s already contains a recording (%s): "+
				"record into a new or empty directory", dir, e.Name())
		}
	}
	r := &Recorder{
		dir: dir, next: next, now: time.Now, sequences: map[string]int{}, files: map[string]string{},
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// RoundTrip sends req through the next RoundTripper and saves the
// exchange. A failure to save it fails the request, and no retry
// follows, so a recording never misses an exchange silently.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if isAppTokenPath(req.URL.Path) {
		return r.next.RoundTrip(req)
	}
	body, err := drainBody(req)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(body)), nil
		}
	}

	resp, err := r.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read GitHub response to record: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	if err := r.save(req, body, resp, respBody); err != nil {
		return nil, &localError{err: err}
	}
	return resp, nil
}

// save writes one exchange file and adds it to the index.
func (r *Recorder) save(req *http.Request, body []byte, resp *http.Response,
	respBody []byte,
) error {
	path, query := req.URL.EscapedPath(), req.URL.RawQuery
	key := requestKey(req.Method, path, query, body)
	header := http.Header{}
	for name, values := range resp.Header {
		if keepHeader(name) {
			header[name] = values
		}
	}
	ex := recordedExchange{
		Version:     recordingVersion,
		Key:         key,
		RateLimited: isRateLimitResponse(path, resp.StatusCode, resp.Header, respBody),
		Request: recordedRequest{
			Method: req.Method, Path: path, Query: query, recordedBody: newRecordedBody(body),
		},
		Response: recordedResponse{
			Status: resp.StatusCode, Header: header, recordedBody: newRecordedBody(respBody),
		},
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	ex.Sequence = r.sequences[key] + 1
	name := r.fileName(key, ex.Sequence)
	data, err := encodeIndented(ex)
	if err != nil {
		return fmt.Errorf("encode recorded exchange %s %s: %w", req.Method, path, err)
	}
	if err := writeFileAtomic(r.dir, name, data); err != nil {
		return fmt.Errorf("record %s %s: %w", req.Method, path, err)
	}

	r.sequences[key] = ex.Sequence
	r.files[name] = key
	r.index = append(r.index, indexEntry{
		File: name, Method: req.Method, Path: path, Query: query, Sequence: ex.Sequence,
		Status: resp.StatusCode, RateLimited: ex.RateLimited,
	})
	return nil
}

// fileName names an exchange file after the first 16 hex digits of its
// key and its sequence number, or the whole key when another key already
// took the short name.
func (r *Recorder) fileName(key string, sequence int) string {
	name := fmt.Sprintf("%s-%03d.json", key[:16], sequence)
	if other, used := r.files[name]; used && other != key {
		name = fmt.Sprintf("%s-%03d.json", key, sequence)
	}
	return name
}

// Exchanges returns how many exchanges the Recorder has saved.
func (r *Recorder) Exchanges() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.index)
}

// Close writes index.json, listing the exchanges saved so far in the
// order they were recorded and dating the recording with the current
// time, in UTC to the second. The Recorder keeps working after Close,
// and each later Close rewrites the index.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := encodeIndented(indexFile{
		Version: recordingVersion, RecordedAt: r.now().UTC().Truncate(time.Second),
		Exchanges: append([]indexEntry{}, r.index...),
	})
	if err != nil {
		return fmt.Errorf("encode recording index: %w", err)
	}
	if err := writeFileAtomic(r.dir, recordingIndex, data); err != nil {
		return fmt.Errorf("write recording index: %w", err)
	}
	return nil
}

// localError is a failure of recording or replay, which a retry of the
// request cannot fix.
type localError struct {
	err error
}

func (e *localError) Error() string { return e.err.Error() }

func (e *localError) Unwrap() error { return e.err }

// isLocal reports whether err is a failure of recording or replay.
func isLocal(err error) bool {
	var l *localError
	return errors.As(err, &l)
}

// requestKey identifies a request in a recording: a SHA-256 in hex over
// the method, the path, the query with its parameters sorted, and the
// normalised body.
func requestKey(method, path, query string, body []byte) string {
	if values, err := url.ParseQuery(query); err == nil {
		query = values.Encode()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\n", method, path, query)
	h.Write(normalBody(body))
	return hex.EncodeToString(h.Sum(nil))
}

// normalBody returns a JSON body re-encoded with sorted object keys and
// with every time among the GraphQL variables replaced by maskedTime.
// The lower bounds of a first run depend on the clock, so without the
// mask a replay would never match its recording. Other bodies stay as
// they are.
func normalBody(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return body
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return body
	}
	if fields, ok := doc.(map[string]any); ok {
		if vars, ok := fields["variables"]; ok {
			fields["variables"] = maskTimes(vars)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// maskTimes replaces RFC 3339 strings in v with maskedTime.
func maskTimes(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = maskTimes(e)
		}
	case []any:
		for i, e := range v {
			v[i] = maskTimes(e)
		}
	case string:
		if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return maskedTime
		}
	}
	return v
}

// isAppTokenPath reports whether path is GitHub's endpoint for App
// installation tokens, whose requests carry a JWT and whose responses
// carry a token.
func isAppTokenPath(path string) bool {
	return strings.Contains(path, "/app/installations/") || strings.HasSuffix(path, "/access_tokens")
}

// keepHeader reports whether a recording keeps a response header.
func keepHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	for _, allowed := range recordedHeaders {
		if name == allowed {
			return true
		}
	}
	return strings.HasPrefix(name, "X-Ratelimit-")
}

// isRateLimitAnswer reports whether a response is a rate limit, by the
// limiter's rules: a 429, a 403 with a spent budget, Retry-After or a
// secondary-limit message, or a GraphQL response with a RATE_LIMITED error.
func isRateLimitResponse(path string, status int, h http.Header, body []byte) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		return h.Get("X-Ratelimit-Remaining") == "0" || h.Get("Retry-After") != "" ||
			bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit"))
	case http.StatusOK:
		if !strings.HasSuffix(path, "/graphql") {
			return false
		}
		var graphQLResp struct {
			Errors []struct {
				Type string `json:"type"`
			} `json:"errors"`
		}
		if json.Unmarshal(body, &graphQLResp) != nil {
			return false
		}
		for _, e := range graphQLResp.Errors {
			if e.Type == "RATE_LIMITED" {
				return true
			}
		}
	}
	return false
}

// drainBody reads and closes a request body; nil when there is none.
func drainBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body of %s %s: %w", req.Method, req.URL.Path, err)
	}
	return body, nil
}

// encodeIndented encodes v as indented JSON without HTML escapes.
func encodeIndented(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeFileAtomic writes data to dir/name through a temporary file in
// dir that replaces name once complete, so a reader never sees a partial
// file. The file is readable by its owner only.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// isRecordingFile reports whether name is an exchange file or the index.
func isRecordingFile(name string) bool {
	return strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".")
}

package githubapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNotRecorded is wrapped by the error of a replayed request that has
// no usable response in the recording.
var ErrNotRecorded = errors.New("no recorded response")

// Replayer is an http.RoundTripper that serves responses from a
// recording made by a Recorder, without a network. Pass it to New with
// WithTransport; any token works, and a Client on a Replayer never waits
// between retries. Replay matches a request by its key (see the package
// documentation). Identical requests get their recorded responses in
// order, then the last one again. Rate-limit responses are skipped and the
// x-ratelimit-* and Retry-After headers removed, so replay never waits
// for a rate limit. A Replayer is safe for concurrent use.
type Replayer struct {
	dir        string
	recordedAt time.Time

	// responses lists the usable responses of each request key in order,
	// and limited counts the keys' rate-limit responses.
	responses map[string][]replayResponse
	limited   map[string]int

	mu sync.Mutex
	// served counts the requests of each key served so far.
	served map[string]int
}

// replayResponse is a recorded response ready to serve.
type replayResponse struct {
	sequence int
	status   int
	header   http.Header
	body     []byte
}

// NewReplayer loads the recording in dir. It returns an error when dir
// contains no recording, when a file the index lists is missing, and
// when a file is unreadable or of another format version.
func NewReplayer(dir string) (*Replayer, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read recording directory: %w: record a run into it first", err)
	}

	p := &Replayer{
		dir: dir, responses: map[string][]replayResponse{}, limited: map[string]int{},
		served: map[string]int{},
	}
	hasIndex := false
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == recordingIndex:
			hasIndex = true
		case isRecordingFile(name) && !e.IsDir():
			if err := p.load(name); err != nil {
				return nil, err
			}
		}
	}
	if !hasIndex && len(p.responses) == 0 && len(p.limited) == 0 {
		return nil, fmt.Errorf("recording directory %s contains no recording: "+
			"record a run into it first", dir)
	}
	if hasIndex {
		if err := p.checkIndex(); err != nil {
			return nil, err
		}
	}
	for _, list := range p.responses {
		sort.Slice(list, func(i, j int) bool { return list[i].sequence < list[j].sequence })
	}
	return p, nil
}

// load reads one exchange file.
func (p *Replayer) load(name string) error {
	path := filepath.Join(p.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read recorded exchange: %w", err)
	}
	var ex recordedExchange
	if err := json.Unmarshal(data, &ex); err != nil {
		return fmt.Errorf("decode recorded exchange %s: %w: record the run again", path, err)
	}
	if ex.Version != recordingVersion {
		return fmt.Errorf("recorded exchange %s has format version %d, not %d: "+
			"record the run again with this version of Ghillie", path, ex.Version, recordingVersion)
	}
	reqBody, err := ex.Request.bytes()
	if err != nil {
		return fmt.Errorf("decode request body of recorded exchange %s: %w", path, err)
	}
	respBody, err := ex.Response.bytes()
	if err != nil {
		return fmt.Errorf("decode response body of recorded exchange %s: %w", path, err)
	}

	// The key is computed again rather than read, so a recording stays
	// usable when the key's normalisation changes.
	key := requestKey(ex.Request.Method, ex.Request.Path, ex.Request.Query, reqBody)
	if ex.RateLimited {
		p.limited[key]++
		return nil
	}
	header := ex.Response.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	for name := range header {
		if strings.HasPrefix(http.CanonicalHeaderKey(name), "X-Ratelimit-") {
			delete(header, name)
		}
	}
	header.Del("Retry-After")
	p.responses[key] = append(p.responses[key], replayResponse{
		sequence: ex.Sequence, status: ex.Response.Status, header: header, body: respBody,
	})
	return nil
}

// checkIndex makes sure every file the index lists exists, so a
// recording copied in part fails at once instead of at its first gap.
func (p *Replayer) checkIndex() error {
	data, err := os.ReadFile(filepath.Join(p.dir, recordingIndex))
	if err != nil {
		return fmt.Errorf("read recording index: %w", err)
	}
	var index indexFile
	if err := json.Unmarshal(data, &index); err != nil {
		return fmt.Errorf("decode recording index %s: %w: record the run again",
			filepath.Join(p.dir, recordingIndex), err)
	}
	if index.Version != recordingVersion {
		return fmt.Errorf("recording index %s has format version %d, not %d: "+
			"record the run again with this version of Ghillie",
			filepath.Join(p.dir, recordingIndex), index.Version, recordingVersion)
	}
	for _, e := range index.Exchanges {
		if _, err := os.Stat(filepath.Join(p.dir, e.File)); err != nil {
			return fmt.Errorf("recording in %s is incomplete: %s %s: %w: record the run again",
				p.dir, e.Method, e.Path, err)
		}
	}
	p.recordedAt = index.RecordedAt
	return nil
}

// RecordedAt returns when the recording was closed, the time at which
// its activity was read from GitHub. It is zero for a recording without
// an index or whose index predates the recorded_at field.
func (p *Replayer) RecordedAt() time.Time {
	return p.recordedAt
}

// RoundTrip serves the recorded response to req. A request without a
// usable recorded response returns an error wrapping ErrNotRecorded, which a Client does
// not retry.
func (p *Replayer) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := drainBody(req)
	if err != nil {
		return nil, err
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}

	path := req.URL.EscapedPath()
	key := requestKey(req.Method, path, req.URL.RawQuery, body)
	responses := p.responses[key]
	p.mu.Lock()
	n := p.served[key]
	p.served[key]++
	p.mu.Unlock()

	if len(responses) == 0 {
		return nil, &localError{err: p.missing(req.Method, path, req.URL.RawQuery, key)}
	}
	a := responses[min(n, len(responses)-1)]
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", a.status, http.StatusText(a.status)),
		StatusCode:    a.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        a.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)),
		Request:       req,
	}, nil
}

// missing describes a request the recording has no response for.
func (p *Replayer) missing(method, path, query, key string) error {
	target := path
	if query != "" {
		target += "?" + query
	}
	if n := p.limited[key]; n > 0 {
		return fmt.Errorf("replay %s %s: %w in %s, only %d rate-limit responses: "+
			"record the run again once the rate limit has reset", method, target, ErrNotRecorded,
			p.dir, n)
	}
	return fmt.Errorf("replay %s %s: %w in %s (request key %s): the recorded run did not "+
		"send this request; replay with the GHILLIE_GITHUB_API_URL of the recording (unset "+
		"for api.github.com) and the same catalogue, or record the run again",
		method, target, ErrNotRecorded, p.dir, key[:16])
}

package stack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxProbeBody is the part of a probe's response body that Probe keeps.
const maxProbeBody = 200

// healthRetryDelay separates the checks of GET /health.
const healthRetryDelay = time.Second

// Probe is the result of one GET of a health endpoint.
type Probe struct {
	URL string `json:"url"`

	// StatusCode is the response's status code, zero when no response
	// came.
	StatusCode int `json:"status_code,omitempty"`

	// Body is the start of the response body, on one line.
	Body string `json:"body,omitempty"`

	// Error is the reason no response came.
	Error string `json:"error,omitempty"`
}

// OK reports whether the endpoint returned 200 OK.
func (p Probe) OK() bool { return p.StatusCode == http.StatusOK }

// String describes the result on one line.
func (p Probe) String() string {
	if p.Error != "" {
		return "no response: " + p.Error
	}
	text := fmt.Sprintf("%d %s", p.StatusCode, http.StatusText(p.StatusCode))
	if p.Body != "" {
		text += " " + p.Body
	}
	return text
}

// probe sends GET url once.
func (p *Preview) probe(ctx context.Context, url string) Probe {
	result := Probe{URL: url}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		result.Error = err.Error()
		return result
	}

	resp, err := p.httpClient().Do(req)
	if err != nil {
		result.Error = err.Error()
		return result
	}
	defer resp.Body.Close()

	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	result.StatusCode = resp.StatusCode
	result.Body = strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "")), " ")
	return result
}

// waitHealthy sends GET url until it returns 200 OK or HealthTimeout
// passes, because the load balancer may route the first requests
// nowhere.
func (p *Preview) waitHealthy(ctx context.Context, url string) error {
	timeout := p.HealthTimeout
	if timeout == 0 {
		timeout = defaultHealthTimeout
	}
	deadline := time.Now().Add(timeout)

	for {
		result := p.probe(ctx, url)
		if result.OK() {
			return nil
		}
		if ctx.Err() != nil || !time.Now().Add(healthRetryDelay).Before(deadline) {
			return &StepError{Step: "check GET /health", Command: "GET " + url,
				Output: result.String(),
				Err: fmt.Errorf("no 200 OK within %s: check the pods with 'ghillie stack "+
					"status' and their logs with 'ghillie stack logs'", timeout)}
		}

		select {
		case <-ctx.Done():
		case <-time.After(healthRetryDelay):
		}
	}
}

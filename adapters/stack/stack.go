// Package stack runs a local Kubernetes preview of Ghillie: a k3d
// cluster, PostgreSQL from the CloudNativePG operator, the image built
// from the source tree and the chart in deploy/helm/ghillie, published
// on a loopback port. It backs the 'ghillie stack' commands.
//
// It drives docker, k3d, kubectl and helm, found on PATH, through
// os/exec. Secrets reach the tools only on standard input, never as
// arguments, and are redacted from every output it prints or returns.
// kubectl and helm run with the kube context that k3d adds for the
// cluster, k3d-NAME, whatever the current context is.
//
// Up records where the API listens in state.json (see State and
// StatePath), for commands that call the API.
package stack

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"time"
)

// defaultHealthTimeout bounds the checks of GET /health after the
// Deployments are ready, while the load balancer starts to route.
const defaultHealthTimeout = time.Minute

// Preview runs the preview's commands. The zero value is ready to use:
// it finds the tools with exec.LookPath, prints no progress and logs
// nothing. A Preview is not safe for concurrent use.
type Preview struct {
	// Progress receives one line per step; nil discards them.
	Progress io.Writer

	// Logger receives a debug event for each tool run; nil is silent.
	Logger *slog.Logger

	// StatePath is the state file that Up writes and Down removes.
	// Required by Up and Down.
	StatePath string

	// LookPath finds a tool; exec.LookPath when nil.
	LookPath func(file string) (string, error)

	// HTTPClient sends the health checks; when nil, a client that uses
	// no proxy and gives each request 5 seconds.
	HTTPClient *http.Client

	// HealthTimeout bounds the checks of GET /health after a deploy;
	// one minute when zero.
	HealthTimeout time.Duration

	// Now returns the time of a state write; time.Now when nil.
	Now func() time.Time
}

// progress prints one line of progress.
func (p *Preview) progress(format string, args ...any) {
	if p.Progress != nil {
		fmt.Fprintf(p.Progress, format+"\n", args...)
	}
}

func (p *Preview) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Preview) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

func (p *Preview) httpClient() *http.Client {
	if p.HTTPClient != nil {
		return p.HTTPClient
	}
	// The API listens on loopback, where a proxy has no business.
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil},
	}
}

// runner finds the tools a command needs, all of them or none.
func (p *Preview) runner(tools ...string) (*runner, error) {
	lookPath := p.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	return newRunner(p.logger(), lookPath, tools...)
}

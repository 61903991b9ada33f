package githubtest

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// FaultKind is a failure the server can inject.
type FaultKind int

// The faults a server can inject.
const (
	// NoFault marks a request served normally.
	NoFault FaultKind = iota

	// SecondaryLimit responds 403 with GitHub's secondary rate limit
	// message, and a Retry-After header when Fault.RetryAfter is set.
	SecondaryLimit

	// SecondaryLimit429 is SecondaryLimit with status 429, which GitHub
	// also sends.
	SecondaryLimit429

	// BadGateway responds 502 with a plain text body, as GitHub's front
	// end does when a backend times out.
	BadGateway

	// Slow waits Fault.Delay before responding normally, or until the
	// client gives up.
	Slow

	// RateLimited responds to GraphQL with a RATE_LIMITED error in a 200, and
	// REST with 403, as if the budget were spent.
	RateLimited

	// ExpiredToken expires the request's token, so that it and every
	// later request with the token get 401.
	ExpiredToken

	// PartialError serves a GraphQL request normally except that each
	// field named Fault.Field is null, with an error of Fault.Type
	// (default FORBIDDEN) at its path.
	PartialError
)

var faultNames = map[FaultKind]string{
	NoFault:           "none",
	SecondaryLimit:    "secondary limit",
	SecondaryLimit429: "secondary limit 429",
	BadGateway:        "bad gateway",
	Slow:              "slow",
	RateLimited:       "rate limited",
	ExpiredToken:      "expired token",
	PartialError:      "partial error",
}

// String returns the fault's name, as in test failures.
func (k FaultKind) String() string {
	if name, ok := faultNames[k]; ok {
		return name
	}
	return "fault " + strconv.Itoa(int(k))
}

// API selects the requests a fault applies to.
type API int

// The APIs a fault can target.
const (
	// AnyAPI targets GraphQL and REST requests.
	AnyAPI API = iota

	// GraphQLAPI targets GraphQL requests only.
	GraphQLAPI

	// RESTAPI targets REST requests only.
	RESTAPI
)

// Fault describes an injected failure. The access token endpoint is
// never faulted, and a GraphQL request meets faults only once its
// document is valid, so invalid documents do not use them up.
type Fault struct {
	Kind FaultKind
	API  API

	// Times is how many requests the fault hits: zero means one, a
	// negative number every matching request.
	Times int

	// Skip lets this many matching requests through before the fault
	// starts, so Skip 2 hits the third.
	Skip int

	// PageSizeOver limits the fault to GraphQL requests with a
	// connection whose first or last exceeds it, like GitHub timing out
	// on large pages. Zero applies the fault to every page size.
	PageSizeOver int

	// RetryAfter sets the Retry-After header of a secondary limit; zero
	// sends none.
	RetryAfter time.Duration

	// Delay is how long a Slow response waits.
	Delay time.Duration

	// Field, Type and Message shape a PartialError: the field name (not
	// alias) that fails, such as "issues", GitHub's error type, and the
	// message. Type defaults to FORBIDDEN and Message to GitHub's
	// message for a token without access.
	Field   string
	Type    string
	Message string
}

// InjectedFault is a fault registered with a server.
type InjectedFault struct {
	Fault

	skipped int
	fired   int
}

// Inject registers a fault. Faults are checked in the order injected,
// and at most one applies to a request.
func (s *Server) Inject(f Fault) *InjectedFault {
	s.mu.Lock()
	defer s.mu.Unlock()

	if f.Times == 0 {
		f.Times = 1
	}
	inj := &InjectedFault{Fault: f}
	s.faults = append(s.faults, inj)
	return inj
}

// Fired returns how many requests the fault has hit. It is safe to call
// while the server runs.
func (s *Server) Fired(f *InjectedFault) int {
	s.mu.Lock()
	defer s.mu.Unlock()

	return f.fired
}

// ClearFaults removes every fault not yet used up.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.faults = nil
}

// requestTraits describe a request for matching faults.
type requestTraits struct {
	api      API
	maxPage  int
	hasField func(name string) bool
}

// takeFault returns the first fault that applies to the request, counting
// it as fired, or nil.
func (s *Server) takeFault(t requestTraits) *InjectedFault {
	s.mu.Lock()
	defer s.mu.Unlock()

	for _, f := range s.faults {
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		if f.API != AnyAPI && f.API != t.api {
			continue
		}
		if f.PageSizeOver > 0 && t.maxPage <= f.PageSizeOver {
			continue
		}
		if f.Kind == PartialError && (t.api != GraphQLAPI || t.hasField == nil ||
			!t.hasField(f.Field)) {
			continue
		}
		if f.skipped < f.Skip {
			f.skipped++
			continue
		}
		f.fired++
		return f
	}
	return nil
}

// applyFault responds to the request for faults that replace the response and
// reports whether it did. Slow waits and returns false so the request
// proceeds; it returns true when the client gave up meanwhile.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *InjectedFault,
	token, resource string) bool {
	entryOf(r.Context()).Fault = f.Kind

	switch f.Kind {
	case SecondaryLimit, SecondaryLimit429:
		status := http.StatusForbidden
		if f.Kind == SecondaryLimit429 {
			status = http.StatusTooManyRequests
		}
		if f.RetryAfter > 0 {
			secs := int((f.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		s.writeRateHeaders(w, resource, s.peek(resource))
		writeJSON(w, status, restError("You have exceeded a secondary rate limit. "+
			"Please wait a few minutes before you try again.", docsSecondary))
		return true

	case BadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1>\n" +
			"The server returned an invalid or incomplete response.\n</body></html>\n"))
		return true

	case Slow:
		return !sleep(r.Context(), f.Delay)

	case ExpiredToken:
		s.ExpireToken(token)
		writeJSON(w, http.StatusUnauthorized, restError("Bad credentials", docsREST))
		return true

	case RateLimited:
		s.writeRateHeaders(w, resource, exhausted(s.peek(resource)))
		if resource == resourceGraphQL {
			writeJSON(w, http.StatusOK, rateLimitedBody(s.principal(token)))
		} else {
			writeJSON(w, http.StatusForbidden, restRateLimited(s.principal(token)))
		}
		return true
	}
	return false
}

func rateLimitedBody(principal string) map[string]any {
	return map[string]any{
		"data": nil,
		"errors": []GraphQLError{{
			Type:    "RATE_LIMITED",
			Message: "API rate limit already exceeded for " + principal + ".",
		}},
	}
}

func restRateLimited(principal string) map[string]any {
	return restError("API rate limit exceeded for "+principal+".", docsRateLimits)
}

// sleep waits d and reports whether it did before ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

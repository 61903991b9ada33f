package githubtest

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Rate limit resources, as GitHub names them in x-ratelimit-resource.
const (
	resourceGraphQL = "graphql"
	resourceCore    = "core"
)

// budget is one resource's allowance in the current window.
type budget struct {
	limit   int
	used    int
	resetAt time.Time
}

// RateLimit is a snapshot of one budget.
type RateLimit struct {
	Limit     int
	Used      int
	Remaining int
	ResetAt   time.Time
}

// budgetLocked returns the resource's budget, refilled when its window
// has passed. The caller holds s.mu.
func (s *Server) budgetLocked(resource string) *budget {
	now := time.Now()
	b, ok := s.budgets[resource]
	if !ok {
		limit := s.opts.RESTLimit
		if resource == resourceGraphQL {
			limit = s.opts.GraphQLLimit
		}
		b = &budget{limit: limit}
		s.budgets[resource] = b
	}
	if !now.Before(b.resetAt) {
		b.used = 0
		b.resetAt = ceilSecond(now.Add(s.opts.ResetInterval))
	}
	return b
}

// ceilSecond rounds up to a whole second, because GitHub reports reset
// times in epoch seconds and a client that waits until then must find
// the budget refilled.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// charge spends cost from the resource's budget and returns the budget
// afterwards. When the budget does not cover the cost, it spends nothing
// and returns ok false.
func (s *Server) charge(resource string, cost int) (RateLimit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	b := s.budgetLocked(resource)
	if b.used >= b.limit || b.used+cost > b.limit {
		return b.snapshot(), false
	}
	b.used += cost
	return b.snapshot(), true
}

// peek returns the resource's budget without spending.
func (s *Server) peek(resource string) RateLimit {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.budgetLocked(resource).snapshot()
}

func (b *budget) snapshot() RateLimit {
	return RateLimit{
		Limit:     b.limit,
		Used:      b.used,
		Remaining: max(b.limit-b.used, 0),
		ResetAt:   b.resetAt,
	}
}

// GraphQLRateLimit returns the GraphQL budget.
func (s *Server) GraphQLRateLimit() RateLimit { return s.peek(resourceGraphQL) }

// RESTRateLimit returns the REST budget.
func (s *Server) RESTRateLimit() RateLimit { return s.peek(resourceCore) }

// SpendGraphQL spends points of the GraphQL budget, for tests that start
// with a budget nearly gone.
func (s *Server) SpendGraphQL(points int) { s.spend(resourceGraphQL, points) }

// SpendREST spends requests of the REST budget.
func (s *Server) SpendREST(requests int) { s.spend(resourceCore, requests) }

func (s *Server) spend(resource string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()

	b := s.budgetLocked(resource)
	b.used = max(min(b.used+n, b.limit), 0)
}

// writeRateHeaders sets GitHub's rate limit headers, unless limits are
// off.
func (s *Server) writeRateHeaders(w http.ResponseWriter, resource string, rl RateLimit) {
	if s.opts.RateLimitsOff {
		return
	}
	h := w.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(rl.Limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(rl.Remaining))
	h.Set("X-Ratelimit-Used", strconv.Itoa(rl.Used))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(rl.ResetAt.Unix(), 10))
	h.Set("X-Ratelimit-Resource", resource)
}

// exhausted returns the budget as a spent one looks, for responses that
// report a limit hit.
func exhausted(rl RateLimit) RateLimit {
	rl.Remaining = 0
	rl.Used = rl.Limit
	return rl
}

func withEntry(ctx context.Context, e *Request) context.Context {
	return context.WithValue(ctx, logKey{}, e)
}

// entryOf returns the request's log entry; outside the logging handler
// it returns a throwaway one.
func entryOf(ctx context.Context) *Request {
	if e, ok := ctx.Value(logKey{}).(*Request); ok {
		return e
	}
	return &Request{}
}

package status

import (
	"context"
	"time"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
)

// MaxListItems caps each list of a Result.
const MaxListItems = 5

// The providers a Metrics value names.
const (
	ProviderMock   = "mock"
	ProviderOpenAI = "openai"
)

// Model writes status reports from evidence bundles. Implementations
// are safe for concurrent use, and each call returns its own Metrics.
type Model interface {
	// SummarizeRepository reports on one repository's reporting window.
	SummarizeRepository(ctx context.Context, b *evidence.RepositoryBundle) (Result, error)

	// SummarizeProject reports on a project from its components' latest
	// repository reports.
	SummarizeProject(ctx context.Context, b *evidence.ProjectBundle) (Result, error)

	// SummarizeEstate reports on an estate from its projects' latest
	// reports.
	SummarizeEstate(ctx context.Context, b *evidence.EstateBundle) (Result, error)
}

// Result is a model's report on one subject. The lists are never nil
// and hold at most MaxListItems items each.
type Result struct {
	Status     gold.Status
	Summary    string
	Highlights []string
	Risks      []string
	NextSteps  []string

	// Metrics describes the call that produced this Result.
	Metrics Metrics
}

// MachineSummary returns the structured part of the report as stored in
// reports.machine_summary, with copies of the lists, none of them nil.
func (r Result) MachineSummary() gold.MachineSummary {
	return gold.MachineSummary{
		Summary:    r.Summary,
		Status:     r.Status,
		Highlights: capList(r.Highlights),
		Risks:      capList(r.Risks),
		NextSteps:  capList(r.NextSteps),
	}
}

// Metrics describes one model call. Token counts are nil when the
// provider did not report them.
type Metrics struct {
	// Provider is ProviderMock or ProviderOpenAI.
	Provider string

	// Model is the model name: the configured one for OpenAI, MockModelName
	// for the mock.
	Model string

	PromptTokens     *int64
	CompletionTokens *int64
	TotalTokens      *int64

	// Latency is the wall-clock time of the call, retries and waits
	// between them included. It is nil for the mock, which does no I/O.
	Latency *time.Duration
}

// capList returns a copy of items with at most MaxListItems items,
// never nil.
func capList(items []string) []string {
	n := min(len(items), MaxListItems)
	out := make([]string, n)
	copy(out, items[:n])
	return out
}

// plural returns singular when n is 1 and pluralForm otherwise.
func plural(n int, singular, pluralForm string) string {
	if n == 1 {
		return singular
	}
	return pluralForm
}

// feedbackKey is the context key of WithFeedback.
type feedbackKey struct{}

// WithFeedback returns a context that requests a correction of a
// previous response that failed these checks, as a reporting service
// does when it retries after validation. Models that cannot use it, such as the mock,
// ignore it.
func WithFeedback(ctx context.Context, problems []string) context.Context {
	if len(problems) == 0 {
		return ctx
	}
	return context.WithValue(ctx, feedbackKey{}, append([]string(nil), problems...))
}

// Feedback returns the problems WithFeedback put in ctx.
func Feedback(ctx context.Context) []string {
	problems, _ := ctx.Value(feedbackKey{}).([]string)
	return problems
}

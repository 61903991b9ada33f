package reporting

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/store"
)

// MetricsSnapshot sums up the model calls of the reports generated in a
// period. Latencies are nil when no report of the period has one.
type MetricsSnapshot struct {
	PeriodStart           time.Time `json:"period_start"`
	PeriodEnd             time.Time `json:"period_end"`
	EstateID              string    `json:"estate_id,omitempty"`
	Scope                 string    `json:"scope,omitempty"`
	TotalReports          int       `json:"total_reports"`
	ReportsWithMetrics    int       `json:"reports_with_metrics"`
	AvgLatencyMS          *float64  `json:"avg_latency_ms"`
	P95LatencyMS          *float64  `json:"p95_latency_ms"`
	TotalPromptTokens     int64     `json:"total_prompt_tokens"`
	TotalCompletionTokens int64     `json:"total_completion_tokens"`
	TotalTokens           int64     `json:"total_tokens"`
}

// MetricsQuery selects the reports to sum up: those generated in
// [Start, End), of one scope when Scope is set, and of one estate when
// EstateID is set.
type MetricsQuery struct {
	Start    time.Time
	End      time.Time
	Scope    gold.Scope
	EstateID string
}

// Metrics computes MetricsSnapshot values in SQL, so the reports are
// never loaded into memory.
type Metrics struct {
	db *store.DB
}

// NewMetrics returns a metrics service on db.
func NewMetrics(db *store.DB) *Metrics { return &Metrics{db: db} }

// Snapshot sums up the reports q selects. The 95th percentile latency is
// the nearest rank: the latency at position ceil(0.95 n) in ascending
// order.
func (m *Metrics) Snapshot(ctx context.Context, q MetricsQuery) (MetricsSnapshot, error) {
	if !q.End.After(q.Start) {
		return MetricsSnapshot{}, fmt.Errorf("period_end must be after period_start: %s is not after %s",
			q.End.UTC().Format(time.RFC3339), q.Start.UTC().Format(time.RFC3339))
	}

	where := `generated_at >= ? AND generated_at < ?`
	args := []any{store.NewTime(q.Start), store.NewTime(q.End)}
	if q.Scope != "" {
		where += ` AND scope = ?`
		args = append(args, q.Scope)
	}
	if q.EstateID != "" {
		where += ` AND (estate_id = ? OR repository_id IN
			(SELECT repository_id FROM repository_estates WHERE estate_id = ?))`
		args = append(args, q.EstateID, q.EstateID)
	}

	snap := MetricsSnapshot{PeriodStart: q.Start.UTC(), PeriodEnd: q.End.UTC(),
		EstateID: q.EstateID, Scope: string(q.Scope)}
	var row struct {
		Total      int      `db:"total"`
		WithMetric int      `db:"with_metrics"`
		Latencies  int      `db:"latencies"`
		Avg        *float64 `db:"avg_latency"`
		Prompt     *int64   `db:"prompt"`
		Completion *int64   `db:"completion"`
		Tokens     *int64   `db:"tokens"`
	}
	err := m.db.GetContext(ctx, &row, m.db.Rebind(`SELECT count(*) AS total,
		count(CASE WHEN model_latency_ms IS NOT NULL OR prompt_tokens IS NOT NULL
			OR completion_tokens IS NOT NULL OR total_tokens IS NOT NULL THEN 1 END) AS with_metrics,
		count(model_latency_ms) AS latencies,
		avg(CAST(model_latency_ms AS DOUBLE PRECISION)) AS avg_latency,
		sum(coalesce(prompt_tokens, 0)) AS prompt,
		sum(coalesce(completion_tokens, 0)) AS completion,
		sum(coalesce(total_tokens, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))) AS tokens
		FROM reports WHERE `+where), args...)
	if err != nil {
		return MetricsSnapshot{}, fmt.Errorf("sum up report metrics: %w", store.Classify(err))
	}
	snap.TotalReports, snap.ReportsWithMetrics = row.Total, row.WithMetric
	snap.AvgLatencyMS = row.Avg
	for dst, v := range map[*int64]*int64{&snap.TotalPromptTokens: row.Prompt,
		&snap.TotalCompletionTokens: row.Completion, &snap.TotalTokens: row.Tokens} {
		if v != nil {
			*dst = *v
		}
	}

	if row.Latencies > 0 {
		rank := max(int(math.Ceil(0.95*float64(row.Latencies)))-1, 0)
		var p95 float64
		err := m.db.GetContext(ctx, &p95, m.db.Rebind(`SELECT CAST(model_latency_ms AS DOUBLE PRECISION)
			FROM reports WHERE `+where+` AND model_latency_ms IS NOT NULL
			ORDER BY model_latency_ms LIMIT 1 OFFSET `+fmt.Sprint(rank)), args...)
		if err != nil {
			return MetricsSnapshot{}, fmt.Errorf("read the 95th percentile latency: %w", store.Classify(err))
		}
		snap.P95LatencyMS = &p95
	}
	return snap, nil
}

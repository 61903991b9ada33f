package evidence_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

const benchmarkEvents = 50_000

// benchmarkEvents returns n events of octo/reef inside the window: 40%
// commits, 15% documentation changes, 25% pull request snapshots (three
// per pull request) and 20% issue snapshots (two per issue).
func benchmarkEnvelopes(n int) []bronze.Envelope {
	envs := make([]bronze.Envelope, 0, n)
	step := winEnd.Sub(winStart) / time.Duration(n+1)
	for i := range n {
		at := winStart.Add(time.Duration(i+1) * step)
		sha := fmt.Sprintf("%040x", i-i%20)
		switch bucket := i % 20; {
		case bucket < 8:
			envs = append(envs, commit(fmt.Sprintf("%040x", i), fmt.Sprintf("feat: change %d", i), at))
		case bucket < 13:
			id := i / 3
			envs = append(envs, pullRequest(id, id, fmt.Sprintf("Pull request %d", id),
				[]string{"open", "closed", "merged"}[i%3], []any{"bug"}, at))
		case bucket < 17:
			id := i / 2
			envs = append(envs, issueEvent(id, id, fmt.Sprintf("Issue %d", id),
				[]string{"open", "closed"}[i%2], []any{"enhancement"}, at))
		default:
			envs = append(envs, docChange(sha, fmt.Sprintf("docs/adr/%d.md", i%5), at))
		}
	}
	return envs
}

// BenchmarkRepositoryBundle builds the bundle of a repository with 50,000
// events in its window, next to a baseline: reading the window's event
// facts with one plain query.
//
//	go test -run '^$' -bench RepositoryBundle -benchmem ./evidence
//
// The interleaved sub-benchmark reports the median ratio of the two, each
// pair timed back to back.
func BenchmarkRepositoryBundle(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, d)
			envs := benchmarkEnvelopes(benchmarkEvents)
			writer := bronze.NewWriter(db)
			for start := 0; start < len(envs); start += 5000 {
				if _, err := writer.WriteBatch(ctx, envs[start:min(start+5000, len(envs))]); err != nil {
					b.Fatal(err)
				}
			}
			f := &fixture{t: nil, db: db}
			f.transformAll(b)
			var repoID string
			if err := db.Get(&repoID, `SELECT id FROM repositories`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}

			b.Run("bundle", func(b *testing.B) {
				builder := evidence.NewBuilder(db)
				for range b.N {
					bundle, err := builder.Repository(ctx, repoID, winStart, winEnd)
					if err != nil {
						b.Fatal(err)
					}
					if len(bundle.EventFactIDs) != benchmarkEvents {
						b.Fatalf("bundle has %d facts, expected %d", len(bundle.EventFactIDs), benchmarkEvents)
					}
				}
				b.ReportMetric(float64(benchmarkEvents*b.N)/b.Elapsed().Seconds(), "events/s")
			})

			b.Run("baseline_query", func(b *testing.B) {
				for range b.N {
					n := readFacts(b, db)
					if n != benchmarkEvents {
						b.Fatalf("read %d facts, expected %d", n, benchmarkEvents)
					}
				}
				b.ReportMetric(float64(benchmarkEvents*b.N)/b.Elapsed().Seconds(), "events/s")
			})

			// Other work on the machine can slow one of two long runs and not
			// the other. Timing a bundle and a baseline read back to back, and
			// taking the median of their ratios, cancels most of that load.
			b.Run("interleaved", func(b *testing.B) {
				builder := evidence.NewBuilder(db)
				ratios := make([]float64, 0, b.N)
				for range b.N {
					start := time.Now()
					if _, err := builder.Repository(ctx, repoID, winStart, winEnd); err != nil {
						b.Fatal(err)
					}
					bundleTime := time.Since(start)

					start = time.Now()
					readFacts(b, db)
					ratios = append(ratios, float64(bundleTime)/float64(time.Since(start)))
				}
				slices.Sort(ratios)
				b.ReportMetric(ratios[len(ratios)/2], "bundle/baseline")
			})
		})
	}
}

// readFacts reads the window's event facts of octo/reef with one query.
func readFacts(b *testing.B, db *store.DB) int {
	rows, err := db.QueryContext(context.Background(), db.Rebind(`SELECT id, event_type, payload
		FROM event_facts WHERE repo_external_id = ? AND occurred_at >= ? AND occurred_at < ?
		ORDER BY occurred_at DESC, id DESC`), "octo/reef", store.NewTime(winStart), store.NewTime(winEnd))
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()

	n := 0
	for rows.Next() {
		var (
			id        int64
			eventType string
			payload   []byte
		)
		if err := rows.Scan(&id, &eventType, &payload); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

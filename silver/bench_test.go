package silver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

const benchmarkEvents = 10_000

// benchmarkEnvelopes returns n raw events over 20 repositories, in a mix
// like the ingestion of an active estate. 40% are commits and 15%
// documentation changes. 25% are pull request snapshots, about three per
// pull request, and 20% issue snapshots, about two per issue. Each round
// gets new commits, pull requests and issues, as a growing database does.
func benchmarkEnvelopes(n, round int) []bronze.Envelope {
	envelopes := make([]bronze.Envelope, 0, n)
	for j := range n {
		i := round*n + j
		repo := fmt.Sprintf("repo-%d", i%20)
		occurred := at(i)
		var e bronze.Envelope
		switch bucket := i % 20; {
		case bucket < 8:
			e = envelope(silver.EventCommit, occurred,
				with(commitPayload(fmt.Sprintf("%040x", i)), "repo_name", repo, "default_branch", "main"))
		case bucket < 13:
			id := i / 3
			state := []string{"open", "closed", "merged"}[i%3]
			e = envelope(silver.EventPullRequest, occurred, with(prPayload(id, state),
				"repo_name", fmt.Sprintf("repo-%d", id%20), "number", id))
		case bucket < 17:
			id := i / 2
			state := []string{"open", "closed"}[i%2]
			e = envelope(silver.EventIssue, occurred, with(issuePayload(id, state),
				"repo_name", fmt.Sprintf("repo-%d", id%20), "number", id))
		default:
			e = envelope(silver.EventDocChange, occurred,
				with(docPayload(fmt.Sprintf("%040x", i-i%20), fmt.Sprintf("docs/adr/%d.md", i%5)),
					"repo_name", repo, "is_adr", true))
		}
		envelopes = append(envelopes, e)
	}
	return envelopes
}

// BenchmarkTransform measures ProcessPending over 10,000 new pending raw
// events per iteration, with the default number of workers and, on
// PostgreSQL, with two, next to a baseline: inserting as many rows of the
// same size into a table without keys or indexes, 500 rows per statement
// and transaction.
//
//	go test -run '^$' -bench Transform -benchmem ./silver
//
// A warm-up round fills the tables and gathers planner statistics first,
// as on a database in service. PostgreSQL plans a session's foreign key
// checks once, from the statistics it has at that moment. Planned on empty
// tables they scan whole tables, so the first large backlog on a new
// database is slower until autovacuum analyzes the tables.
func BenchmarkTransform(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			write(b, db, benchmarkEnvelopes(benchmarkEvents, 0)...)
			if _, err := silver.NewTransformer(db, nil).ProcessPending(context.Background(), 0); err != nil {
				b.Fatal(err)
			}
			if _, err := db.ExecContext(context.Background(), "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			round := 1

			workers := []int{silver.DefaultWorkers}
			if d == store.Postgres {
				workers = append(workers, 2)
			}
			for _, n := range workers {
				name := "transform"
				if n != silver.DefaultWorkers {
					name = fmt.Sprintf("transform_workers_%d", n)
				}
				b.Run(name, func(b *testing.B) {
					transformer := silver.NewTransformer(db, nil)
					transformer.Workers = n
					for range b.N {
						b.StopTimer()
						write(b, db, benchmarkEnvelopes(benchmarkEvents, round)...)
						round++
						b.StartTimer()

						result, err := transformer.ProcessPending(context.Background(), 0)
						if err != nil {
							b.Fatal(err)
						}
						if result.Processed != benchmarkEvents {
							b.Fatalf("processed %+v, expected %d events", result, benchmarkEvents)
						}
					}
					b.ReportMetric(float64(benchmarkEvents*b.N)/b.Elapsed().Seconds(), "events/s")
				})
			}

			b.Run("baseline_insert", func(b *testing.B) {
				rows := baselineRows(b, benchmarkEnvelopes(benchmarkEvents, 0))
				createBaselineTable(b, db)
				for range b.N {
					insertBaseline(b, db, rows)
				}
				b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		})
	}
}

// baselineRow is a row of the baseline table: the columns of an event
// fact, with the payload as the Bronze writer stores it.
type baselineRow struct {
	rawEventID     int64
	repoExternalID string
	eventType      string
	occurredAt     store.Time
	payload        string
}

func baselineRows(b *testing.B, envelopes []bronze.Envelope) []baselineRow {
	b.Helper()

	rows := make([]baselineRow, len(envelopes))
	for i, e := range envelopes {
		normalized, err := bronze.Normalize(e.Payload)
		if err != nil {
			b.Fatal(err)
		}
		payload, err := bronze.CanonicalJSON(normalized)
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = baselineRow{int64(i + 1), e.RepoExternalID, e.EventType, store.NewTime(e.OccurredAt), string(payload)}
	}
	return rows
}

// createBaselineTable creates a table with the columns of event_facts and
// no keys or indexes.
func createBaselineTable(b *testing.B, db *store.DB) {
	b.Helper()

	timestamp, json := "TEXT", "TEXT"
	if db.Dialect() == store.Postgres {
		timestamp, json = "timestamptz", "jsonb"
	}
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS bench_insert (raw_event_id BIGINT NOT NULL,
		repo_external_id VARCHAR(255), event_type VARCHAR(64) NOT NULL, occurred_at %s NOT NULL,
		payload %s NOT NULL)`, timestamp, json)
	if _, err := db.ExecContext(context.Background(), ddl); err != nil {
		b.Fatal(err)
	}
}

func insertBaseline(b *testing.B, db *store.DB, rows []baselineRow) {
	b.Helper()

	for start := 0; start < len(rows); start += 500 {
		chunk := rows[start:min(start+500, len(rows))]
		query := db.Rebind("INSERT INTO bench_insert (raw_event_id, repo_external_id, event_type, " +
			"occurred_at, payload) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(chunk)), ", "))
		args := make([]any, 0, 5*len(chunk))
		for _, r := range chunk {
			args = append(args, r.rawEventID, r.repoExternalID, r.eventType, r.occurredAt, r.payload)
		}
		err := db.InTx(context.Background(), func(tx *store.Tx) error {
			_, err := tx.ExecContext(context.Background(), query, args...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

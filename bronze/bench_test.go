package bronze_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// benchEvents is the number of envelopes each benchmark operation writes.
const benchEvents = 10000

// benchEnvelopes returns envelopes shaped like GitHub pull request events,
// distinct across rounds so that every round inserts new rows.
func benchEnvelopes(round int) []bronze.Envelope {
	base := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	out := make([]bronze.Envelope, benchEvents)
	for i := range out {
		id := round*benchEvents + i
		out[i] = bronze.Envelope{
			SourceSystem:   "github",
			EventType:      "github.pull_request",
			SourceEventID:  fmt.Sprint(id),
			RepoExternalID: "octo/reef",
			OccurredAt:     base.Add(time.Duration(id) * time.Second),
			Payload: map[string]any{
				"id": id, "number": id, "title": fmt.Sprintf("Improve the widget pipeline, part %d", id),
				"state": "open", "base_branch": "main", "head_branch": fmt.Sprintf("feature/%d", id),
				"repo_owner": "octo", "repo_name": "reef", "author_login": "octocat",
				"created_at": base.Add(time.Duration(id) * time.Second), "labels": []any{"feature", "ui"},
				"is_draft": false, "metadata": map[string]any{"additions": 120, "deletions": 7},
			},
		}
	}
	return out
}

// BenchmarkWriteBatch measures Writer.WriteBatch against a plain batched
// INSERT of the same rows into a table without indexes, run in the same
// process, so the ratio shows the cost of normalizing, hashing and
// deduplicating.
func BenchmarkWriteBatch(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d)+"/writer", func(b *testing.B) {
			db := storetest.Open(b, d)
			w := bronze.NewWriter(db)
			round := 0
			for b.Loop() {
				b.StopTimer()
				batch := benchEnvelopes(round)
				round++
				b.StartTimer()

				if _, err := w.WriteBatch(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})

		b.Run(string(d)+"/baseline", func(b *testing.B) {
			db := storetest.Open(b, d)
			createBareTable(b, db)
			round := 0
			for b.Loop() {
				b.StopTimer()
				rows := bareRows(b, benchEnvelopes(round))
				round++
				b.StartTimer()

				if err := insertBare(db, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func createBareTable(b *testing.B, db *store.DB) {
	b.Helper()

	_, err := db.Exec(`CREATE TABLE bare_events (source_system TEXT, source_event_id TEXT,
		event_type TEXT, repo_external_id TEXT, occurred_at TEXT, ingested_at TEXT,
		dedupe_key TEXT, payload TEXT)`)
	if err != nil {
		b.Fatal(err)
	}
}

// bareRows prepares the column values outside the timed section, so the
// baseline measures only the database work.
func bareRows(b *testing.B, envelopes []bronze.Envelope) [][]any {
	b.Helper()

	now := time.Now().UTC().Format(store.TimeLayout)
	rows := make([][]any, len(envelopes))
	for i, e := range envelopes {
		payload, err := bronze.Normalize(e.Payload)
		if err != nil {
			b.Fatal(err)
		}
		canon, err := bronze.CanonicalJSON(payload)
		if err != nil {
			b.Fatal(err)
		}
		key, err := bronze.DedupeKey(e)
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = []any{e.SourceSystem, e.SourceEventID, e.EventType, e.RepoExternalID,
			e.OccurredAt.UTC().Format(store.TimeLayout), now, key, string(canon)}
	}
	return rows
}

func insertBare(db *store.DB, rows [][]any) error {
	return db.InTx(context.Background(), func(tx *store.Tx) error {
		for start := 0; start < len(rows); start += 500 {
			chunk := rows[start:min(start+500, len(rows))]
			values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", ")
			args := make([]any, 0, 8*len(chunk))
			for _, r := range chunk {
				args = append(args, r...)
			}
			query := tx.Rebind("INSERT INTO bare_events VALUES " + values)
			if _, err := tx.Exec(query, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// replayRounds is the number of stored batches that BenchmarkReplay
// writes again.
const replayRounds = 10

// BenchmarkReplay measures Writer.WriteBatch on envelopes that are all
// stored already, as when a file is imported a second time: 10,000
// duplicates per operation into a table of 100,000 raw events. Every
// row then takes the path that looks up the stored row's id.
func BenchmarkReplay(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			w := bronze.NewWriter(db)
			batches := make([][]bronze.Envelope, replayRounds)
			for round := range batches {
				batches[round] = benchEnvelopes(round)
				if _, err := w.WriteBatch(context.Background(), batches[round]); err != nil {
					b.Fatal(err)
				}
			}

			round := 0
			for b.Loop() {
				results, err := w.WriteBatch(context.Background(), batches[round%replayRounds])
				if err != nil {
					b.Fatal(err)
				}
				if !results[len(results)-1].Duplicate {
					b.Fatal("a stored envelope was written as new")
				}
				round++
			}
			b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

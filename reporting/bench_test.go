package reporting_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store/storetest"
)

// reportEvents is the size of the benchmark's window: a busy week.
const reportEvents = 1000

// BenchmarkReportRun writes the report of a repository window of 1,000
// commits with the mock status model: evidence, model call, validation,
// storage with coverage and Markdown. The baseline is building the same
// window's evidence bundle alone, so the ratio is the cost of the rest.
// Each iteration times a bundle and a report back to back, and deletes
// the report, outside the timer, before the next.
func BenchmarkReportRun(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, d)
			if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: "wildside"},
				"../examples/wildside-catalogue.yaml", ""); err != nil {
				b.Fatal(err)
			}
			if _, err := registry.NewService(db, nil).Sync(ctx, "wildside"); err != nil {
				b.Fatal(err)
			}
			repo, err := registry.NewService(db, nil).Get(ctx, "leynos", "wildside")
			if err != nil {
				b.Fatal(err)
			}

			envs := make([]bronze.Envelope, reportEvents)
			for i := range envs {
				at := asOf.Add(-time.Duration(i+1) * 10 * time.Minute)
				sha := fmt.Sprintf("%040x", i)
				envs[i] = bronze.Envelope{SourceSystem: "github", SourceEventID: sha,
					EventType: "github.commit", RepoExternalID: "leynos/wildside", OccurredAt: at,
					Payload: map[string]any{"sha": sha, "message": fmt.Sprintf("feat: change %d", i),
						"repo_owner": "leynos", "repo_name": "wildside",
						"committed_at": at.Format(time.RFC3339), "default_branch": "main"}}
			}
			if _, err := bronze.NewWriter(db).WriteBatch(ctx, envs); err != nil {
				b.Fatal(err)
			}
			if _, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0); err != nil {
				b.Fatal(err)
			}

			svc, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig)
			if err != nil {
				b.Fatal(err)
			}
			builder := evidence.NewBuilder(db)
			start, end := asOf.AddDate(0, 0, -7), asOf
			opts := reporting.RunOptions{AsOf: asOf}

			b.ReportAllocs()
			ratios := make([]float64, 0, b.N)
			var reportTotal, bundleTotal time.Duration
			for b.Loop() {
				t0 := time.Now()
				bundle, err := builder.Repository(ctx, repo.ID, start, end)
				if err != nil || len(bundle.EventFactIDs) != reportEvents {
					b.Fatalf("bundle: %v", err)
				}
				bundleTime := time.Since(t0)
				bundleTotal += bundleTime

				t0 = time.Now()
				out, err := svc.RunRepository(ctx, repo.ID, opts)
				if err != nil || out.Report == nil {
					b.Fatalf("report: %v", err)
				}
				reportTime := time.Since(t0)
				reportTotal += reportTime
				ratios = append(ratios, float64(reportTime)/float64(bundleTime))

				b.StopTimer()
				if _, err := db.ExecContext(ctx, `DELETE FROM reports`); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(reportTotal.Milliseconds())/float64(b.N), "report-ms")
			b.ReportMetric(float64(bundleTotal.Milliseconds())/float64(b.N), "bundle-ms")
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "report/bundle")
		})
	}
}

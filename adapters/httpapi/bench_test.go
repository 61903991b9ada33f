package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// BenchmarkReadAPI measures the read API's throughput over loopback HTTP
// with keep-alive connections: a repository's latest report as JSON and
// as Markdown, and a page of its history, which holds that one report.
// GET /health, which responds from memory, is the baseline: its rate is
// what the HTTP stack alone allows on the same machine in the same run.
func BenchmarkReadAPI(b *testing.B) {
	paths := []struct{ name, path, accept string }{
		{"health", "/health", ""},
		{"latest-json", "/repositories/leynos/wildside/reports/latest", "application/json"},
		{"latest-markdown", "/repositories/leynos/wildside/reports/latest", "text/markdown"},
		{"history", "/repositories/leynos/wildside/reports?limit=20", "application/json"},
	}

	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			newEstate(b, db)
			cfg := httpapi.Config{DB: db, Model: status.NewMock(), Reporting: reporting.DefaultConfig,
				APIToken: testToken}
			h, err := httpapi.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			b.Cleanup(srv.Close)

			svc, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig)
			if err != nil {
				b.Fatal(err)
			}
			opts := reporting.RunOptions{AsOf: asOf}
			if _, err := svc.RunRepository(context.Background(), repositoryID(b, db), opts); err != nil {
				b.Fatal(err)
			}

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			for _, p := range paths {
				b.Run(p.name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req, _ := http.NewRequest(http.MethodGet, srv.URL+p.path, nil)
							if p.accept != "" {
								req.Header.Set("Accept", p.accept)
							}
							res, err := client.Do(req)
							if err != nil {
								b.Error(err)
								return
							}
							_, _ = io.Copy(io.Discard, res.Body)
							_ = res.Body.Close()
							if res.StatusCode != http.StatusOK {
								b.Errorf("GET %s: %d", p.path, res.StatusCode)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
				})
			}
		})
	}
}

func repositoryID(tb testing.TB, db *store.DB) string {
	tb.Helper()

	var id string
	err := db.Get(&id, `SELECT id FROM repositories WHERE github_owner = 'leynos' AND github_name = 'wildside'`)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

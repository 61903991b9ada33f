package benchmarks_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ghillie/ghillie/adapters/githubapi"
	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/ingest"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// Activity of each synthetic repository: a week of work.
const (
	commitsPerRepo = 20
	prsPerRepo     = 6
	issuesPerRepo  = 4
)

// syntheticRepository returns a repository with a week of activity
// before now: commits, pull requests in every state and issues.
func syntheticRepository(i int, now time.Time) *githubtest.Repository {
	at := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	dev := githubtest.GitActor{Name: "Dev", Email: "dev@example.invalid", Login: "dev"}
	repo := &githubtest.Repository{Owner: "fleet", Name: fmt.Sprintf("repo-%04d", i),
		DefaultBranch: "main"}
	for c := range commitsPerRepo {
		repo.Commits = append(repo.Commits, githubtest.Commit{
			OID:             fmt.Sprintf("%08x%032x", i, c),
			MessageHeadline: fmt.Sprintf("feat: step %d of the plan", c),
			AuthoredDate:    at(2 + c*6), CommittedDate: at(2 + c*6), Author: dev})
	}
	states := []string{"MERGED", "OPEN", "CLOSED"}
	for p := range prsPerRepo {
		pr := githubtest.PullRequest{DatabaseID: int64(i*1000 + p + 1), Number: p + 1,
			Title: fmt.Sprintf("Add part %d", p), State: states[p%3], CreatedAt: at(100 - p),
			UpdatedAt: at(10 + p), BaseRefName: "main", HeadRefName: fmt.Sprintf("part-%d", p),
			Author: &githubtest.Actor{Login: "dev"}, Labels: []string{"feature"}}
		if pr.State != "OPEN" {
			pr.ClosedAt = at(10 + p)
		}
		if pr.State == "MERGED" {
			pr.MergedAt = pr.ClosedAt
		}
		repo.PullRequests = append(repo.PullRequests, pr)
	}
	for n := range issuesPerRepo {
		repo.Issues = append(repo.Issues, githubtest.Issue{DatabaseID: int64(i*1000 + 500 + n),
			Number: prsPerRepo + n + 1, Title: fmt.Sprintf("Bug %d", n), State: "OPEN",
			CreatedAt: at(90 - n), UpdatedAt: at(20 + n)})
	}
	return repo
}

// estateCatalogue writes a catalogue of one project with n repositories.
func estateCatalogue(b *testing.B, n int) string {
	b.Helper()

	var sb strings.Builder
	sb.WriteString("version: 1\nprojects:\n  - key: fleet\n    name: Fleet\n    components:\n")
	for i := range n {
		fmt.Fprintf(&sb, "      - key: part-%04d\n        name: Part %04d\n        type: service\n"+
			"        repository:\n          owner: fleet\n          name: repo-%04d\n"+
			"          default_branch: main\n", i, i, i)
	}
	path := filepath.Join(b.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkEstate runs the whole job once per iteration, on a new
// database, for estates of 1 to 1,000 repositories. The job ingests every
// repository from the fake GitHub, transforms, and reports on every
// repository, the project and the estate with the mock model. It
// reports the time and GitHub requests per repository; the estate of
// one repository is the baseline that the larger ones compare with.
func BenchmarkEstate(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, n := range []int{1, 10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/repos=%d", d, n), func(b *testing.B) {
				benchmarkEstate(b, d, n)
			})
		}
	}
}

func benchmarkEstate(b *testing.B, d store.Dialect, n int) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	repos := make([]*githubtest.Repository, n)
	for i := range repos {
		repos[i] = syntheticRepository(i, now)
	}
	server := githubtest.NewServer(b, githubtest.Options{RateLimitsOff: true}, repos...)
	client, err := githubapi.New(githubapi.Config{Token: githubtest.DefaultToken, APIURL: server.URL})
	if err != nil {
		b.Fatal(err)
	}
	path := estateCatalogue(b, n)

	b.ReportAllocs()
	requests := 0
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		db := storetest.Open(b, d)
		before := server.Totals().Requests
		runtime.GC()
		sampler := sampleHeap()
		b.StartTimer()

		runEstate(ctx, b, db, client, path)

		b.StopTimer()
		peak = max(peak, sampler.stop())
		requests += server.Totals().Requests - before
		_ = db.Close()
		b.StartTimer()
	}

	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/repo")
	b.ReportMetric(float64(requests)/float64(b.N), "requests/run")
	b.ReportMetric(float64(requests)/float64(b.N*n), "requests/repo")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// heapSampler records the largest Go heap in use while it runs, read
// every 5 ms.
type heapSampler struct {
	done chan struct{}
	peak chan uint64
}

func sampleHeap() *heapSampler {
	s := &heapSampler{done: make(chan struct{}), peak: make(chan uint64)}
	go func() {
		var peak uint64
		var m runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak, in bytes.
func (s *heapSampler) stop() uint64 {
	close(s.done)
	return <-s.peak
}

// runEstate does the whole job once, as 'ghillie run' does.
func runEstate(ctx context.Context, b *testing.B, db *store.DB, client ingest.GitHubClient, path string) {
	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: "fleet"}, path, ""); err != nil {
		b.Fatal(err)
	}
	reg := registry.NewService(db, nil)
	if _, err := reg.Sync(ctx, "fleet"); err != nil {
		b.Fatal(err)
	}
	enabled := true
	list, err := reg.List(ctx, registry.ListOptions{EstateKey: "fleet", Ingestion: &enabled})
	if err != nil {
		b.Fatal(err)
	}

	w, err := ingest.NewWorker(db, client, ingest.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, repo := range list {
		if _, err := w.IngestRepository(ctx, repo); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0); err != nil {
		b.Fatal(err)
	}

	svc, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig)
	if err != nil {
		b.Fatal(err)
	}
	var estateID string
	if err := db.GetContext(ctx, &estateID, db.Rebind(`SELECT id FROM estates WHERE key = ?`), "fleet"); err != nil {
		b.Fatal(err)
	}
	outcomes, err := svc.RunEstateAll(ctx, estateID, reporting.RunOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if want := len(list) + 2; len(outcomes) != want {
		b.Fatalf("%d report outcomes, want %d", len(outcomes), want)
	}
}

package githubtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

func ExampleNewServer() {
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	repo := &githubtest.Repository{
		Owner: "acme", Name: "widgets", DefaultBranch: "main",
		Commits: []githubtest.Commit{
			{OID: "b2", MessageHeadline: "Add docs", CommittedDate: at},
			{OID: "a1", MessageHeadline: "Start", CommittedDate: at.Add(-time.Hour)},
		},
	}
	s := githubtest.NewServer(nil, githubtest.Options{}, repo)
	defer s.Close()

	body := `{"query": "{ repository(owner: \"acme\", name: \"widgets\") ` +
		`{ defaultBranchRef { target { ... on Commit { history(first: 1) ` +
		`{ nodes { oid } pageInfo { hasNextPage } } } } } } }"}`
	req, err := http.NewRequest(http.MethodPost, s.GraphQLURL(), strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+githubtest.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()

	data, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Header.Get("X-Ratelimit-Remaining"))
	fmt.Println(string(data))
	// Output:
	// 4999
	// {"data":{"repository":{"defaultBranchRef":{"target":{"history":{"nodes":[{"oid":"b2"}],"pageInfo":{"hasNextPage":true}}}}}}}
}

package status_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/status"
)

func ExampleFromEnv() {
	env := map[string]string{status.EnvBackend: "mock"}
	model, err := status.FromEnv(func(name string) string { return env[name] })
	if err != nil {
		fmt.Println(err)
		return
	}

	bundle := &evidence.RepositoryBundle{
		Repository:  evidence.Repository{Owner: "acme", Name: "widget"},
		WindowStart: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC),
		WindowEnd:   time.Date(2024, 7, 8, 0, 0, 0, 0, time.UTC),
		Commits:     []evidence.Commit{{SHA: "a1b2c3", Message: "feat: add dark mode"}},
	}
	result, err := model.SummarizeRepository(context.Background(), bundle)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(result.Status)
	fmt.Println(result.Summary)
	fmt.Println(result.Metrics.Provider, *result.Metrics.TotalTokens)
	// Output:
	// on_track
	// acme/widget is on track with 1 events including 1 commit, 0 pull requests, and 0 issues.
	// mock 0
}

func ExampleFromEnv_invalidBackend() {
	_, err := status.FromEnv(func(string) string { return "gpt" })
	fmt.Println(err)
	// Output:
	// GHILLIE_STATUS_MODEL_BACKEND="gpt": invalid status model backend: want one of 'mock', 'openai'
}

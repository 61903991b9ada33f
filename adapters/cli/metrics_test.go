package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
)

// activityLines are leynos/wildside events besides wildsideCommit. A
// pull request opened on 9 July is merged two days later. An issue
// opened on 8 July is closed four days later, and one opened on 5 July
// is still open. The commit of 10 July changes the roadmap.
var activityLines = []string{
	`{"source_system":"github","event_type":"github.pull_request","source_event_id":"101",` +
		`"repo_external_id":"leynos/wildside","occurred_at":"2024-07-11T12:00:00Z","payload":{` +
		`"id":101,"number":7,"title":"Add walk planner","state":"merged","repo_owner":"leynos",` +
		`"repo_name":"wildside","base_branch":"main","head_branch":"walks",` +
		`"created_at":"2024-07-09T12:00:00Z","merged_at":"2024-07-11T12:00:00Z",` +
		`"closed_at":"2024-07-11T12:00:00Z","author_login":"leynos"}}`,
	`{"source_system":"github","event_type":"github.issue","source_event_id":"201",` +
		`"repo_external_id":"leynos/wildside","occurred_at":"2024-07-12T08:00:00Z","payload":{` +
		`"id":201,"number":8,"title":"Map tiles load slowly","state":"closed",` +
		`"repo_owner":"leynos","repo_name":"wildside","created_at":"2024-07-08T08:00:00Z",` +
		`"closed_at":"2024-07-12T08:00:00Z","author_login":"payton"}}`,
	`{"source_system":"github","event_type":"github.issue","source_event_id":"202",` +
		`"repo_external_id":"leynos/wildside","occurred_at":"2024-07-05T10:00:00Z","payload":{` +
		`"id":202,"number":9,"title":"Offline mode","state":"open","repo_owner":"leynos",` +
		`"repo_name":"wildside","created_at":"2024-07-05T10:00:00Z","author_login":"payton"}}`,
	`{"source_system":"github","event_type":"github.doc_change","source_event_id":"abc123:docs/roadmap.md",` +
		`"repo_external_id":"leynos/wildside","occurred_at":"2024-07-10T09:30:00Z","payload":{` +
		`"commit_sha":"abc123","path":"docs/roadmap.md","change_type":"modified",` +
		`"repo_owner":"leynos","repo_name":"wildside","occurred_at":"2024-07-10T09:30:00Z",` +
		`"is_roadmap":true}}`,
}

// activityEnv is reportEnv with activityLines refined into Silver.
func activityEnv(t *testing.T, dialect string) map[string]string {
	t.Helper()

	env := reportEnv(t, dialect)
	input := strings.Join(activityLines, "\n") + "\n"
	if r := runWithInput(t, env, input, "events", "import", "-"); r.code != cli.ExitOK {
		t.Fatalf("events import: %s", r.stderr)
	}
	if r := run(t, env, "transform"); r.code != cli.ExitOK {
		t.Fatalf("transform: %s", r.stderr)
	}
	return env
}

type requiredOutput struct {
	Repository string `json:"repository" yaml:"repository"`
	Metrics    struct {
		PullRequestsMerged     int      `json:"pull_requests_merged" yaml:"pull_requests_merged"`
		MeanTimeToMergeSeconds *float64 `json:"mean_time_to_merge_seconds" yaml:"mean_time_to_merge_seconds"`
		IssuesResolved         int      `json:"issues_resolved" yaml:"issues_resolved"`
		IssuesOutstanding      int      `json:"issues_outstanding" yaml:"issues_outstanding"`
		Outstanding            struct {
			Max *float64 `json:"max" yaml:"max"`
		} `json:"outstanding_issue_age_seconds" yaml:"outstanding_issue_age_seconds"`
	} `json:"metrics" yaml:"metrics"`
}

func TestMetricsRequired(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			env := activityEnv(t, d)
			repository := []string{"metrics", "required", "--scope", "repository",
				"--owner", "leynos", "--name", "wildside", "--as-of", "2024-07-14T00:00:00Z"}

			t.Run("json", func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, append([]string{"-o", "json"}, repository...)...)
				is.Equal(r.code, cli.ExitOK)
				var out requiredOutput
				is.NoErr(json.Unmarshal([]byte(r.stdout), &out))
				is.Equal(out.Repository, "leynos/wildside")
				is.Equal(out.Metrics.PullRequestsMerged, 1)
				is.Equal(*out.Metrics.MeanTimeToMergeSeconds, 172800.0) // two days
				is.Equal(out.Metrics.IssuesResolved, 1)
				is.Equal(out.Metrics.IssuesOutstanding, 1)
				is.Equal(*out.Metrics.Outstanding.Max, 741600.0) // 8 days 14 hours
			})

			t.Run("yaml", func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, append([]string{"-o", "yaml"}, repository...)...)
				is.Equal(r.code, cli.ExitOK)
				var out requiredOutput
				is.NoErr(yaml.Unmarshal([]byte(r.stdout), &out))
				is.Equal(out.Metrics.PullRequestsMerged, 1)
				is.Equal(out.Metrics.IssuesOutstanding, 1)
			})

			t.Run("table", func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, repository...)
				is.Equal(r.code, cli.ExitOK)
				lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
				is.Equal(len(lines), 2)
				is.True(strings.HasPrefix(lines[0], "REPOSITORY"))
				is.Equal(strings.Fields(lines[1]), []string{"leynos/wildside", "1", "0", "48h0m0s",
					"1", "1", "96h0m0s", "96h0m0s", "206h0m0s", "206h0m0s"})
			})

			t.Run("estate", func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, "-o", "json", "metrics", "required", "--scope", "estate",
					"--estate-key", "wildside", "--window-start", "2024-07-12T08:00:00Z",
					"--window-end", "2024-07-13T00:00:00Z")
				is.Equal(r.code, cli.ExitOK)
				var out struct {
					Repositories []requiredOutput `json:"repositories"`
					Totals       struct {
						PullRequestsMerged int `json:"pull_requests_merged"`
						IssuesResolved     int `json:"issues_resolved"`
					} `json:"totals"`
				}
				is.NoErr(json.Unmarshal([]byte(r.stdout), &out))
				is.Equal(len(out.Repositories), 6)
				is.Equal(out.Totals.PullRequestsMerged, 0) // merged before the start
				is.Equal(out.Totals.IssuesResolved, 1)     // closed exactly at the start

				r = run(t, env, "metrics", "required", "--scope", "estate", "--estate-key",
					"wildside", "--window-days", "1")
				is.Equal(r.code, cli.ExitOK)
				is.True(strings.Contains(r.stdout, "\ntotal "))
			})

			t.Run("unknown", func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, "metrics", "required", "--scope", "repository", "--owner",
					"leynos", "--name", "nope")
				is.Equal(r.code, cli.ExitFailure)
				is.True(strings.Contains(r.stderr, "leynos/nope not found"))

				r = run(t, env, "metrics", "required", "--scope", "estate", "--estate-key", "nope")
				is.Equal(r.code, cli.ExitFailure)
				is.True(strings.Contains(r.stderr, `estate "nope" not found`))
			})
		})
	}
}

// windowUsageTests are flag mistakes that metrics required and every
// export command reject, each with the start of the message.
var windowUsageTests = []struct {
	name string
	args []string
	want string
}{
	{"no scope", nil, "--scope is required"},
	{"project scope", []string{"--scope", "project", "--estate-key", "e", "--project-key", "p"},
		`invalid --scope "project"`},
	{"no name", []string{"--scope", "repository", "--owner", "leynos"},
		"--scope repository needs --owner and --name"},
	{"start alone", []string{"--scope", "estate", "--estate-key", "e",
		"--window-start", "2024-07-01T00:00:00Z"}, "--window-start and --window-end go together"},
	{"backwards", []string{"--scope", "estate", "--estate-key", "e",
		"--window-start", "2024-07-02T00:00:00Z", "--window-end", "2024-07-01T00:00:00Z"},
		"--window-end 2024-07-01T00:00:00Z must be after"},
	{"window and as-of", []string{"--scope", "estate", "--estate-key", "e",
		"--window-start", "2024-07-01T00:00:00Z", "--window-end", "2024-07-02T00:00:00Z",
		"--as-of", "2024-07-02T00:00:00Z"}, "--as-of and --window-start/--window-end"},
	{"window and days", []string{"--scope", "estate", "--estate-key", "e",
		"--window-start", "2024-07-01T00:00:00Z", "--window-end", "2024-07-02T00:00:00Z",
		"--window-days", "3"}, "--window-days and --window-start/--window-end"},
	{"zero days", []string{"--scope", "estate", "--estate-key", "e", "--window-days", "0"},
		"invalid --window-days 0"},
	{"bad time", []string{"--scope", "estate", "--estate-key", "e", "--as-of", "yesterday"},
		`invalid --as-of "yesterday"`},
}

func TestMetricsRequiredUsage(t *testing.T) {
	for _, tt := range windowUsageTests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, nil, append([]string{"metrics", "required"}, tt.args...)...)
			is.Equal(r.code, cli.ExitUsage)
			first, _, _ := strings.Cut(r.stderr, "\n")
			is.True(strings.HasPrefix(first, "ghillie: "+tt.want))
		})
	}
}

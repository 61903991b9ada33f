package cli_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// The quickstart's catalogue and its GitHub activity, recorded with the
// clock at 2025-06-13T16:00:00Z.
const (
	quickstartCatalogue = "../../examples/quickstart/catalogue.yaml"
	quickstartRecording = "../../examples/quickstart/recording"
)

// replayEnv is a new SQLite database and report folder, with no status
// model chosen and a GitHub URL where nothing listens.
func replayEnv(t *testing.T) map[string]string {
	t.Helper()
	return replayEnvOn(t, store.SQLite)
}

// replayEnvOn is replayEnv on a new database of the dialect.
func replayEnvOn(t *testing.T, d store.Dialect) map[string]string {
	t.Helper()
	return map[string]string{
		"GHILLIE_DATABASE_URL":     storetest.URL(t, d),
		"GHILLIE_GITHUB_API_URL":   "",
		"GHILLIE_REPORT_SINK_PATH": filepath.Join(t.TempDir(), "reports"),
	}
}

// reportRow is a report of 'ghillie -o json run'.
type reportRow struct {
	Scope       string `json:"scope"`
	Subject     string `json:"subject"`
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
	Outcome     string `json:"outcome"`
}

// runReports decodes the reports of 'ghillie -o json run'.
func runReports(t *testing.T, r result) []reportRow {
	t.Helper()
	var sum struct {
		Reports []reportRow `json:"reports"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("decode %q: %v (stderr: %s)", r.stdout, err, r.stderr)
	}
	return sum.Reports
}

func TestRunReplayEndsAtRecordedTime(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			env := replayEnvOn(t, d)

			r := run(t, env, "-o", "json", "run", "--catalogue", quickstartCatalogue,
				"--estate-key", "kestrel", "--replay", quickstartRecording)
			is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
			is.True(strings.Contains(r.stderr,
				"GHILLIE_STATUS_MODEL_BACKEND is not set: replaying with the mock"))
			reports := runReports(t, r)
			is.Equal(len(reports), 7) // four repositories, two projects and the estate
			for _, row := range reports {
				is.Equal(row.Outcome, "created")                  // every repository had activity that week
				is.Equal(row.WindowStart, "2025-06-06T16:00:00Z") // seven days before the recording
				is.Equal(row.WindowEnd, "2025-06-13T16:00:00Z")   // the time of the recording
			}

			// Every repository is reported past this time, so the run can
			// report nothing and fails instead of skipping each one.
			env["GHILLIE_STATUS_MODEL_BACKEND"] = "mock"
			r = run(t, env, "-o", "json", "report", "run", "--scope", "estate", "--estate-key",
				"kestrel", "--as-of", "2025-06-10T00:00:00Z")
			is.Equal(r.code, cli.ExitRunFailed)
			ran := decodeRun(t, r)
			is.Equal(ran.State, "failed")
			for name, u := range ran.units() {
				is.Equal(u.State+" "+name, "failed "+name)
				if name != "roll-up" {
					is.True(strings.Contains(u.Detail, "predates the end of the last report's window"))
				}
			}
		})
	}
}

func TestRunReplayAsOf(t *testing.T) {
	is := is.New(t)
	env := replayEnv(t)

	r := run(t, env, "-o", "json", "run", "--catalogue", quickstartCatalogue, "--estate-key", "kestrel",
		"--replay", quickstartRecording, "--as-of", "2025-06-10T00:00:00Z")
	is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
	reports := runReports(t, r)
	is.True(len(reports) > 0)
	for _, row := range reports {
		is.Equal(row.WindowEnd, "2025-06-10T00:00:00Z") // --as-of wins over the recording's time
	}
}

func TestRunStatusModelDefault(t *testing.T) {
	t.Run("replay honours the variable", func(t *testing.T) {
		is := is.New(t)
		env := replayEnv(t)
		env["GHILLIE_STATUS_MODEL_BACKEND"] = "openai"

		r := run(t, env, "run", "--catalogue", quickstartCatalogue, "--estate-key", "kestrel",
			"--replay", quickstartRecording)
		is.Equal(r.code, cli.ExitFailure)
		is.True(strings.Contains(r.stderr, "GHILLIE_OPENAI_API_KEY")) // openai was chosen, not the mock
	})

	t.Run("GitHub run needs the variable", func(t *testing.T) {
		is := is.New(t)
		env := replayEnv(t)
		env["GHILLIE_GITHUB_TOKEN"] = "ghp_unused"
		env["GHILLIE_GITHUB_API_URL"] = "http://127.0.0.1:9" // nothing listens, nothing is sent

		r := run(t, env, "run", "--catalogue", quickstartCatalogue, "--estate-key", "kestrel")
		is.Equal(r.code, cli.ExitFailure)
		is.True(strings.Contains(r.stderr, "missing status model backend")) // no mock by default
	})
}

func TestIngestReplayRunsAtRecordedTime(t *testing.T) {
	is := is.New(t)
	env := replayEnv(t)
	for _, args := range [][]string{
		{"migrate"},
		{"estate", "import", "--estate-key", "kestrel", "--catalogue-path", quickstartCatalogue,
			"--commit-sha", "abc1234"},
		{"estate", "sync", "--estate-key", "kestrel"},
	} {
		if r := run(t, env, args...); r.code != cli.ExitOK {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}

	r := run(t, env, "-o", "json", "ingest", "run", "--scope", "estate", "--estate-key", "kestrel",
		"--replay", quickstartRecording)
	is.Equal(r.code, cli.ExitOK) // stderr: r.stderr
	is.True(strings.Contains(r.stderr, "recorded_at=2025-06-13T16:00:00Z"))
	units := decodeRun(t, r).units()
	// These are the counts of the recorded run. A clock at the present
	// would put all of this activity outside the 14-day lookback.
	courierAPI := counts(t, units["kestrel-labs/courier-api"].Detail)
	is.Equal(courierAPI["commit"], 10)
	is.Equal(courierAPI["documentation change"], 3)
	is.Equal(courierAPI["dropped"], 4) // Dependabot's commits and pull requests
	is.Equal(counts(t, units["kestrel-labs/courier-web"].Detail)["pull request"], 5)
	is.Equal(counts(t, units["kestrel-labs/config-kit"].Detail)["issue"], 2)
	is.Equal(counts(t, units["kestrel-labs/test-harness"].Detail)["commit"], 3)
}

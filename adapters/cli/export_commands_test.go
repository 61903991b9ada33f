package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
)

var exportFormats = []string{"json", "jsonl", "csv"}

// exportRows parses an export in the format into rows of text cells:
// JSON strings as they are, numbers in decimal, null as "", and objects
// and arrays as JSON text, as the CSV export writes them.
func exportRows(t *testing.T, format, text string) []map[string]string {
	t.Helper()

	if format == "csv" {
		records, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			t.Fatalf("parse CSV %q: %v", text, err)
		}
		var rows []map[string]string
		for _, record := range records[1:] {
			row := map[string]string{}
			for i, name := range records[0] {
				row[name] = record[i]
			}
			rows = append(rows, row)
		}
		return rows
	}

	var values []map[string]any
	if format == "json" {
		if err := json.Unmarshal([]byte(text), &values); err != nil {
			t.Fatalf("parse JSON %q: %v", text, err)
		}
	} else {
		dec := json.NewDecoder(strings.NewReader(text))
		for dec.More() {
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("parse JSON Lines %q: %v", text, err)
			}
			values = append(values, v)
		}
	}

	var rows []map[string]string
	for _, v := range values {
		row := map[string]string{}
		for key, value := range v {
			switch value := value.(type) {
			case nil:
				row[key] = ""
			case string:
				row[key] = value
			case float64:
				row[key] = strconv.FormatFloat(value, 'f', -1, 64)
			default:
				b, err := json.Marshal(value)
				if err != nil {
					t.Fatal(err)
				}
				row[key] = string(b)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// column returns the values of one column.
func column(rows []map[string]string, name string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[name])
	}
	return out
}

// payloadField returns a field of a row's JSON payload.
func payloadField(t *testing.T, row map[string]string, field string) any {
	t.Helper()

	var payload map[string]any
	if err := json.Unmarshal([]byte(row["payload"]), &payload); err != nil {
		t.Fatalf("payload %q is not a JSON object: %v", row["payload"], err)
	}
	return payload[field]
}

var (
	wildsideScope = []string{"--scope", "repository", "--owner", "leynos", "--name", "wildside"}
	estateScope   = []string{"--scope", "estate", "--estate-key", "wildside"}
	weekWindow    = []string{"--as-of", "2024-07-14T00:00:00Z"}
)

func exportArgs(kind, format string, parts ...[]string) []string {
	args := []string{"export", kind, "--format", format}
	for _, p := range parts {
		args = append(args, p...)
	}
	return args
}

func TestExportCommands(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres", "sqlite-split", "mixed"} {
		t.Run(d, func(t *testing.T) {
			env := activityEnv(t, d)

			// Before any report, so the bundles hold the window's facts.
			t.Run("bundle", func(t *testing.T) { testExportBundle(t, env) })

			r := run(t, env, "report", "run", "--scope", "estate", "--estate-key", "wildside",
				"--as-of", "2024-07-14T00:00:00Z")
			if r.code != cli.ExitOK {
				t.Fatalf("report run: %s", r.stderr)
			}

			t.Run("events", func(t *testing.T) { testExportEvents(t, env) })
			t.Run("evidence", func(t *testing.T) { testExportEvidence(t, env) })
			t.Run("reports", func(t *testing.T) { testExportReports(t, env) })
			t.Run("empty window", func(t *testing.T) { testExportEmpty(t, env) })
			t.Run("output path", func(t *testing.T) { testExportOutputPath(t, env) })
			t.Run("failures", func(t *testing.T) { testExportFailures(t, env) })
		})
	}
}

func testExportEvents(t *testing.T, env map[string]string) {
	for _, format := range exportFormats {
		for name, scope := range map[string][]string{"repository": wildsideScope,
			"estate": estateScope} {
			t.Run(format+" "+name, func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, exportArgs("events", format, scope, weekWindow)...)
				is.Equal(r.code, cli.ExitOK)
				rows := exportRows(t, format, r.stdout)

				// The issue opened on 5 July is before the window.
				is.Equal(column(rows, "event_type"), []string{"github.commit", "github.doc_change",
					"github.pull_request", "github.issue"})
				is.Equal(column(rows, "source_event_id"), []string{"abc123",
					"abc123:docs/roadmap.md", "101", "201"})
				is.Equal(column(rows, "repository"), []string{"leynos/wildside", "leynos/wildside",
					"leynos/wildside", "leynos/wildside"})
				is.Equal(column(rows, "occurred_at"), []string{"2024-07-10T09:30:00Z",
					"2024-07-10T09:30:00Z", "2024-07-11T12:00:00Z", "2024-07-12T08:00:00Z"})
				is.Equal(rows[0]["source_system"], "github")
				for _, row := range rows {
					is.True(row["event_fact_id"] != "")
					is.True(row["raw_event_id"] != "")
				}
				is.Equal(payloadField(t, rows[0], "sha"), "abc123")
				is.Equal(payloadField(t, rows[3], "title"), "Map tiles load slowly")
			})
		}
	}
}

func testExportEvidence(t *testing.T, env map[string]string) {
	for _, format := range exportFormats {
		t.Run(format, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, exportArgs("evidence", format, estateScope, weekWindow)...)
			is.Equal(r.code, cli.ExitOK)
			rows := exportRows(t, format, r.stdout)

			is.Equal(column(rows, "kind"), []string{"commit", "documentation_change",
				"pull_request", "issue"})
			is.Equal(column(rows, "key"), []string{"abc123", "docs/roadmap.md", "7", "8"})
			is.Equal(column(rows, "title"), []string{"feat: add walks", "", "Add walk planner",
				"Map tiles load slowly"})
			is.Equal(column(rows, "author"), []string{"", "", "leynos", "payton"})
			is.Equal(column(rows, "state"), []string{"", "modified", "merged", "closed"})
			is.Equal(column(rows, "source_event_id"), []string{"abc123", "abc123:docs/roadmap.md",
				"101", "201"})
			for _, row := range rows {
				is.True(row["event_fact_id"] != "")
				is.True(row["raw_event_id"] != "")
			}
		})
	}
}

func testExportReports(t *testing.T, env map[string]string) {
	for _, format := range exportFormats {
		t.Run(format, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, exportArgs("reports", format, estateScope, weekWindow)...)
			is.Equal(r.code, cli.ExitOK)
			rows := exportRows(t, format, r.stdout)

			// Of the six repositories only leynos/wildside had events, so
			// the window has one repository report, two project reports
			// and the estate's.
			is.Equal(column(rows, "scope"), []string{"estate", "project", "project", "repository"})
			is.Equal(column(rows, "subject"), []string{"wildside", "wildside/df12-foundations",
				"wildside/wildside", "leynos/wildside"})
			is.Equal(rows[3]["status"], "on_track")
			is.Equal(rows[3]["model"], "mock")
			is.Equal(rows[3]["window_start"], "2024-07-07T00:00:00Z")
			is.Equal(rows[3]["window_end"], "2024-07-14T00:00:00Z")
			is.True(rows[3]["summary"] != "")
			_, covered := rows[3]["event_fact_ids"]
			is.True(!covered) // only with --include-coverage

			r = run(t, env, append(exportArgs("reports", format, wildsideScope, weekWindow),
				"--include-coverage")...)
			is.Equal(r.code, cli.ExitOK)
			rows = exportRows(t, format, r.stdout)
			is.Equal(len(rows), 1)
			var facts, raws []int64
			is.NoErr(json.Unmarshal([]byte(rows[0]["event_fact_ids"]), &facts))
			is.NoErr(json.Unmarshal([]byte(rows[0]["raw_event_ids"]), &raws))
			is.Equal(len(facts), 4)
			is.Equal(len(raws), 4)
		})
	}

	t.Run("overlap", func(t *testing.T) {
		is := is.New(t)
		// The window's last microsecond overlaps; the next window does not.
		r := run(t, env, exportArgs("reports", "jsonl", wildsideScope,
			[]string{"--window-start", "2024-07-13T23:59:59.999999Z",
				"--window-end", "2024-07-20T00:00:00Z"})...)
		is.Equal(r.code, cli.ExitOK)
		is.Equal(len(exportRows(t, "jsonl", r.stdout)), 1)

		r = run(t, env, exportArgs("reports", "jsonl", wildsideScope,
			[]string{"--window-start", "2024-07-14T00:00:00Z",
				"--window-end", "2024-07-20T00:00:00Z"})...)
		is.Equal(r.code, cli.ExitOK)
		is.Equal(r.stdout, "")
	})
}

func testExportBundle(t *testing.T, env map[string]string) {
	is := is.New(t)
	ctx := context.Background()

	r := run(t, env, exportArgs("bundle", "json", wildsideScope, weekWindow)...)
	is.Equal(r.code, cli.ExitOK)

	db, err := store.Open(ctx, env["GHILLIE_DATABASE_URL"])
	is.NoErr(err)
	defer db.Close()
	repo, err := registry.NewService(db, nil).Get(ctx, "leynos", "wildside")
	is.NoErr(err)
	end := time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)
	bundle, err := evidence.NewBuilder(db).Repository(ctx, repo.ID, end.AddDate(0, 0, -7), end)
	is.NoErr(err)
	want, err := json.Marshal(bundle)
	is.NoErr(err)
	is.Equal(r.stdout, string(want)+"\n") // byte for byte as the builder makes it
	is.Equal(len(bundle.EventFactIDs), 4)

	r = run(t, env, exportArgs("bundle", "jsonl", estateScope, weekWindow)...)
	is.Equal(r.code, cli.ExitOK)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	is.Equal(len(lines), 6) // one bundle per repository of the estate
	is.True(strings.Contains(r.stdout, string(want)+"\n"))

	r = run(t, env, exportArgs("bundle", "json", estateScope, weekWindow)...)
	is.Equal(r.code, cli.ExitOK)
	var bundles []evidence.RepositoryBundle
	is.NoErr(json.Unmarshal([]byte(r.stdout), &bundles))
	is.Equal(len(bundles), 6)
	is.Equal(bundles[0].Repository.Slug(), "leynos/ortho-config")

	r = run(t, env, exportArgs("bundle", "csv", estateScope, weekWindow)...)
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, `invalid --format "csv": use json or jsonl`))
}

func testExportEmpty(t *testing.T, env map[string]string) {
	empty := []string{"--window-start", "2020-01-01T00:00:00Z", "--window-end", "2020-01-08T00:00:00Z"}
	want := map[string]map[string]string{
		"events": {"json": "[]\n", "jsonl": "",
			"csv": "event_fact_id,raw_event_id,source_system,source_event_id,event_type," +
				"repository,occurred_at,payload\n"},
		"evidence": {"json": "[]\n", "jsonl": "",
			"csv": "event_fact_id,raw_event_id,source_system,source_event_id,event_type," +
				"repository,occurred_at,kind,key,title,author,state,payload\n"},
		"reports": {"json": "[]\n", "jsonl": "",
			"csv": "id,scope,subject,window_start,window_end,generated_at,status,model,summary\n"},
	}
	for kind, outputs := range want {
		for format, output := range outputs {
			t.Run(kind+" "+format, func(t *testing.T) {
				is := is.New(t)
				r := run(t, env, exportArgs(kind, format, estateScope, empty)...)
				is.Equal(r.code, cli.ExitOK)
				is.Equal(r.stdout, output)
			})
		}
	}

	t.Run("bundle", func(t *testing.T) {
		is := is.New(t)
		r := run(t, env, exportArgs("bundle", "json", wildsideScope, empty)...)
		is.Equal(r.code, cli.ExitOK)
		var bundle evidence.RepositoryBundle
		is.NoErr(json.Unmarshal([]byte(r.stdout), &bundle))
		is.Equal(bundle.TotalEvents(), 0)
	})
}

func testExportOutputPath(t *testing.T, env map[string]string) {
	is := is.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "events.csv")
	is.NoErr(os.WriteFile(path, []byte("old"), 0o600))

	r := run(t, env, append(exportArgs("events", "csv", wildsideScope, weekWindow),
		"--output-path", path)...)
	is.Equal(r.code, cli.ExitOK)
	is.Equal(r.stdout, "")
	written, err := os.ReadFile(path)
	is.NoErr(err)
	is.Equal(len(exportRows(t, "csv", string(written))), 4) // replaced, not appended to
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 1) // no temporary file left behind

	r = run(t, env, append(exportArgs("events", "csv", wildsideScope, weekWindow),
		"--output-path", dir)...)
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, "is a directory"))

	// A failed export leaves an existing file as it was.
	r = run(t, env, append(exportArgs("events", "csv", []string{"--scope", "repository",
		"--owner", "leynos", "--name", "nope"}, weekWindow), "--output-path", path)...)
	is.Equal(r.code, cli.ExitFailure)
	after, err := os.ReadFile(path)
	is.NoErr(err)
	is.True(bytes.Equal(after, written))
}

func testExportFailures(t *testing.T, env map[string]string) {
	for _, kind := range []string{"events", "evidence", "reports", "bundle"} {
		t.Run(kind, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, exportArgs(kind, "json", []string{"--scope", "repository",
				"--owner", "leynos", "--name", "nope"}, weekWindow)...)
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, "repository leynos/nope not found"))

			r = run(t, env, exportArgs(kind, "json", []string{"--scope", "estate",
				"--estate-key", "nope"}, weekWindow)...)
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, `estate "nope" not found`))

			r = run(t, env, exportArgs(kind, "xml", wildsideScope, weekWindow)...)
			is.Equal(r.code, cli.ExitUsage)
			first, _, _ := strings.Cut(r.stderr, "\n")
			is.True(strings.HasPrefix(first, `ghillie: invalid --format "xml": use json`))
		})
	}
}

func TestExportUsage(t *testing.T) {
	for _, kind := range []string{"events", "evidence", "reports", "bundle"} {
		for _, tt := range windowUsageTests {
			t.Run(kind+" "+tt.name, func(t *testing.T) {
				is := is.New(t)
				r := run(t, nil, append([]string{"export", kind}, tt.args...)...)
				is.Equal(r.code, cli.ExitUsage)
				first, _, _ := strings.Cut(r.stderr, "\n")
				is.True(strings.HasPrefix(first, "ghillie: "+tt.want))
			})
		}
	}
}

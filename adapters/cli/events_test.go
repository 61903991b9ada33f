package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store/storetest"
)

func envelopeLine(id int) string {
	return fmt.Sprintf(`{"source_system":"github","event_type":"github.issue","source_event_id":"%d",`+
		`"repo_external_id":"octo/reef","occurred_at":"2024-07-02T09:30:00Z",`+
		`"payload":{"id":%d,"number":%d,"title":"Issue %d"}}`, id, id, id, id)
}

func migratedEnv(t *testing.T, dialect string) map[string]string {
	t.Helper()

	env := layoutEnv(t, dialect)
	if r := run(t, env, "migrate"); r.code != cli.ExitOK {
		t.Fatalf("migrate: %s", r.stderr)
	}
	return env
}

// layoutEnv returns the database settings of fresh, empty databases in
// the storetest layout with the name, such as "sqlite" or "mixed".
func layoutEnv(t *testing.T, layout string) map[string]string {
	t.Helper()

	main, catalogue := storetest.LayoutURLs(t, storetest.LayoutNamed(t, layout))
	env := map[string]string{"GHILLIE_DATABASE_URL": main}
	if catalogue != "" {
		env["GHILLIE_CATALOGUE_DATABASE_URL"] = catalogue
	}
	return env
}

func TestEventsImport(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := migratedEnv(t, d)

			var lines []string
			for i := range 2500 {
				lines = append(lines, envelopeLine(i))
			}
			lines = append(lines, "", envelopeLine(3), `{"source_system":"github"}`,
				`{"source_system":"github","event_type":"github.issue","occurred_at":"2024-07-02T09:30:00Z",`+
					`"payload":{"x":1e999}}`, "not json")
			path := writeFile(t, t.TempDir(), "events.jsonl", strings.Join(lines, "\n")+"\n")

			r := run(t, env, "-o", "json", "events", "import", path)
			is.Equal(r.code, cli.ExitFailure) // rejected lines make the exit status 1

			var report struct {
				New       int `json:"new"`
				Duplicate int `json:"duplicate"`
				Rejected  int `json:"rejected"`
				Lines     []struct {
					Line   int    `json:"line"`
					Reason string `json:"reason"`
				} `json:"rejected_lines"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &report))
			is.Equal(report.New, 2500)
			is.Equal(report.Duplicate, 1)
			is.Equal(report.Rejected, 3)
			is.Equal(report.Lines[0].Line, 2503)
			is.True(strings.Contains(report.Lines[0].Reason, "occurred_at is missing"))
			is.Equal(report.Lines[1].Line, 2504)
			is.True(strings.Contains(report.Lines[1].Reason, "payload.x"))
			is.Equal(report.Lines[2].Line, 2505)
			is.True(strings.Contains(r.stderr, path+": line 2505: invalid envelope JSON"))

			again := runWithInput(t, env, strings.Join(lines[:10], "\n"), "events", "import", "-")
			is.Equal(again.code, cli.ExitOK)
			fields := strings.Fields(strings.Split(strings.TrimSpace(again.stdout), "\n")[1])
			is.Equal(fields, []string{"0", "10", "0"}) // replays store nothing new
		})
	}
}

func TestEventsImportMissingFile(t *testing.T) {
	is := is.New(t)

	r := run(t, migratedEnv(t, "sqlite"), "events", "import", "nope.jsonl")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "nope.jsonl"))
}

func TestEventsImportFolder(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()

	r := run(t, migratedEnv(t, "sqlite"), "events", "import", dir)
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, fmt.Sprintf("%q is a folder", dir)))
	is.True(strings.Contains(r.stderr, "- for standard input")) // names the fix
}

// failingReader returns its text, then err.
type failingReader struct {
	text io.Reader
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	n, err := r.text.Read(p)
	if errors.Is(err, io.EOF) {
		return n, r.err
	}
	return n, err
}

func TestEventsImportReportsStoredOnFailure(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := migratedEnv(t, d)

			var lines strings.Builder
			for i := range 1500 {
				lines.WriteString(envelopeLine(i) + "\n")
			}
			input := &failingReader{text: strings.NewReader(lines.String()),
				err: errors.New("connection reset")}

			var stdout, stderr strings.Builder
			code := cli.Run(context.Background(), []string{"events", "import", "-"}, input,
				&stdout, &stderr, func(key string) string { return env[key] })
			is.Equal(code, cli.ExitFailure)
			is.True(strings.Contains(stderr.String(), "connection reset"))
			is.True(strings.Contains(stderr.String(),
				"1000 events were stored before the failure (1000 new, 0 duplicate)")) // the first batch
			is.Equal(stdout.String(), "")
		})
	}
}

func TestEventsImportLongLineAndBOM(t *testing.T) {
	is := is.New(t)
	env := migratedEnv(t, "sqlite")
	defer cli.SetMaxEnvelopeLine(4096)()

	long := `{"source_system":"github","event_type":"x","occurred_at":"2024-07-02T09:30:00Z",` +
		`"payload":{"text":"` + strings.Repeat("a", 5000) + `"}}`
	input := "\uFEFF" + envelopeLine(1) + "\r\n" + long + "\n" + envelopeLine(2)

	r := runWithInput(t, env, input, "-o", "json", "events", "import", "-")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stdout, `"new": 2`))    // lines around the long one are stored
	is.True(strings.Contains(r.stdout, `"line": 2`))   // the long line is rejected by number
	is.True(strings.Contains(r.stdout, "longer than")) // with the reason
}

func TestEventsImportSeveralBadPayloads(t *testing.T) {
	is := is.New(t)
	env := migratedEnv(t, "sqlite")
	bad := func(n string) string {
		return `{"source_system":"github","event_type":"x","occurred_at":"2024-07-02T09:30:00Z",` +
			`"payload":{"n":` + n + `}}`
	}
	input := strings.Join([]string{envelopeLine(1), bad("1e999"), "not json", bad("-1e999"),
		envelopeLine(2)}, "\n")

	r := runWithInput(t, env, input, "-o", "json", "events", "import", "-")
	is.Equal(r.code, cli.ExitFailure)

	var report struct {
		New   int `json:"new"`
		Lines []struct {
			Line int `json:"line"`
		} `json:"rejected_lines"`
	}
	is.NoErr(json.Unmarshal([]byte(r.stdout), &report))
	is.Equal(report.New, 2) // the good lines of the batch are written
	is.Equal(len(report.Lines), 3)
	is.Equal(report.Lines[0].Line, 2) // rejected lines are listed in line order
	is.Equal(report.Lines[1].Line, 3)
	is.Equal(report.Lines[2].Line, 4)
}

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store/storetest"
)

const example = "../../examples/wildside-catalogue.yaml"

type result struct {
	code           int
	stdout, stderr string
}

// run executes the command in process with only the given environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runWithInput(t, env, "", args...)
}

// runWithInput is run with text on standard input.
func runWithInput(t *testing.T, env map[string]string, input string, args ...string) result {
	t.Helper()

	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(input), &stdout, &stderr,
		func(key string) string { return env[key] })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()

	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLintValid(t *testing.T) {
	is := is.New(t)

	r := run(t, nil, "catalogue", "lint", example)
	is.Equal(r.code, cli.ExitOK)
	is.Equal(r.stdout, "catalogue "+example+" is valid (2 projects / 7 components)\n")
	is.Equal(r.stderr, "")
}

func TestLintWritesSchemaAndJSON(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "out", "catalogue.schema.json")
	jsonPath := filepath.Join(dir, "out", "catalogue.json")

	r := run(t, nil, "catalogue", "lint", example, "--schema-out", schemaPath, "--json-out", jsonPath)
	is.Equal(r.code, cli.ExitOK)

	committed, err := os.ReadFile("../../schemas/catalogue.schema.json")
	is.NoErr(err)
	written, err := os.ReadFile(schemaPath)
	is.NoErr(err)
	is.Equal(string(written), string(committed)) // same schema as the committed file

	var doc struct {
		Version  int `json:"version"`
		Projects []struct {
			Key        string `json:"key"`
			Components []struct {
				Key       string          `json:"key"`
				Type      string          `json:"type"`
				Lifecycle string          `json:"lifecycle"`
				DependsOn json.RawMessage `json:"depends_on"`
			} `json:"components"`
		} `json:"projects"`
	}
	raw, err := os.ReadFile(jsonPath)
	is.NoErr(err)
	is.NoErr(json.Unmarshal(raw, &doc))
	is.Equal(doc.Version, 1)
	is.Equal(doc.Projects[0].Key, "wildside")
	for _, c := range doc.Projects[0].Components {
		is.True(c.Type != "")      // default filled
		is.True(c.Lifecycle != "") // default filled
		is.True(c.DependsOn != nil && string(c.DependsOn) != "null")
	}
}

func TestLintInvalid(t *testing.T) {
	is := is.New(t)
	path := writeFile(t, t.TempDir(), "bad.yaml", `version: 1
projects:
  - key: bad slug!
    name: Bad
    components:
      - key: api
        name: API
        depnds_on: []
`)

	r := run(t, nil, "catalogue", "lint", path)
	is.Equal(r.code, cli.ExitFailure)
	is.Equal(r.stdout, "")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	is.Equal(lines[0], "catalogue "+path+" is invalid (2 problems):")
	is.Equal(len(lines), 3) // every problem reported at once
	is.True(strings.HasPrefix(strings.TrimSpace(lines[1]), path+":3:"))
	is.True(strings.Contains(lines[1], "bad slug!"))
	is.True(strings.HasPrefix(strings.TrimSpace(lines[2]), path+":8:"))
	is.True(strings.Contains(lines[2], "depnds_on"))
}

func TestLintInvalidJSONOutput(t *testing.T) {
	is := is.New(t)
	path := writeFile(t, t.TempDir(), "bad.yaml", "version: 0\nprojects: []\n")

	r := run(t, nil, "-o", "json", "catalogue", "lint", path)
	is.Equal(r.code, cli.ExitFailure)

	var report struct {
		Valid  bool `json:"valid"`
		Issues []struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"issues"`
	}
	is.NoErr(json.Unmarshal([]byte(r.stdout), &report))
	is.True(!report.Valid)
	is.Equal(len(report.Issues), 1)
	is.Equal(report.Issues[0].Line, 1)
}

func TestLintMissingFile(t *testing.T) {
	is := is.New(t)

	r := run(t, nil, "catalogue", "lint", "no-such-file.yaml")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "no-such-file.yaml"))
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"catalogue", "lint"}, "expects 1 argument"},
		{"two files", []string{"catalogue", "lint", "a", "b"}, "expects 1 argument"},
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown flag", []string{"migrate", "--bogus"}, "unknown flag: --bogus"},
		{"bad output", []string{"-o", "xml", "migrate"}, `invalid --output "xml"`},
		{"bad log level", []string{"--log-level", "loud", "migrate"}, `invalid --log-level "loud"`},
		{"missing flags", []string{"estate", "import", "--estate-key", "x"}, `"catalogue-path", "commit-sha"`},
		{"unknown subcommand", []string{"estate", "imprt"}, `unknown command "imprt" for "ghillie estate"`},
		{"unknown subcommand flags", []string{"estate", "imprt", "--estate-key", "x"}, `unknown command "imprt"`},
		{"unknown lint", []string{"catalogue", "bogus"}, `unknown command "bogus" for "ghillie catalogue"`},
		{"no arguments", []string{"migrate", "extra"}, `ghillie migrate takes no arguments, got ["extra"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, nil, tt.args...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, tt.want)) // message names the mistake
		})
	}
}

func TestUsageHintNamesCommand(t *testing.T) {
	is := is.New(t)

	r := run(t, nil, "estate", "import", "--bogus")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, "Run 'ghillie estate import --help' for usage."))
}

func TestEnvironmentErrorsNameVariable(t *testing.T) {
	is := is.New(t)

	r := run(t, map[string]string{"GHILLIE_LOG_LEVEL": "loud"}, "migrate")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, `invalid GHILLIE_LOG_LEVEL "loud"`))

	r = run(t, map[string]string{"GHILLIE_DATABASE_URL": "mysql://u@h/db"}, "estate", "list")
	is.Equal(r.code, cli.ExitUsage)
	is.True(strings.Contains(r.stderr, "GHILLIE_DATABASE_URL: "))
}

func TestHelpHidesPassword(t *testing.T) {
	env := map[string]string{"GHILLIE_DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/db"}
	for _, args := range [][]string{{"--help"}, {"estate", "import", "--help"}, {"migrate", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, args...)
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "--database-url"))
			is.True(!strings.Contains(r.stdout+r.stderr, "hunter2"))
		})
	}
}

func TestReadCommandsCreateNothing(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	env := map[string]string{"GHILLIE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "typo.db")}

	r := run(t, env, "estate", "list")
	is.Equal(r.code, cli.ExitFailure)
	is.True(strings.Contains(r.stderr, "typo.db"))
	is.True(strings.Contains(r.stderr, "does not exist"))
	entries, err := os.ReadDir(dir)
	is.NoErr(err)
	is.Equal(len(entries), 0) // no database file created
}

func TestMemoryDatabaseNeedsNoMigrate(t *testing.T) {
	is := is.New(t)
	env := map[string]string{"GHILLIE_DATABASE_URL": "sqlite::memory:"}

	r := run(t, env, "estate", "import", "--estate-key", "demo", "--catalogue-path", example, "--commit-sha", "a1b2c3d")
	is.Equal(r.code, cli.ExitOK)
	is.True(strings.Contains(r.stdout, "projects"))
}

func TestLintJSONOutSameAsInput(t *testing.T) {
	is := is.New(t)
	original := "version: 1\nprojects: []\n"
	path := writeFile(t, t.TempDir(), "c.yaml", original)

	r := run(t, nil, "catalogue", "lint", path, "--json-out", path)
	is.Equal(r.code, cli.ExitUsage)
	content, err := os.ReadFile(path)
	is.NoErr(err)
	is.Equal(string(content), original) // catalogue not overwritten
}

func TestLintOutputFolder(t *testing.T) {
	for _, flag := range []string{"--json-out", "--schema-out"} {
		t.Run(flag, func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()

			r := run(t, nil, "catalogue", "lint", example, flag, dir)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, flag+" "+dir+" is a folder: give a file path"))
		})
	}
}

func TestLintWritesSchemaWhenInvalid(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "bad.yaml", "version: 0\nprojects: []\n")
	schemaPath := filepath.Join(dir, "schema.json")

	r := run(t, nil, "catalogue", "lint", path, "--schema-out", schemaPath)
	is.Equal(r.code, cli.ExitFailure)
	_, err := os.Stat(schemaPath)
	is.NoErr(err)
}

func TestLintSingular(t *testing.T) {
	is := is.New(t)
	path := writeFile(t, t.TempDir(), "one.yaml",
		"version: 1\nprojects:\n  - key: p\n    name: P\n    components:\n      - {key: c, name: C}\n")

	r := run(t, nil, "catalogue", "lint", path)
	is.Equal(r.code, cli.ExitOK)
	is.True(strings.HasSuffix(r.stdout, "is valid (1 project / 1 component)\n"))
}

func TestEstateCommands(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			is := is.New(t)
			env := map[string]string{"GHILLIE_DATABASE_URL": storetest.URL(t, d)}

			r := run(t, env, "estate", "list")
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, "'ghillie migrate'")) // names the command that creates it

			r = run(t, env, "migrate", "-o", "json")
			is.Equal(r.code, cli.ExitOK)
			var migrated struct {
				From int64 `json:"from_version"`
				To   int64 `json:"schema_version"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &migrated))
			is.Equal(migrated.From, int64(0))
			is.True(migrated.To >= 2)

			r = run(t, env, "migrate")
			is.Equal(r.code, cli.ExitOK) // second run is a no-op

			r = run(t, env, "-o", "json", "estate", "import", "--estate-key", "wildside",
				"--estate-name", "Wildside", "--catalogue-path", example, "--commit-sha", "abc1230")
			is.Equal(r.code, cli.ExitOK)
			var res struct {
				Skipped  bool `json:"skipped"`
				Projects struct {
					Created int `json:"created"`
				} `json:"projects"`
				Edges struct {
					Created int `json:"created"`
				} `json:"edges"`
			}
			is.NoErr(json.Unmarshal([]byte(r.stdout), &res))
			is.Equal(res.Projects.Created, 2)
			is.Equal(res.Edges.Created, 6)

			r = run(t, env, "estate", "import", "--estate-key", "wildside",
				"--catalogue-path", example, "--commit-sha", "abc1230")
			is.Equal(r.code, cli.ExitOK)
			is.True(strings.Contains(r.stdout, "skipped: commit already imported"))

			r = run(t, env, "estate", "list")
			is.Equal(r.code, cli.ExitOK)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			is.Equal(len(lines), 2)
			is.Equal(strings.Fields(lines[1])[:6], []string{"wildside", "Wildside", "2", "7", "6", "abc1230"})
		})
	}
}

func TestEstateImportInvalid(t *testing.T) {
	is := is.New(t)
	env := map[string]string{"GHILLIE_DATABASE_URL": storetest.URL(t, "sqlite")}
	path := writeFile(t, t.TempDir(), "bad.yaml", "version: 1\nprojects:\n  - key: x\n")

	is.Equal(run(t, env, "migrate").code, cli.ExitOK)
	r := run(t, env, "estate", "import", "--estate-key", "demo", "--catalogue-path", path, "--commit-sha", "a1b2c3d")
	is.Equal(r.code, cli.ExitFailure)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	is.True(strings.HasPrefix(lines[0], "catalogue "+path+" is invalid (")) // same report as lint
	is.True(strings.HasPrefix(lines[1], "  "+path+":3:"))                   // issue with its position

	r = run(t, env, "-o", "json", "estate", "list")
	is.Equal(strings.TrimSpace(r.stdout), "[]") // nothing was imported
}

func TestDatabaseURLFlagOverridesEnv(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	env := map[string]string{"GHILLIE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "env.db")}

	r := run(t, env, "--database-url", "sqlite:"+filepath.Join(dir, "flag.db"), "migrate")
	is.Equal(r.code, cli.ExitOK)
	_, err := os.Stat(filepath.Join(dir, "flag.db"))
	is.NoErr(err)
	_, err = os.Stat(filepath.Join(dir, "env.db"))
	is.True(os.IsNotExist(err))
}

func TestLogLevelNames(t *testing.T) {
	for _, level := range []string{"TRACE", "debug", "INFO", "Warning", "warn", "ERROR", "critical"} {
		t.Run(level, func(t *testing.T) {
			r := run(t, map[string]string{"GHILLIE_LOG_LEVEL": level}, "catalogue", "lint", example)
			is.New(t).Equal(r.code, cli.ExitOK)
		})
	}
}

// Package quickstart_test runs the quickstart command of the README.
package quickstart_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store"
)

// root is the repository root, relative to this folder.
const root = "../.."

// readmeCommand returns the arguments of the README's 'go run ./ghillie
// run' command, joined across its continuation lines.
func readmeCommand(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "go run ./ghillie run ") {
			continue
		}
		command := strings.TrimSpace(line)
		for strings.HasSuffix(command, `\`) && i+1 < len(lines) {
			i++
			command = strings.TrimSuffix(command, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if strings.ContainsAny(command, `"'$|&;<>`) {
			t.Fatalf("README command %q uses shell syntax this test cannot run", command)
		}
		return strings.Fields(command)[3:] // after "go run ./ghillie"
	}
	t.Fatal("README.md has no 'go run ./ghillie run' command")
	return nil
}

// copyTree copies the file or folder at path below root to the same
// path below dir.
func copyTree(t *testing.T, path, dir string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(root, path), func(src string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, src)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadmeCommand runs the README's quickstart command as a new user
// would: in a folder containing only the files it names, with no Ghillie
// variable set.
func TestReadmeCommand(t *testing.T) {
	is := is.New(t)
	args := readmeCommand(t)
	dir := t.TempDir()
	for _, arg := range args {
		if strings.HasPrefix(arg, "examples/") {
			copyTree(t, arg, dir)
		}
	}
	t.Chdir(dir)

	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr,
		func(string) string { return "" })
	is.Equal(code, cli.ExitOK) // stderr: stderr.String()

	out := stdout.String()
	is.True(strings.HasPrefix(out, "SCOPE ")) // the summary table comes first
	for _, row := range []string{
		"repository  kestrel-labs/config-kit ", "repository  kestrel-labs/courier-api ",
		"repository  kestrel-labs/courier-web ", "repository  kestrel-labs/test-harness ",
		"project     courier ", "project     foundations ", "estate      kestrel ",
	} {
		is.True(strings.Contains(out, row)) // a row of every report
	}
	is.Equal(strings.Count(out, " created "), 7) // every report was written
	is.True(strings.Contains(out, "Ingested 55 events from 4 repositories (0 failed)"))
	is.True(strings.Contains(out, "Reports are in "+filepath.Join(dir, "reports")))

	reports := map[string]string{}
	for _, path := range []string{
		"kestrel-labs/config-kit", "kestrel-labs/courier-api", "kestrel-labs/courier-web",
		"kestrel-labs/test-harness", "estates/kestrel/projects/courier",
		"estates/kestrel/projects/foundations", "estates/kestrel",
	} {
		data, err := os.ReadFile(filepath.Join(dir, "reports", path, "latest.md"))
		is.NoErr(err) // every repository, project and the estate has a report on disk
		reports[path] = string(data)
	}

	api := reports["kestrel-labs/courier-api"]
	is.True(strings.Contains(api, "Status report (2025-06-06 to 2025-06-13)")) // the recording's week
	is.True(strings.Contains(api, "with 18 events including 6 commits"))
	is.True(strings.Contains(api, "feat: add delivery window estimates to tracking responses"))
	is.True(strings.Contains(reports["kestrel-labs/courier-web"], "**Status:** At Risk"))
	is.True(strings.Contains(reports["estates/kestrel"], "[Courier]"))
	for path, text := range reports {
		if strings.Contains(strings.ToLower(text), "dependabot") || strings.Contains(text, "bump") {
			t.Errorf("report %s mentions the dependency bumps that the noise filters drop", path)
		}
	}

	// Dependabot's commits and pull requests never reach Bronze.
	db, err := store.OpenExisting(context.Background(), "sqlite:"+filepath.Join(dir, "ghillie.db"))
	is.NoErr(err)
	defer db.Close()
	var total, bot, person int
	is.NoErr(db.Get(&total, "SELECT COUNT(*) FROM raw_events"))
	is.NoErr(db.Get(&bot, "SELECT COUNT(*) FROM raw_events WHERE payload LIKE '%dependabot%'"))
	is.NoErr(db.Get(&person, "SELECT COUNT(*) FROM raw_events WHERE payload LIKE '%priya-raman%'"))
	is.Equal(total, 55)
	is.True(person > 0) // payloads name their authors, so a bot's events would show
	is.Equal(bot, 0)
}

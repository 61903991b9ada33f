package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestRunImportsExample(t *testing.T) {
	is := is.New(t)
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	args := []string{"-database-url", dbURL, "-catalogue", "../wildside-catalogue.yaml", "-commit", "abc"}

	var out, logs bytes.Buffer
	is.NoErr(run(context.Background(), args, &out, &logs))
	is.Equal(out.String(), `estate wildside, commit "abc", skipped false
projects     created 2, updated 0, deleted 0
components   created 7, updated 0, deleted 0
repositories created 6, updated 0, deleted 0
edges        created 6, updated 0, deleted 0
`)
	is.True(strings.Contains(logs.String(), "catalogue.import.completed"))

	out.Reset()
	is.NoErr(run(context.Background(), args, &out, &logs))
	is.True(strings.HasPrefix(out.String(), `estate wildside, commit "abc", skipped true`))
}

func TestRunImportsIntoCatalogueDatabase(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	args := []string{"-database-url", "sqlite:" + filepath.Join(dir, "main.db"),
		"-catalogue-database-url", "sqlite:" + filepath.Join(dir, "catalogue.db"),
		"-catalogue", "../wildside-catalogue.yaml", "-commit", "abc"}

	var out, logs bytes.Buffer
	is.NoErr(run(context.Background(), args, &out, &logs))
	is.True(strings.Contains(out.String(), "projects     created 2"))

	// The second run finds the commit in the catalogue database.
	out.Reset()
	is.NoErr(run(context.Background(), args, &out, &logs))
	is.True(strings.HasPrefix(out.String(), `estate wildside, commit "abc", skipped true`))

	// Without it, the main database's own catalogue tables are empty.
	out.Reset()
	mainOnly := append(args[:2:2], args[4:]...)
	is.NoErr(run(context.Background(), mainOnly, &out, &logs))
	is.True(strings.Contains(out.String(), "skipped false"))
}

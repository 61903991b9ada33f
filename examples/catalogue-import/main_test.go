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

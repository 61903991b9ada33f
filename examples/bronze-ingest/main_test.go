package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/matryer/is"
)

func TestRunWritesOnceAndTransforms(t *testing.T) {
	is := is.New(t)
	url := "sqlite:" + filepath.Join(t.TempDir(), "bronze.db")

	var out bytes.Buffer
	is.NoErr(run(context.Background(), []string{"-database-url", url}, &out))
	is.Equal(out.String(), `raw event 1 stored, state pending
same event again: raw event 1, no new row
transformed: 0 processed, 1 skipped, 0 failed
`)
}

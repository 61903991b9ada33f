package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/matryer/is"
)

func TestRunHydratesOnce(t *testing.T) {
	is := is.New(t)

	var out bytes.Buffer
	is.NoErr(run(context.Background(), nil, &out))
	is.Equal(out.String(), `commit abc123 in octo/reef (branch main): "docs: refresh roadmap" at 2024-07-02T09:30:00Z
ad hoc repository, ingestion enabled: false
after two rounds: 1 repository, 1 commit, 1 event fact
`)
}

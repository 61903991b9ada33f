package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/matryer/is"
)

func TestRunIngestsOnce(t *testing.T) {
	is := is.New(t)

	var out bytes.Buffer
	is.NoErr(run(context.Background(), nil, &out))
	is.Equal(out.String(), `first run: commits 2, pull requests 1, documentation changes 1, GitHub requests 1
second run: commits 0, pull requests 0, documentation changes 0, GitHub requests 1
refined 4 events into Silver
`)
}

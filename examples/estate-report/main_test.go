package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestRunWritesEveryReport(t *testing.T) {
	is := is.New(t)

	var out bytes.Buffer
	is.NoErr(run(context.Background(), []string{"-catalogue", "../wildside-catalogue.yaml"}, &out))
	lines := strings.Split(out.String(), "\n")
	is.Equal(strings.Fields(lines[0]), []string{"repository", "leynos/ortho-config", "skipped,", "no",
		"events"})
	is.True(strings.Contains(out.String(), "repository leynos/wildside"))
	is.True(strings.Contains(out.String(), "project    wildside"))
	is.True(strings.Contains(out.String(), "estate     wildside"))
	is.True(strings.Contains(out.String(), "# Wildside — Estate status report (2024-07-07 to 2024-07-14)"))
	is.True(strings.Contains(out.String(), "## Projects"))
}

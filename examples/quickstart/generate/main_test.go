package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"
)

// TestRecordingIsUpToDate regenerates the recording and compares it with
// the shipped one, file by file, so the generator and the recording
// cannot drift apart.
func TestRecordingIsUpToDate(t *testing.T) {
	is := is.New(t)
	out := filepath.Join(t.TempDir(), "recording")

	var stdout bytes.Buffer
	is.NoErr(run(context.Background(), []string{"-catalogue", "../catalogue.yaml", "-out", out}, &stdout))

	shipped := readRecording(t, "../recording")
	generated := readRecording(t, out)
	for name, data := range generated {
		if !bytes.Equal(shipped[name], data) {
			t.Errorf("%s differs from the generated recording: run 'go generate ./examples/quickstart/...'",
				name)
		}
	}
	for name := range shipped {
		if _, ok := generated[name]; !ok {
			t.Errorf("%s is not generated any more: run 'go generate ./examples/quickstart/...'", name)
		}
	}
}

func TestRecordingIsSmall(t *testing.T) {
	total := 0
	for _, data := range readRecording(t, "../recording") {
		total += len(data)
	}
	if total > 512<<10 {
		t.Errorf("the recording takes %d bytes, more than 512 KiB: shorten the quickstart's activity", total)
	}
}

func TestRunNeedsOut(t *testing.T) {
	is := is.New(t)
	err := run(context.Background(), []string{"-catalogue", "../catalogue.yaml"}, &bytes.Buffer{})
	is.True(err != nil) // -out is required
}

// readRecording returns the contents of the JSON files in dir by name.
func readRecording(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no recording in %s", dir)
	}
	files := map[string][]byte{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(path)] = data
	}
	return files
}

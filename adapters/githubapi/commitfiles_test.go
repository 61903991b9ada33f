package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/ingest"
)

func TestCommitFilesFollowsPages(t *testing.T) {
	is := is.New(t)
	var paths []string
	var server string
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.RequestURI())
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		files := map[int]arr{
			1: {
				obj{"filename": "docs/new.md", "status": "added"},
				obj{
					"filename": "docs/adr/0002.md", "status": "renamed",
					"previous_filename": "docs/adr/2.md",
				},
			},
			2: {obj{"filename": "README.md", "status": "modified"}},
			3: {obj{"filename": "old.md", "status": "removed"}},
		}[page]
		if page < 3 {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/repositories/1/commits/abc?page=%d>; rel="next"`,
				server, page+1))
		}
		writeJSON(w, http.StatusOK, obj{"sha": "abc", "files": files})
	}))
	server = h.server.URL

	got, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
	is.NoErr(err)
	is.Equal(got.Requests, 3)
	is.Equal(got.Files, []ingest.ChangedFile{
		{Path: "docs/new.md", Status: "added"},
		{Path: "docs/adr/0002.md", PreviousPath: "docs/adr/2.md", Status: "renamed"},
		{Path: "README.md", Status: "modified"},
		{Path: "old.md", Status: "removed"},
	})
	is.Equal(paths, []string{
		"/api/v3/repos/octo/reef/commits/abc",
		"/api/v3/repos/octo/reef/commits/abc?page=2",
		"/api/v3/repos/octo/reef/commits/abc?page=3",
	})
}

func TestCommitFilesErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     any
		notFound bool
		apiErr   *ingest.APIError
		field    string
	}{
		{"not found", 404, obj{"message": "Not Found"}, true, nil, ""},
		{"unknown commit", 422, obj{"message": "No commit found for SHA: abc"},
			false, &ingest.APIError{Status: 422, Message: "No commit found for SHA: abc"}, ""},
		{"server error", 500, obj{"message": "boom"},
			false, &ingest.APIError{Status: 500, Message: "boom"}, ""},
		{"file without name", 200, obj{"files": arr{obj{"status": "added"}}}, false, nil, "files.0.filename"},
		{"file without status", 200, obj{"files": arr{obj{"filename": "a"}}}, false, nil, "files.0.status"},
		{"not a commit", 200, arr{1, 2}, false, nil, "commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			h := newHarness(t, answerWith(tt.status, tt.body))

			_, err := h.client.CommitFiles(context.Background(), "octo", "reef", "abc")
			is.True(err != nil)
			is.Equal(errors.Is(err, ingest.ErrNotFound), tt.notFound)
			if tt.apiErr != nil {
				var apiErr *ingest.APIError
				is.True(errors.As(err, &apiErr))
				is.Equal(*apiErr, *tt.apiErr)
			}
			if tt.field != "" {
				var shape *ingest.ShapeError
				is.True(errors.As(err, &shape))
				is.Equal(shape.Field, tt.field)
			}
		})
	}
}

func TestCommitFilesRejectsEmptyArguments(t *testing.T) {
	is := is.New(t)
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("an invalid call must not reach GitHub")
	}))
	_, err := h.client.CommitFiles(context.Background(), "octo", "reef", " ")
	is.True(err != nil)
}

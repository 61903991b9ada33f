package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/ghillie/ghillie/ingest"
)

// maxCommitFilePages bounds the pages of one commit's files. GitHub
// lists at most 3000 files, 300 a page, so more pages mean a server
// that keeps linking to a next page.
const maxCommitFilePages = 20

// CommitFiles lists the files commit sha of owner/name changed, with
// REST GET /repos/{owner}/{repo}/commits/{sha}, following the pages of
// 300 files GitHub splits large commits into. A 404 returns an error
// wrapping ingest.ErrNotFound; other refusals return an
// *ingest.APIError.
func (c *Client) CommitFiles(ctx context.Context, owner, name, sha string,
) (*ingest.CommitFiles, error) {
	for _, arg := range []string{owner, name, sha} {
		if strings.TrimSpace(arg) == "" {
			return nil, fmt.Errorf("commit files of %q/%q at %q: owner, name and sha are required",
				owner, name, sha)
		}
	}
	wrap := func(err error) error {
		return fmt.Errorf("commit files of %s/%s at %s: %w", owner, name, sha, err)
	}

	ex := &exchange{}
	ctx = withExchange(ctx, ex)
	files := &ingest.CommitFiles{Files: []ingest.ChangedFile{}}
	opts := &github.ListOptions{}
	for pages := 1; ; pages++ {
		commit, resp, err := c.rest.Repositories.GetCommit(ctx, owner, name, sha, opts)
		files.Requests = ex.requests
		if err != nil {
			return nil, wrap(restError(ex, err, "commit"))
		}

		for i, f := range commit.Files {
			changed, err := changedFile(f, opts.Page, i)
			if err != nil {
				return nil, wrap(err)
			}
			files.Files = append(files.Files, changed)
		}

		if resp.NextPage == 0 {
			return files, nil
		}
		if resp.NextPage <= opts.Page || pages >= maxCommitFilePages {
			loop := fmt.Errorf("next page %d after page %d, page %d of this listing",
				resp.NextPage, opts.Page, pages)
			return nil, wrap(&ingest.ShapeError{Field: "Link", Err: loop})
		}
		opts.Page = resp.NextPage
	}
}

// changedFile maps one file of a commit.
func changedFile(f *github.CommitFile, page, i int) (ingest.ChangedFile, error) {
	at := fmt.Sprintf("files.%d", i)
	if page > 1 {
		at = fmt.Sprintf("page %d files.%d", page, i)
	}
	if f.GetFilename() == "" {
		return ingest.ChangedFile{}, &ingest.ShapeError{Field: at + ".filename", Err: errMissing}
	}
	if f.GetStatus() == "" {
		return ingest.ChangedFile{}, &ingest.ShapeError{Field: at + ".status", Err: errMissing}
	}
	return ingest.ChangedFile{
		Path:         f.GetFilename(),
		PreviousPath: f.GetPreviousFilename(),
		Status:       f.GetStatus(),
	}, nil
}

// restError translates a go-github error: the limiter's own final
// error first, then 404 to ingest.ErrNotFound and other statuses to
// *ingest.APIError. A body go-github could not decode is a ShapeError
// on field, the response's name.
func restError(ex *exchange, err error, field string) error {
	if ex.err != nil {
		return ex.err
	}

	var limited *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &limited):
		return &ingest.APIError{
			Status: statusOf(limited.Response), Type: "RATE_LIMITED", Message: limited.Message,
		}
	case errors.As(err, &abuse):
		return &ingest.APIError{
			Status: statusOf(abuse.Response), Type: "RATE_LIMITED", Message: abuse.Message,
		}
	case errors.As(err, &resp) && statusOf(resp.Response) == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ingest.ErrNotFound, resp.Message)
	case errors.As(err, &resp):
		return &ingest.APIError{Status: statusOf(resp.Response), Message: resp.Message}
	case ex.status >= 200 && ex.status < 300:
		return &ingest.ShapeError{Field: field, Err: err}
	}
	return err
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

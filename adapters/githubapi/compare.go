package githubapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/ghillie/ghillie/ingest"
)

// Compare lists the commits reachable from head but not from base, oldest
// first, with REST GET /repos/{owner}/{repo}/compare/{base}...{head}, one
// page of ingest.ComparePageSize commits. page counts from 1, and base
// and head are shas or branch names. A 404 returns an error wrapping
// ingest.ErrNotFound: GitHub sends it for an unknown repository and for
// an unknown base or head, such as a commit a force push removed. Other
// failed statuses return an *ingest.APIError. A commit without a git
// author has a nil Author and a zero AuthoredDate.
func (c *Client) Compare(ctx context.Context, owner, name, base, head string, page int,
) (*ingest.Comparison, error) {
	for _, arg := range []string{owner, name, base, head} {
		if strings.TrimSpace(arg) == "" {
			return nil, fmt.Errorf("compare %q...%q of %q/%q: owner, name, base and head "+
				"are required", base, head, owner, name)
		}
	}
	if page < 1 {
		return nil, fmt.Errorf("compare %s...%s of %s/%s: page %d: pages count from 1",
			base, head, owner, name, page)
	}
	wrap := func(err error) error {
		return fmt.Errorf("compare %s...%s of %s/%s, page %d: %w", base, head, owner, name,
			page, err)
	}

	ex := &exchange{}
	opts := &github.ListOptions{Page: page, PerPage: ingest.ComparePageSize}
	cmp, resp, err := c.rest.Repositories.CompareCommits(withExchange(ctx, ex), owner, name,
		base, head, opts)
	if err != nil {
		return nil, wrap(restError(ex, err, "comparison"))
	}

	out := &ingest.Comparison{
		Status:       cmp.GetStatus(),
		TotalCommits: cmp.GetTotalCommits(),
		Commits:      make([]ingest.Commit, 0, len(cmp.Commits)),
		Requests:     ex.requests,
	}
	if out.Status == "" {
		return nil, wrap(&ingest.ShapeError{Field: "status", Err: errMissing})
	}
	if cmp.TotalCommits == nil {
		return nil, wrap(&ingest.ShapeError{Field: "total_commits", Err: errMissing})
	}
	for i, rc := range cmp.Commits {
		commit, err := comparedCommit(rc, i)
		if err != nil {
			return nil, wrap(err)
		}
		out.Commits = append(out.Commits, commit)
	}

	if resp.NextPage != 0 && resp.NextPage <= page {
		loop := fmt.Errorf("next page %d after page %d", resp.NextPage, page)
		return nil, wrap(&ingest.ShapeError{Field: "Link", Err: loop})
	}
	out.HasNextPage = resp.NextPage != 0
	return out, nil
}

// comparedCommit maps the i-th commit of a comparison as Activity maps
// a commit of a history.
func comparedCommit(rc *github.RepositoryCommit, i int) (ingest.Commit, error) {
	at := fmt.Sprintf("commits.%d", i)
	if rc == nil {
		return ingest.Commit{}, &ingest.ShapeError{Field: at, Err: errNull}
	}
	if rc.GetSHA() == "" {
		return ingest.Commit{}, &ingest.ShapeError{Field: at + ".sha", Err: errMissing}
	}
	git := rc.GetCommit()
	if git == nil {
		return ingest.Commit{}, &ingest.ShapeError{Field: at + ".commit", Err: errMissing}
	}
	committed := git.GetCommitter().GetDate()
	if committed.IsZero() {
		field := at + ".commit.committer.date"
		return ingest.Commit{}, &ingest.ShapeError{Field: field, Err: errMissing}
	}

	c := ingest.Commit{
		OID:           rc.GetSHA(),
		Message:       git.GetMessage(),
		CommittedDate: committed.UTC(),
	}
	if a := git.GetAuthor(); a != nil {
		authored := a.GetDate()
		if authored.IsZero() {
			field := at + ".commit.author.date"
			return ingest.Commit{}, &ingest.ShapeError{Field: field, Err: errMissing}
		}
		c.AuthoredDate = authored.UTC()
		c.Author = &ingest.GitActor{
			Name:  a.GetName(),
			Email: a.GetEmail(),
			Login: rc.GetAuthor().GetLogin(),
		}
	}
	return c, nil
}

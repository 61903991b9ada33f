package githubtest

import (
	"net/http"
	"slices"
	"strings"
)

// Page sizes of the compare endpoint: GitHub lists up to 250 commits
// when the request names no page size, and at most 100 a page when it
// does.
const (
	CompareDefaultPerPage = 250
	CompareMaxPerPage     = 100
)

// serveCompare serves GET /repos/{owner}/{repo}/compare/{base}...{head}:
// the commits reachable from head but not from base, oldest first, one
// page of them.
func (s *Server) serveCompare(w http.ResponseWriter, r *http.Request) {
	if !s.admitREST(w, r) {
		return
	}
	perPage := CompareDefaultPerPage
	if r.URL.Query().Has("per_page") {
		perPage = min(queryInt(r, "per_page", CompareMaxPerPage), CompareMaxPerPage)
	}
	page := queryInt(r, "page", 1)

	s.dataMu.RLock()
	defer s.dataMu.RUnlock()

	notFound := func() { writeJSON(w, http.StatusNotFound, restError("Not Found", docsCompare)) }
	repo, ok := s.repos[repoKey(r.PathValue("owner"), r.PathValue("repo"))]
	if !ok {
		notFound()
		return
	}
	baseRef, headRef, ok := strings.Cut(r.PathValue("basehead"), "...")
	if !ok {
		notFound()
		return
	}
	base, head := findCommit(repo, baseRef), findCommit(repo, headRef)
	if base == nil || head == nil {
		notFound()
		return
	}

	g := newCommitGraph(repo)
	fromBase, fromHead := g.ancestors(base.OID), g.ancestors(head.OID)
	var ahead []string
	behind := 0
	for oid := range fromHead {
		if !fromBase[oid] {
			ahead = append(ahead, oid)
		}
	}
	for oid := range fromBase {
		if !fromHead[oid] {
			behind++
		}
	}
	ahead = g.oldestFirst(ahead)

	status := "diverged"
	switch {
	case len(ahead) == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}

	pages := max((len(ahead)+perPage-1)/perPage, 1)
	if link := pageLinks(r, page, pages); link != "" {
		w.Header().Set("Link", link)
	}
	lo := min((page-1)*perPage, len(ahead))
	hi := min(lo+perPage, len(ahead))
	commits := make([]map[string]any, 0, hi-lo)
	for _, oid := range ahead[lo:hi] {
		n := g.nodes[oid]
		commits = append(commits, commitSummaryJSON(repo, n.commit, n.parents))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":        status,
		"ahead_by":      len(ahead),
		"behind_by":     behind,
		"total_commits": len(ahead),
		"base_commit":   commitSummaryJSON(repo, base, g.nodes[base.OID].parents),
		"commits":       commits,
		"files":         []any{},
	})
}

// commitGraph links every commit that a repository's histories list, on
// the default branch and the others, to its parents.
type commitGraph struct {
	nodes map[string]graphNode
}

type graphNode struct {
	commit  *Commit
	parents []string
}

// newCommitGraph builds the graph of repo's histories. A commit without
// Parents that another commit follows in its history has that commit
// as its only parent, so histories written without Parents still form
// a chain. A commit in several histories keeps its first appearance,
// the default branch's before the other branches' in name order.
func newCommitGraph(repo *Repository) commitGraph {
	g := commitGraph{nodes: map[string]graphNode{}}
	histories := [][]Commit{repo.Commits}
	names := make([]string, 0, len(repo.Branches))
	for name := range repo.Branches {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		histories = append(histories, repo.Branches[name])
	}
	for _, commits := range histories {
		for i := range commits {
			c := &commits[i]
			if _, seen := g.nodes[c.OID]; seen {
				continue
			}
			parents := c.Parents
			if len(parents) == 0 && i+1 < len(commits) {
				parents = []string{commits[i+1].OID}
			}
			g.nodes[c.OID] = graphNode{commit: c, parents: parents}
		}
	}
	return g
}

// ancestors returns oid and every commit reachable from it through
// parents that are in the graph.
func (g commitGraph) ancestors(oid string) map[string]bool {
	seen := map[string]bool{oid: true}
	queue := []string{oid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, p := range g.nodes[next].parents {
			if _, known := g.nodes[p]; known && !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return seen
}

// oldestFirst orders commits so that each follows its parents among
// them, choosing the earliest committed (then authored, then lowest oid)
// of the commits whose parents are listed.
func (g commitGraph) oldestFirst(oids []string) []string {
	in := make(map[string]bool, len(oids))
	for _, oid := range oids {
		in[oid] = true
	}
	waiting := map[string]int{}
	children := map[string][]string{}
	var ready []string
	for _, oid := range oids {
		for _, p := range g.nodes[oid].parents {
			if in[p] {
				waiting[oid]++
				children[p] = append(children[p], oid)
			}
		}
		if waiting[oid] == 0 {
			ready = append(ready, oid)
		}
	}

	earlier := func(a, b string) bool {
		ca, cb := g.nodes[a].commit, g.nodes[b].commit
		switch {
		case !ca.CommittedDate.Equal(cb.CommittedDate):
			return ca.CommittedDate.Before(cb.CommittedDate)
		case !ca.AuthoredDate.Equal(cb.AuthoredDate):
			return ca.AuthoredDate.Before(cb.AuthoredDate)
		}
		return a < b
	}
	out := make([]string, 0, len(oids))
	for len(ready) > 0 {
		first := 0
		for i := range ready {
			if earlier(ready[i], ready[first]) {
				first = i
			}
		}
		oid := ready[first]
		ready = slices.Delete(ready, first, first+1)
		out = append(out, oid)
		for _, child := range children[oid] {
			if waiting[child]--; waiting[child] == 0 {
				ready = append(ready, child)
			}
		}
	}
	return out
}

package githubtest

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// webURL is the github.com address that url fields report. The server
// never contacts it.
const webURL = "https://github.com"

func nodeID(typeName, key string) string {
	return base64.StdEncoding.EncodeToString([]byte("githubtest:" + typeName + ":" + key))
}

type queryObject struct{}

func (queryObject) typeName() string { return "Query" }

func (q queryObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "repository":
		owner, _ := ex.stringArg(f, "owner")
		name, _ := ex.stringArg(f, "name")
		r, ok := ex.s.repos[repoKey(owner, name)]
		if !ok {
			ex.fieldError(f, path, "NOT_FOUND", fmt.Sprintf(
				"Could not resolve to a Repository with the name '%s/%s'.", owner, name))
			return nil
		}
		return &repositoryObject{r}
	case "rateLimit":
		if ex.rate == nil {
			return nil
		}
		return &rateLimitObject{rate: *ex.rate, cost: ex.cost, nodes: ex.nodes}
	case "viewer":
		return &actorObject{Actor{Login: "githubtest", Type: "User"}}
	}
	return ex.unknownField(q.typeName(), f, path)
}

type rateLimitObject struct {
	rate  RateLimit
	cost  int
	nodes int
}

func (rateLimitObject) typeName() string { return "RateLimit" }

func (r *rateLimitObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "cost":
		return r.cost
	case "limit":
		return r.rate.Limit
	case "remaining":
		return r.rate.Remaining
	case "used":
		return r.rate.Used
	case "resetAt":
		return dateTime(r.rate.ResetAt)
	case "nodeCount":
		return r.nodes
	}
	return ex.unknownField(r.typeName(), f, path)
}

type repositoryObject struct{ r *Repository }

func (repositoryObject) typeName() string { return "Repository" }

func (o *repositoryObject) resolve(ex *executor, f *ast.Field, path []any) any {
	r := o.r
	switch f.Name {
	case "id":
		return nodeID("Repository", r.NameWithOwner())
	case "name":
		return r.Name
	case "nameWithOwner":
		return r.NameWithOwner()
	case "owner":
		typ := r.OwnerType
		if typ == "" {
			typ = "User"
		}
		return &actorObject{Actor{Login: r.Owner, Type: typ}}
	case "url":
		return webURL + "/" + r.NameWithOwner()
	case "isPrivate", "isArchived", "isFork", "isDisabled", "isEmpty":
		if f.Name == "isEmpty" {
			return len(r.Commits) == 0
		}
		return false
	case "defaultBranchRef":
		if len(r.Commits) == 0 {
			return nil
		}
		return &refObject{repo: r, name: r.DefaultBranch, commits: r.Commits}
	case "ref":
		name, _ := ex.stringArg(f, "qualifiedName")
		commits, ok := r.branch(name)
		if !ok || len(commits) == 0 {
			return nil
		}
		return &refObject{repo: r, name: strings.TrimPrefix(name, "refs/heads/"), commits: commits}
	case "pullRequests":
		return ex.pullRequests(r, f, path)
	case "issues":
		return ex.issues(r, f, path)
	}
	return ex.unknownField(o.typeName(), f, path)
}

type refObject struct {
	repo    *Repository
	name    string
	commits []Commit
}

func (refObject) typeName() string { return "Ref" }

func (o *refObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "id":
		return nodeID("Ref", o.repo.NameWithOwner()+":"+o.name)
	case "name":
		return o.name
	case "prefix":
		return "refs/heads/"
	case "target":
		return &commitObject{repo: o.repo, branch: o.commits, index: 0}
	}
	return ex.unknownField(o.typeName(), f, path)
}

// commitObject is a commit of a branch; its history runs from index on.
type commitObject struct {
	repo   *Repository
	branch []Commit
	index  int
}

func (commitObject) typeName() string { return "Commit" }

func (o *commitObject) resolve(ex *executor, f *ast.Field, path []any) any {
	c := &o.branch[o.index]
	switch f.Name {
	case "id":
		return nodeID("Commit", c.OID)
	case "oid":
		return c.OID
	case "abbreviatedOid":
		return c.OID[:min(7, len(c.OID))]
	case "message":
		return c.Message()
	case "messageHeadline":
		return c.MessageHeadline
	case "messageBody":
		return c.MessageBody
	case "authoredDate":
		return gitTimestamp(c.AuthoredDate)
	case "committedDate":
		return gitTimestamp(c.CommittedDate)
	case "pushedDate":
		return nil
	case "author":
		return &gitActorObject{actor: c.Author, date: c.AuthoredDate}
	case "additions":
		return c.Additions
	case "deletions":
		return c.Deletions
	case "changedFiles", "changedFilesIfAvailable":
		return len(c.Files)
	case "url":
		return webURL + "/" + o.repo.NameWithOwner() + "/commit/" + c.OID
	case "history":
		return ex.history(o, f, path)
	}
	return ex.unknownField(o.typeName(), f, path)
}

type gitActorObject struct {
	actor GitActor
	date  time.Time
}

func (gitActorObject) typeName() string { return "GitActor" }

func (o *gitActorObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "name":
		return o.actor.Name
	case "email":
		return o.actor.Email
	case "date":
		return gitTimestamp(o.date)
	case "user":
		// GitActor.user is a User, so GitHub returns null for bots.
		if o.actor.Login == "" || strings.HasSuffix(o.actor.Login, "[bot]") {
			return nil
		}
		return &actorObject{Actor{Login: o.actor.Login, Type: "User"}}
	}
	return ex.unknownField(o.typeName(), f, path)
}

type actorObject struct{ a Actor }

func (o *actorObject) typeName() string {
	if o.a.Type == "" {
		return "User"
	}
	return o.a.Type
}

func (o *actorObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "id":
		return nodeID(o.typeName(), o.a.Login)
	case "login":
		return o.a.Login
	case "url":
		if o.typeName() == "Bot" {
			return webURL + "/apps/" + o.a.Login
		}
		return webURL + "/" + o.a.Login
	}
	return ex.unknownField(o.typeName(), f, path)
}

type labelObject struct{ name string }

func (labelObject) typeName() string { return "Label" }

func (o *labelObject) resolve(ex *executor, f *ast.Field, path []any) any {
	switch f.Name {
	case "id":
		return nodeID("Label", o.name)
	case "name":
		return o.name
	}
	return ex.unknownField(o.typeName(), f, path)
}

func (ex *executor) labels(names []string, f *ast.Field, path []any) any {
	return ex.connection(f, path, offsetList("LabelConnection", "LabelEdge", "label",
		len(names), func(i int) object { return &labelObject{names[i]} }))
}

func author(a *Actor) any {
	if a == nil {
		return nil
	}
	return &actorObject{*a}
}

// databaseID resolves the 32-bit databaseId, which GitHub cannot fill for
// newer ids: those need fullDatabaseId.
func (ex *executor) databaseID(id int64, f *ast.Field, path []any) any {
	if id > math.MaxInt32 {
		ex.fieldError(f, path, "", fmt.Sprintf(
			"Int cannot represent non 32-bit signed integer value: %d", id))
		return nil
	}
	return id
}

type pullRequestObject struct {
	repo *Repository
	pr   *PullRequest
}

func (pullRequestObject) typeName() string { return "PullRequest" }

func (o *pullRequestObject) resolve(ex *executor, f *ast.Field, path []any) any {
	pr := o.pr
	switch f.Name {
	case "id":
		return nodeID("PullRequest", strconv.FormatInt(pr.DatabaseID, 10))
	case "databaseId":
		return ex.databaseID(pr.DatabaseID, f, path)
	case "fullDatabaseId":
		return strconv.FormatInt(pr.DatabaseID, 10)
	case "number":
		return pr.Number
	case "title":
		return pr.Title
	case "state":
		return pr.State
	case "isDraft":
		return pr.IsDraft
	case "closed":
		return pr.State != "OPEN"
	case "merged":
		return pr.State == "MERGED"
	case "createdAt":
		return dateTime(pr.CreatedAt)
	case "updatedAt":
		return dateTime(pr.UpdatedAt)
	case "mergedAt":
		return dateTime(pr.MergedAt)
	case "closedAt":
		return dateTime(pr.ClosedAt)
	case "baseRefName":
		return pr.BaseRefName
	case "headRefName":
		return pr.HeadRefName
	case "author":
		return author(pr.Author)
	case "labels":
		return ex.labels(pr.Labels, f, path)
	case "url":
		return fmt.Sprintf("%s/%s/pull/%d", webURL, o.repo.NameWithOwner(), pr.Number)
	}
	return ex.unknownField(o.typeName(), f, path)
}

type issueObject struct {
	repo  *Repository
	issue *Issue
}

func (issueObject) typeName() string { return "Issue" }

func (o *issueObject) resolve(ex *executor, f *ast.Field, path []any) any {
	is := o.issue
	switch f.Name {
	case "id":
		return nodeID("Issue", strconv.FormatInt(is.DatabaseID, 10))
	case "databaseId":
		return ex.databaseID(is.DatabaseID, f, path)
	case "fullDatabaseId":
		return strconv.FormatInt(is.DatabaseID, 10)
	case "number":
		return is.Number
	case "title":
		return is.Title
	case "state":
		return is.State
	case "closed":
		return is.State == "CLOSED"
	case "createdAt":
		return dateTime(is.CreatedAt)
	case "updatedAt":
		return dateTime(is.UpdatedAt)
	case "closedAt":
		return dateTime(is.ClosedAt)
	case "author":
		return author(is.Author)
	case "labels":
		return ex.labels(is.Labels, f, path)
	case "url":
		return fmt.Sprintf("%s/%s/issues/%d", webURL, o.repo.NameWithOwner(), is.Number)
	}
	return ex.unknownField(o.typeName(), f, path)
}

// history pages a commit's history, newest first, filtered by since,
// until (committedDate, both inclusive) and path.
func (ex *executor) history(o *commitObject, f *ast.Field, path []any) any {
	since, hasSince, bad := ex.timeArg(f, path, "since")
	if bad {
		return nil
	}
	until, hasUntil, bad := ex.timeArg(f, path, "until")
	if bad {
		return nil
	}
	filePath, _ := ex.stringArg(f, "path")
	if _, ok := ex.arg(f, "author"); ok {
		ex.unsupportedArgument(f, path, "author", "...")
		return nil
	}

	var matching []int // indexes into o.branch of the commits that pass the filters
	for i := o.index; i < len(o.branch); i++ {
		c := &o.branch[i]
		if hasSince && c.CommittedDate.Before(since) {
			continue
		}
		if hasUntil && c.CommittedDate.After(until) {
			continue
		}
		if filePath != "" && !touches(c, filePath) {
			continue
		}
		matching = append(matching, i)
	}

	// A cursor names a commit; paging resumes after it in branch order,
	// so commits pushed meanwhile do not shift the pages.
	locate := func(c string, strict bool) (int, error) {
		oid, err := decodeCursor(c, "history:")
		if err != nil {
			return 0, err
		}
		at := slices.IndexFunc(o.branch, func(c Commit) bool { return c.OID == oid })
		if at < 0 {
			return 0, fmt.Errorf("cursor %q: commit %s not in the branch", c, oid)
		}
		for k, i := range matching {
			if i > at || !strict && i == at {
				return k, nil
			}
		}
		return len(matching), nil
	}
	return ex.connection(f, path, list{
		typeName: "CommitHistoryConnection",
		edgeType: "CommitEdge",
		length:   len(matching),
		cursor: func(k int) string {
			return encodeCursor("history:" + o.branch[matching[k]].OID)
		},
		node: func(k int) object {
			return &commitObject{repo: o.repo, branch: o.branch, index: matching[k]}
		},
		after:     func(c string) (int, error) { return locate(c, true) },
		atOrAfter: func(c string) (int, error) { return locate(c, false) },
	})
}

// touches reports whether the commit changed the file at p, or anything
// under the directory p, counting a rename's old path. GitHub matches
// paths literally, without globs.
func touches(c *Commit, p string) bool {
	dir := strings.TrimSuffix(p, "/") + "/"
	match := func(file string) bool {
		return file != "" && (file == p || strings.HasPrefix(file, dir))
	}
	for _, f := range c.Files {
		if match(f.Path) || match(f.PreviousPath) {
			return true
		}
	}
	return false
}

// order reads an IssueOrder argument; without one GitHub orders by
// creation, oldest first.
func (ex *executor) order(f *ast.Field, path []any) (field string, desc bool, ok bool) {
	field = "CREATED_AT"
	v, present := ex.arg(f, "orderBy")
	if !present {
		return field, false, true
	}
	m, _ := v.(map[string]any)
	if s, _ := m["field"].(string); s != "" {
		field = s
	}
	if field != "CREATED_AT" && field != "UPDATED_AT" {
		ex.unsupportedArgument(f, path, "orderBy.field", field)
		return "", false, false
	}
	d, _ := m["direction"].(string)
	return field, d == "DESC", true
}

// states reads a list of states; nil means every state.
func states(v any) map[string]bool {
	items, ok := v.([]any)
	if !ok {
		if s, ok := v.(string); ok {
			items = []any{s}
		}
	}
	if len(items) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, item := range items {
		if s, ok := item.(string); ok {
			out[s] = true
		}
	}
	return out
}

func orderKey(field string, created, updated time.Time, id int64) keyset {
	if field == "UPDATED_AT" {
		return keyset{at: updated, id: id}
	}
	return keyset{at: created, id: id}
}

func (ex *executor) pullRequests(r *Repository, f *ast.Field, path []any) any {
	field, desc, ok := ex.order(f, path)
	if !ok {
		return nil
	}
	var want map[string]bool
	if v, ok := ex.arg(f, "states"); ok {
		want = states(v)
	}
	base, _ := ex.stringArg(f, "baseRefName")
	head, _ := ex.stringArg(f, "headRefName")
	if _, ok := ex.arg(f, "labels"); ok {
		ex.unsupportedArgument(f, path, "labels", "...")
		return nil
	}

	var items []*PullRequest
	for i := range r.PullRequests {
		pr := &r.PullRequests[i]
		if want != nil && !want[pr.State] ||
			base != "" && pr.BaseRefName != base ||
			head != "" && pr.HeadRefName != head {
			continue
		}
		items = append(items, pr)
	}
	keys := make([]keyset, len(items))
	for i, pr := range items {
		keys[i] = orderKey(field, pr.CreatedAt, pr.UpdatedAt, pr.DatabaseID)
	}
	sortByKey(items, keys, desc)

	return ex.connection(f, path, keysetList("PullRequestConnection", "PullRequestEdge",
		keys, desc, func(i int) object { return &pullRequestObject{repo: r, pr: items[i]} }))
}

func (ex *executor) issues(r *Repository, f *ast.Field, path []any) any {
	field, desc, ok := ex.order(f, path)
	if !ok {
		return nil
	}
	var want map[string]bool
	if v, ok := ex.arg(f, "states"); ok {
		want = states(v)
	}
	var since time.Time
	if v, ok := ex.arg(f, "filterBy"); ok {
		filter, _ := v.(map[string]any)
		for key, value := range filter {
			switch key {
			case "since":
				s, _ := value.(string)
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					ex.unsupportedArgument(f, path, "filterBy.since", value)
					return nil
				}
				since = t
			case "states":
				want = states(value)
			default:
				if value != nil && value != false {
					ex.unsupportedArgument(f, path, "filterBy."+key, value)
					return nil
				}
			}
		}
	}
	if _, ok := ex.arg(f, "labels"); ok {
		ex.unsupportedArgument(f, path, "labels", "...")
		return nil
	}

	var items []*Issue
	for i := range r.Issues {
		is := &r.Issues[i]
		if want != nil && !want[is.State] || !since.IsZero() && is.UpdatedAt.Before(since) {
			continue
		}
		items = append(items, is)
	}
	keys := make([]keyset, len(items))
	for i, is := range items {
		keys[i] = orderKey(field, is.CreatedAt, is.UpdatedAt, is.DatabaseID)
	}
	sortByKey(items, keys, desc)

	return ex.connection(f, path, keysetList("IssueConnection", "IssueEdge",
		keys, desc, func(i int) object { return &issueObject{repo: r, issue: items[i]} }))
}

// sortByKey sorts items and their keys together in the order.
func sortByKey[T any](items []T, keys []keyset, desc bool) {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return keys[a].compare(keys[b], desc) })

	sortedItems := make([]T, len(items))
	sortedKeys := make([]keyset, len(keys))
	for to, from := range idx {
		sortedItems[to] = items[from]
		sortedKeys[to] = keys[from]
	}
	copy(items, sortedItems)
	copy(keys, sortedKeys)
}

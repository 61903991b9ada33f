package githubapi

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/shurcooL/githubv4"

	"github.com/ghillie/ghillie/ingest"
)

// The Activity document is assembled at run time from the structs below
// with reflect.StructOf, because its shape depends on the query. Only
// requested streams appear, and each documentation path adds one aliased
// history connection (doc0, doc1, ...) under the branch's target commit,
// whose oid is read with the histories.
// githubv4 writes the document from the struct tags and decodes the
// response into the same struct.

// field is one scalar of the response kept as raw JSON, so the mapping can
// tell a missing field from a null one and name it in a ShapeError.
// githubv4 treats a type with UnmarshalJSON as a scalar and selects it
// without subfields.
type field struct {
	set bool
	raw json.RawMessage
}

// UnmarshalJSON keeps the raw value.
func (f *field) UnmarshalJSON(b []byte) error {
	f.set = true
	f.raw = append(f.raw[:0], b...)
	return nil
}

type pageInfoNode struct {
	HasNextPage field `graphql:"hasNextPage"`
	EndCursor   field `graphql:"endCursor"`
}

type gitActorNode struct {
	Name  field `graphql:"name"`
	Email field `graphql:"email"`
	User  *struct {
		Login field `graphql:"login"`
	} `graphql:"user"`
}

type commitNode struct {
	OID           field         `graphql:"oid"`
	Message       field         `graphql:"message"`
	AuthoredDate  field         `graphql:"authoredDate"`
	CommittedDate field         `graphql:"committedDate"`
	Author        *gitActorNode `graphql:"author"`
}

type historyConnection struct {
	Edges []struct {
		Cursor field       `graphql:"cursor"`
		Node   *commitNode `graphql:"node"`
	} `graphql:"edges"`
	PageInfo *pageInfoNode `graphql:"pageInfo"`
}

type actorNode struct {
	Typename field `graphql:"__typename"`
	Login    field `graphql:"login"`
}

// labelsConnection reads at most ingest.MaxLabels labels; a test checks
// that the literal in the tag matches it.
type labelsConnection struct {
	Nodes []*struct {
		Name field `graphql:"name"`
	} `graphql:"nodes"`
}

type pullRequestNode struct {
	FullDatabaseID field             `graphql:"fullDatabaseId"`
	Number         field             `graphql:"number"`
	Title          field             `graphql:"title"`
	State          field             `graphql:"state"`
	IsDraft        field             `graphql:"isDraft"`
	CreatedAt      field             `graphql:"createdAt"`
	UpdatedAt      field             `graphql:"updatedAt"`
	MergedAt       field             `graphql:"mergedAt"`
	ClosedAt       field             `graphql:"closedAt"`
	BaseRefName    field             `graphql:"baseRefName"`
	HeadRefName    field             `graphql:"headRefName"`
	Author         *actorNode        `graphql:"author"`
	Labels         *labelsConnection `graphql:"labels(first: 50)"`
}

type pullRequestConnection struct {
	Edges []struct {
		Cursor field            `graphql:"cursor"`
		Node   *pullRequestNode `graphql:"node"`
	} `graphql:"edges"`
	PageInfo *pageInfoNode `graphql:"pageInfo"`
}

type issueNode struct {
	FullDatabaseID field             `graphql:"fullDatabaseId"`
	Number         field             `graphql:"number"`
	Title          field             `graphql:"title"`
	State          field             `graphql:"state"`
	CreatedAt      field             `graphql:"createdAt"`
	UpdatedAt      field             `graphql:"updatedAt"`
	ClosedAt       field             `graphql:"closedAt"`
	Author         *actorNode        `graphql:"author"`
	Labels         *labelsConnection `graphql:"labels(first: 50)"`
}

type issueConnection struct {
	Edges []struct {
		Cursor field      `graphql:"cursor"`
		Node   *issueNode `graphql:"node"`
	} `graphql:"edges"`
	PageInfo *pageInfoNode `graphql:"pageInfo"`
}

type rateLimitNode struct {
	Cost      field `graphql:"cost"`
	Remaining field `graphql:"remaining"`
	ResetAt   field `graphql:"resetAt"`
	Limit     field `graphql:"limit"`
}

// Names of the struct fields of the assembled query, read back by the
// mapping through reflection.
const (
	fieldRepository    = "Repository"
	fieldRateLimit     = "RateLimit"
	fieldDefaultBranch = "DefaultBranchRef"
	fieldRef           = "Ref"
	fieldName          = "Name"
	fieldTarget        = "Target"
	fieldCommit        = "Commit"
	fieldOID           = "OID"
	fieldCommits       = "Commits"
	fieldPullRequests  = "PullRequests"
	fieldIssues        = "Issues"
)

// docField names the struct field and alias of the i-th documentation
// history.
func docField(i int) (name, alias string) {
	return fmt.Sprintf("Doc%d", i), fmt.Sprintf("doc%d", i)
}

// pageSizes are the page sizes of one attempt, which shrink after a
// timeout.
type pageSizes struct {
	commits, pullRequests, issues int
	docs                          []int
}

func initialSizes(q ingest.ActivityQuery) pageSizes {
	var s pageSizes
	if q.Commits != nil {
		s.commits = q.Commits.First
	}
	if q.PullRequests != nil {
		s.pullRequests = q.PullRequests.First
	}
	if q.Issues != nil {
		s.issues = q.Issues.First
	}
	for _, d := range q.Docs {
		s.docs = append(s.docs, d.First)
	}
	return s
}

// minShrunkPageSize is the smallest page a retry after a timeout
// requests. Halving below it buys little: GitHub's 10-second budget is spent
// on the connections, not on the last few nodes.
const minShrunkPageSize = 10

// halved returns the sizes of the next attempt, each halved but not
// below minShrunkPageSize, nor above its current size.
func (s pageSizes) halved() pageSizes {
	half := func(n int) int { return min(n, max(n/2, minShrunkPageSize)) }
	out := pageSizes{
		commits:      half(s.commits),
		pullRequests: half(s.pullRequests),
		issues:       half(s.issues),
	}
	for _, n := range s.docs {
		out.docs = append(out.docs, half(n))
	}
	return out
}

// activityQuery is an assembled query: a pointer to the struct githubv4
// fills, and its variables.
type activityQuery struct {
	value     reflect.Value
	variables map[string]any
}

// historyStreams reports whether q reads the branch's history.
func historyStreams(q ingest.ActivityQuery) bool {
	return q.Commits != nil || len(q.Docs) > 0
}

// buildActivityQuery assembles the document of q with the page sizes s.
func buildActivityQuery(q ingest.ActivityQuery, s pageSizes) activityQuery {
	vars := map[string]any{
		"owner": githubv4.String(q.Owner),
		"name":  githubv4.String(q.Name),
	}
	nameField := structField(fieldName, field{}, "name")

	var target reflect.Type
	if historyStreams(q) {
		histories := []reflect.StructField{structField(fieldOID, field{}, "oid")}
		if q.Commits != nil {
			histories = append(histories, historyField(fieldCommits, "", "commits", "", vars))
			since := githubv4.GitTimestamp{Time: q.Commits.Since.UTC()}
			setPage(vars, "commits", s.commits, q.Commits, since)
		}
		for i, d := range q.Docs {
			name, alias := docField(i)
			histories = append(histories, historyField(name, alias, alias, d.Path, vars))
			setPage(vars, alias, s.docs[i], &d.Page, githubv4.GitTimestamp{Time: d.Since.UTC()})
		}
		commit := reflect.StructOf(histories)
		target = reflect.StructOf([]reflect.StructField{
			{Name: fieldCommit, Type: commit, Tag: `graphql:"... on Commit"`},
		})
	}

	defaultBranch := []reflect.StructField{nameField}
	var repository []reflect.StructField
	if q.Branch == "" && target != nil {
		targetField := structField(fieldTarget, reflect.New(target).Interface(), "target")
		defaultBranch = append(defaultBranch, targetField)
	}
	repository = append(repository, reflect.StructField{
		Name: fieldDefaultBranch,
		Type: reflect.PointerTo(reflect.StructOf(defaultBranch)),
		Tag:  `graphql:"defaultBranchRef"`,
	})
	if q.Branch != "" {
		ref := []reflect.StructField{nameField}
		if target != nil {
			ref = append(ref, structField(fieldTarget, reflect.New(target).Interface(), "target"))
		}
		repository = append(repository, reflect.StructField{
			Name: fieldRef,
			Type: reflect.PointerTo(reflect.StructOf(ref)),
			Tag:  `graphql:"ref(qualifiedName: $qualifiedName)"`,
		})
		vars["qualifiedName"] = githubv4.String("refs/heads/" + q.Branch)
	}
	if q.PullRequests != nil {
		call := "pullRequests(first: $pullRequestsFirst, after: $pullRequestsAfter, " +
			"orderBy: {field: UPDATED_AT, direction: DESC})"
		connection := structField(fieldPullRequests, (*pullRequestConnection)(nil), call)
		repository = append(repository, connection)
		setPage(vars, "pullRequests", s.pullRequests, q.PullRequests, nil)
	}
	if q.Issues != nil {
		call := "issues(first: $issuesFirst, after: $issuesAfter, " +
			"orderBy: {field: UPDATED_AT, direction: DESC}, filterBy: {since: $issuesSince})"
		connection := structField(fieldIssues, (*issueConnection)(nil), call)
		repository = append(repository, connection)
		setPage(vars, "issues", s.issues, q.Issues, githubv4.DateTime{Time: q.Issues.Since.UTC()})
	}

	top := reflect.StructOf([]reflect.StructField{
		{
			Name: fieldRepository,
			Type: reflect.PointerTo(reflect.StructOf(repository)),
			Tag:  `graphql:"repository(owner: $owner, name: $name)"`,
		},
		structField(fieldRateLimit, (*rateLimitNode)(nil), "rateLimit"),
	})
	return activityQuery{value: reflect.New(top), variables: vars}
}

// structField declares a field of the type of example with a graphql tag.
func structField(name string, example any, tag string) reflect.StructField {
	return reflect.StructField{
		Name: name,
		Type: reflect.TypeOf(example),
		Tag:  reflect.StructTag(fmt.Sprintf("graphql:%q", tag)),
	}
}

// historyField declares one history connection, aliased when alias is
// set and limited to path when it is not empty.
func historyField(name, alias, prefix, path string, vars map[string]any) reflect.StructField {
	call := fmt.Sprintf("history(first: $%[1]sFirst, after: $%[1]sAfter, since: $%[1]sSince",
		prefix)
	if path != "" {
		call += fmt.Sprintf(", path: $%sPath", prefix)
		vars[prefix+"Path"] = githubv4.String(path)
	}
	call += ")"
	if alias != "" {
		call = alias + ": " + call
	}
	return structField(name, (*historyConnection)(nil), call)
}

// setPage sets the variables of one connection. after is always
// declared, null on a first page, so the document does not depend on
// whether a cursor is given. since is omitted when nil.
func setPage(vars map[string]any, prefix string, first int, p *ingest.Page, since any) {
	vars[prefix+"First"] = githubv4.Int(first)
	after := (*githubv4.String)(nil)
	if p.After != "" {
		after = githubv4.NewString(githubv4.String(p.After))
	}
	vars[prefix+"After"] = after
	if since != nil {
		vars[prefix+"Since"] = since
	}
}

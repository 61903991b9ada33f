package ingest

import (
	"strconv"
	"strings"
	"time"

	"github.com/ghillie/ghillie/bronze"
)

// sourceSystem is the source_system of every event ingestion writes.
const sourceSystem = "github"

// repoInfo is the repository data every payload carries.
type repoInfo struct {
	owner, name, branch string
}

func (r repoInfo) slug() string { return r.owner + "/" + r.name }

// githubTime formats a time the way GitHub does, so that payloads hash
// the same as the Python Ghillie's, which copied GitHub's text.
func githubTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func commitEnvelope(r repoInfo, c Commit) bronze.Envelope {
	var name, email any
	if c.Author != nil {
		name, email = c.Author.Name, c.Author.Email
	}
	return bronze.Envelope{
		SourceSystem:   sourceSystem,
		SourceEventID:  c.OID,
		EventType:      KindCommit.EventType(),
		RepoExternalID: r.slug(),
		OccurredAt:     c.CommittedDate,
		Payload: map[string]any{
			"sha":            c.OID,
			"message":        c.Message,
			"author_name":    name,
			"author_email":   email,
			"authored_at":    githubTime(c.AuthoredDate),
			"committed_at":   githubTime(c.CommittedDate),
			"repo_owner":     r.owner,
			"repo_name":      r.name,
			"default_branch": r.branch,
			"metadata":       map[string]any{"branch": r.branch},
		},
	}
}

// login returns an author's login the way REST and the GitHub web pages
// spell it: GraphQL drops the "[bot]" suffix of a bot's login, which
// noise filters name, as in "dependabot[bot]".
func login(a *Actor) any {
	if a == nil || a.Login == "" {
		return nil
	}
	if a.Type == "Bot" && !strings.HasSuffix(a.Login, "[bot]") {
		return a.Login + "[bot]"
	}
	return a.Login
}

func labels(names []string) []any {
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, n)
	}
	return out
}

func pullRequestEnvelope(r repoInfo, pr PullRequest) bronze.Envelope {
	state := strings.ToLower(pr.State)
	if state == "closed" && !pr.MergedAt.IsZero() {
		state = "merged"
	}
	return bronze.Envelope{
		SourceSystem:   sourceSystem,
		SourceEventID:  strconv.FormatInt(pr.DatabaseID, 10),
		EventType:      KindPullRequest.EventType(),
		RepoExternalID: r.slug(),
		OccurredAt:     pr.UpdatedAt,
		Payload: map[string]any{
			"id":           pr.DatabaseID,
			"number":       pr.Number,
			"title":        pr.Title,
			"author_login": login(pr.Author),
			"state":        state,
			"created_at":   githubTime(pr.CreatedAt),
			"merged_at":    githubTime(pr.MergedAt),
			"closed_at":    githubTime(pr.ClosedAt),
			"labels":       labels(pr.Labels),
			"is_draft":     pr.IsDraft,
			"base_branch":  pr.BaseRefName,
			"head_branch":  pr.HeadRefName,
			"repo_owner":   r.owner,
			"repo_name":    r.name,
			"metadata":     map[string]any{"updated_at": githubTime(pr.UpdatedAt)},
		},
	}
}

func issueEnvelope(r repoInfo, is Issue) bronze.Envelope {
	return bronze.Envelope{
		SourceSystem:   sourceSystem,
		SourceEventID:  strconv.FormatInt(is.DatabaseID, 10),
		EventType:      KindIssue.EventType(),
		RepoExternalID: r.slug(),
		OccurredAt:     is.UpdatedAt,
		Payload: map[string]any{
			"id":           is.DatabaseID,
			"number":       is.Number,
			"title":        is.Title,
			"author_login": login(is.Author),
			"state":        strings.ToLower(is.State),
			"created_at":   githubTime(is.CreatedAt),
			"closed_at":    githubTime(is.ClosedAt),
			"labels":       labels(is.Labels),
			"repo_owner":   r.owner,
			"repo_name":    r.name,
			"metadata":     map[string]any{"updated_at": githubTime(is.UpdatedAt)},
		},
	}
}

// docChangeEnvelope records that commit c changed a documentation path:
// a file matched by a glob, with GitHub's change type, or a configured
// file or folder, whose change type the history cannot tell and is
// "modified", as in the Python Ghillie.
func docChangeEnvelope(r repoInfo, c Commit, path, changeType string) bronze.Envelope {
	return bronze.Envelope{
		SourceSystem:   sourceSystem,
		SourceEventID:  c.OID + ":" + path,
		EventType:      KindDocChange.EventType(),
		RepoExternalID: r.slug(),
		OccurredAt:     c.CommittedDate,
		Payload: map[string]any{
			"commit_sha":  c.OID,
			"path":        path,
			"change_type": changeType,
			"is_roadmap":  IsRoadmap(path),
			"is_adr":      IsADR(path),
			"repo_owner":  r.owner,
			"repo_name":   r.name,
			"occurred_at": githubTime(c.CommittedDate),
			"metadata":    map[string]any{"message": c.Message},
		},
	}
}

package silver_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

func TestCommitCreatesAdHocRepository(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")))

		result := processPending(t, db)
		is.Equal(result, silver.Result{Processed: 1})

		repos := repositories(t, db)
		is.Equal(len(repos), 1)
		repo := repos[0]
		is.Equal(repo.Owner, "octo")
		is.Equal(repo.Name, "reef")
		is.Equal(repo.DefaultBranch, "main")
		is.True(!repo.IngestionEnabled)           // ad hoc repositories are not ingested
		is.Equal(repo.CatalogueRepositoryID, nil) // not in the catalogue
		is.Equal(repo.EstateID, nil)              // in no estate
		is.True(repo.IsActive)

		rows := commits(t, db)
		is.Equal(len(rows), 1)
		c := rows[0]
		is.Equal(c.RepoID, repo.ID)
		is.Equal(c.SHA, "abc123")
		is.Equal(deref(c.Message), "docs: refresh roadmap")
		is.Equal(deref(c.AuthorEmail), "dev@example.com")
		is.Equal(c.Metadata.V, map[string]any{"ref": "refs/heads/main"})
		is.True(c.CommittedAt.Equal(time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)))
		is.Equal(c.AuthoredAt, nil)
	})
}

func TestPullRequestOpenThenMerged(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		opened := prPayload(17, "open")
		merged := with(prPayload(17, "merged"),
			"labels", []string{"feature", "ready-for-release"},
			"metadata", map[string]any{"merge_commit": "abc999"},
			"merged_at", "2024-07-02T12:00:00Z")
		write(t, db, envelope(silver.EventPullRequest, at(0), opened),
			envelope(silver.EventPullRequest, at(5), merged))

		is.Equal(processPending(t, db), silver.Result{Processed: 2})

		pr := pullRequest(t, db, 17)
		is.Equal(pr.State, "merged")
		is.True(pr.MergedAt != nil && pr.MergedAt.Equal(time.Date(2024, 7, 2, 12, 0, 0, 0, time.UTC)))
		is.Equal(pr.Labels.V, []string{"feature", "ready-for-release"})
		is.Equal(pr.Metadata.V, map[string]any{"merge_commit": "abc999"})
		is.True(pr.ObservedAt.Equal(at(5)))
		is.Equal(count(t, db, "pull_requests"), 1)
		is.Equal(count(t, db, "repositories"), 1)
		is.Equal(pr.RepoID, repositories(t, db)[0].ID)
	})
}

func TestIssueLinkedToRepository(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventIssue, at(0), issuePayload(101, "open")))

		is.Equal(processPending(t, db), silver.Result{Processed: 1})

		got := issue(t, db, 101)
		is.Equal(got.Labels.V, []string{"bug", "infra"})
		is.Equal(got.Metadata.V, map[string]any{"milestone": "MVP"})
		is.Equal(got.RepoID, repositories(t, db)[0].ID)
		is.Equal(got.Number, 101)
		is.Equal(got.State, "open")
		is.True(got.CreatedAt.Equal(time.Date(2024, 7, 1, 11, 0, 0, 0, time.UTC)))
	})
}

func TestDocChangeCreatesCommitStub(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventDocChange, at(0), docPayload("def456", "docs/roadmap.md")))

		is.Equal(processPending(t, db), silver.Result{Processed: 1})

		repo := repositories(t, db)[0]
		rows := commits(t, db)
		is.Equal(len(rows), 1)
		stub := rows[0]
		is.Equal(stub.SHA, "def456")
		is.Equal(stub.RepoID, repo.ID)
		is.Equal(stub.Metadata.V, map[string]any{})
		is.Equal(stub.Message, nil)
		is.Equal(stub.AuthorEmail, nil)
		is.Equal(stub.CommittedAt, nil)

		docs := docChanges(t, db)
		is.Equal(len(docs), 1)
		is.Equal(docs[0].Path, "docs/roadmap.md")
		is.Equal(docs[0].RepoID, repo.ID)
		is.True(docs[0].IsRoadmap)
		is.True(!docs[0].IsADR)
	})
}

func TestDocChangeSamePathTwice(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		first := docPayload("abc123", "docs/roadmap.md")
		second := with(first, "metadata", map[string]any{"summary": "clarify deliverables"},
			"occurred_at", "2024-07-02T13:56:00Z")
		write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")),
			envelope(silver.EventDocChange, at(1), first),
			envelope(silver.EventDocChange, at(2), second))

		is.Equal(processPending(t, db), silver.Result{Processed: 3})

		docs := docChanges(t, db)
		is.Equal(len(docs), 1)
		is.Equal(docs[0].Metadata.V, map[string]any{"summary": "clarify deliverables"})
		is.True(docs[0].OccurredAt.Equal(time.Date(2024, 7, 2, 13, 56, 0, 0, time.UTC)))
		is.Equal(len(commits(t, db)), 1)
		is.Equal(deref(commits(t, db)[0].Message), "docs: refresh roadmap") // the stub did not blank it
	})
}

func TestAllEntityTypesPopulated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db,
			envelope(silver.EventCommit, at(0), commitPayload("abc123")),
			envelope(silver.EventPullRequest, at(1), with(prPayload(17, "merged"),
				"labels", []string{"feature", "roadmap"}, "merged_at", "2024-07-02T12:00:00Z")),
			envelope(silver.EventIssue, at(2), with(issuePayload(5, "closed"),
				"labels", []string{"documentation"}, "closed_at", "2024-07-02T12:30:00Z")),
			envelope(silver.EventDocChange, at(3), docPayload("abc123", "docs/roadmap.md")))

		is.Equal(processPending(t, db), silver.Result{Processed: 4})

		is.Equal(count(t, db, "repositories"), 1)
		is.Equal(count(t, db, "commits"), 1)
		is.Equal(count(t, db, "pull_requests"), 1)
		is.Equal(count(t, db, "issues"), 1)
		is.Equal(count(t, db, "documentation_changes"), 1)
		is.Equal(count(t, db, "event_facts"), 4)

		pr := pullRequest(t, db, 17)
		is.Equal(pr.State, "merged")
		is.Equal(pr.Labels.V, []string{"feature", "roadmap"})
		got := issue(t, db, 5)
		is.Equal(got.State, "closed")
		is.Equal(got.Labels.V, []string{"documentation"})
		doc := docChanges(t, db)[0]
		is.True(doc.IsRoadmap)
		is.True(!doc.IsADR)
	})
}

func TestCommitEventFillsStub(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventDocChange, at(0), docPayload("abc123", "docs/adr/001.md")))
		processPending(t, db)
		stub := commits(t, db)[0]

		write(t, db, envelope(silver.EventCommit, at(1), commitPayload("abc123")))
		is.Equal(processPending(t, db), silver.Result{Processed: 1})

		rows := commits(t, db)
		is.Equal(len(rows), 1)
		filled := rows[0]
		is.Equal(deref(filled.Message), "docs: refresh roadmap")
		is.Equal(deref(filled.AuthorName), "Dev")
		is.Equal(filled.Metadata.V, map[string]any{"ref": "refs/heads/main"})
		is.True(filled.FirstSeenAt.Equal(stub.FirstSeenAt.Time)) // first_seen_at is kept
	})
}

func TestCommitOptionalFieldsReplace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		full := with(commitPayload("abc123"), "authored_at", "2024-07-02T09:00:00+02:00")
		partial := with(commitPayload("abc123"),
			"message", "", // an empty message is a value and replaces
			"author_email", nil, // null keeps the stored value
			"author_name", deleted, // so does an absent key
			"metadata", nil,
			"committed_at", deleted,
			"authored_at", deleted)
		emptyMetadata := with(partial, "metadata", map[string]any{})

		write(t, db, envelope(silver.EventCommit, at(0), full))
		processPending(t, db)
		write(t, db, envelope(silver.EventCommit, at(1), partial))
		processPending(t, db)

		c := commits(t, db)[0]
		is.Equal(deref(c.Message), "")
		is.Equal(deref(c.AuthorEmail), "dev@example.com")
		is.Equal(deref(c.AuthorName), "Dev")
		is.Equal(c.Metadata.V, map[string]any{"ref": "refs/heads/main"})
		is.True(c.AuthoredAt.Equal(time.Date(2024, 7, 2, 7, 0, 0, 0, time.UTC))) // converted to UTC
		is.True(c.CommittedAt.Equal(time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)))

		write(t, db, envelope(silver.EventCommit, at(2), emptyMetadata))
		processPending(t, db)
		is.Equal(commits(t, db)[0].Metadata.V, map[string]any{}) // non-null metadata replaces
	})
}

func TestSameCommitInTwoRepositories(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		fork := with(commitPayload("abc123"), "repo_owner", "fork")
		write(t, db, envelope(silver.EventCommit, at(0), commitPayload("abc123")),
			envelope(silver.EventCommit, at(1), fork))

		is.Equal(processPending(t, db), silver.Result{Processed: 2})

		rows := commits(t, db)
		is.Equal(len(rows), 2)
		is.True(rows[0].RepoID != rows[1].RepoID) // one row per repository
		is.Equal(count(t, db, "repositories"), 2)
	})
}

func TestPullRequestNullsOverwrite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		merged := with(prPayload(17, "merged"), "merged_at", "2024-07-02T12:00:00Z",
			"closed_at", "2024-07-02T12:00:00Z", "is_draft", true)
		reopened := with(prPayload(17, "open"), "author_login", deleted, "merged_at", nil)
		write(t, db, envelope(silver.EventPullRequest, at(0), merged),
			envelope(silver.EventPullRequest, at(1), reopened))

		processPending(t, db)

		pr := pullRequest(t, db, 17)
		is.Equal(pr.State, "open")
		is.Equal(pr.AuthorLogin, nil)
		is.Equal(pr.MergedAt, nil)
		is.Equal(pr.ClosedAt, nil)
		is.True(!pr.IsDraft) // an absent is_draft is false
	})
}

func TestPullRequestLabelsNullOrEmpty(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventPullRequest, at(0),
			with(prPayload(17, "open"), "labels", []string{"b", "a", "b"})))
		processPending(t, db)
		is.Equal(pullRequest(t, db, 17).Labels.V, []string{"b", "a", "b"}) // order and duplicates kept

		write(t, db, envelope(silver.EventPullRequest, at(1),
			with(prPayload(17, "open"), "labels", nil, "metadata", nil)))
		processPending(t, db)
		pr := pullRequest(t, db, 17)
		is.Equal(pr.Labels.V, []string{"b", "a", "b"}) // null labels keep the stored ones
		is.Equal(pr.Metadata.V, map[string]any{"mergeable": "unknown"})

		write(t, db, envelope(silver.EventPullRequest, at(2),
			with(prPayload(17, "open"), "labels", []string{})))
		processPending(t, db)
		is.Equal(pullRequest(t, db, 17).Labels.V, []string{}) // [] clears
	})
}

func TestNewPullRequestWithoutLabels(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventPullRequest, at(0),
			with(prPayload(17, "open"), "labels", deleted, "metadata", nil)))

		processPending(t, db)

		pr := pullRequest(t, db, 17)
		is.Equal(pr.Labels.V, []string{})
		is.Equal(pr.Metadata.V, map[string]any{})
	})
}

// outOfOrder lists orders in which the three snapshots of one entity
// reach Silver: all in one batch, one per run, and the newest first.
var outOfOrder = []struct {
	name     string
	order    []int // indexes into the snapshots, by raw event id
	separate bool  // process after each write instead of once
}{
	{"one batch", []int{0, 2, 1}, false},
	{"separate runs", []int{0, 2, 1}, true},
	{"newest first", []int{2, 1, 0}, true},
}

func TestPullRequestOutOfOrder(t *testing.T) {
	for _, tt := range outOfOrder {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				snapshots := []struct {
					at      time.Time
					payload map[string]any
				}{
					{at(0), prPayload(17, "open")},
					{at(10), with(prPayload(17, "closed"), "closed_at", "2024-07-02T09:10:00Z")},
					{at(20), with(prPayload(17, "open"), "title", "Reopened")},
				}
				for _, i := range tt.order {
					write(t, db, envelope(silver.EventPullRequest, snapshots[i].at, snapshots[i].payload))
					if tt.separate {
						processPending(t, db)
					}
				}
				processPending(t, db)

				pr := pullRequest(t, db, 17)
				is.Equal(pr.State, "open") // the late closed snapshot is older than the reopen
				is.Equal(pr.Title, "Reopened")
				is.Equal(pr.ClosedAt, nil)
				is.True(pr.ObservedAt.Equal(at(20)))
				is.Equal(count(t, db, "event_facts"), 3) // older events are still processed
			})
		})
	}
}

func TestIssueOutOfOrder(t *testing.T) {
	for _, tt := range outOfOrder {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *store.DB) {
				is := is.New(t)
				snapshots := []struct {
					at      time.Time
					payload map[string]any
				}{
					{at(0), issuePayload(5, "open")},
					{at(10), with(issuePayload(5, "closed"), "closed_at", "2024-07-02T09:10:00Z")},
					{at(20), with(issuePayload(5, "open"), "labels", []string{"regression"})},
				}
				for _, i := range tt.order {
					write(t, db, envelope(silver.EventIssue, snapshots[i].at, snapshots[i].payload))
					if tt.separate {
						processPending(t, db)
					}
				}
				result := processPending(t, db)
				is.Equal(result.Failed, 0)

				got := issue(t, db, 5)
				is.Equal(got.State, "open")
				is.Equal(got.ClosedAt, nil)
				is.Equal(got.Labels.V, []string{"regression"})
				is.True(got.ObservedAt.Equal(at(20)))
			})
		})
	}
}

func TestDocChangeOutOfOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		newer := with(docPayload("abc123", "docs/roadmap.md"), "change_type", "renamed",
			"metadata", map[string]any{"summary": "newer"})
		older := with(docPayload("abc123", "docs/roadmap.md"), "change_type", "added",
			"metadata", map[string]any{"summary": "older"})
		write(t, db, envelope(silver.EventDocChange, at(5), newer))
		processPending(t, db)
		write(t, db, envelope(silver.EventDocChange, at(1), older))
		is.Equal(processPending(t, db), silver.Result{Processed: 1})

		doc := docChanges(t, db)[0]
		is.Equal(doc.ChangeType, "renamed")
		is.Equal(doc.Metadata.V, map[string]any{"summary": "newer"})
		is.True(doc.ObservedAt.Equal(at(5)))
	})
}

func TestEqualObservedAtOverwrites(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventPullRequest, at(0), prPayload(17, "open")),
			envelope(silver.EventPullRequest, at(0), prPayload(17, "closed")))

		processPending(t, db)

		is.Equal(pullRequest(t, db, 17).State, "closed") // the later raw event wins a tie
	})
}

// TestTieIgnoresProcessingOrder processes two snapshots of the same time
// highest id first, each on its own, as another transformer or a run by
// ids may: the higher raw event id still wins.
func TestTieIgnoresProcessingOrder(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db,
			envelope(silver.EventPullRequest, at(0), prPayload(17, "open")),
			envelope(silver.EventIssue, at(0), issuePayload(18, "open")),
			envelope(silver.EventDocChange, at(0), with(docPayload("abc", "docs/a.md"), "change_type", "added")),
			envelope(silver.EventPullRequest, at(0), prPayload(17, "closed")),
			envelope(silver.EventIssue, at(0), issuePayload(18, "closed")),
			envelope(silver.EventDocChange, at(0), with(docPayload("abc", "docs/a.md"), "change_type", "removed")))
		transformer := silver.NewTransformer(db, nil)

		for _, i := range []int{3, 4, 5, 0, 1, 2} {
			result, err := transformer.ProcessIDs(t.Context(), []int64{ids[i]})
			is.NoErr(err)
			is.Equal(result, silver.Result{Processed: 1})
		}

		is.Equal(pullRequest(t, db, 17).State, "closed")
		var issueState, changeType string
		is.NoErr(db.Get(&issueState, "SELECT state FROM issues WHERE id = 18"))
		is.Equal(issueState, "closed")
		is.NoErr(db.Get(&changeType, "SELECT change_type FROM documentation_changes"))
		is.Equal(changeType, "removed")
	})
}

func TestRepositoryNamesIgnoreCase(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db,
			envelope(silver.EventCommit, at(0),
				with(commitPayload("abc123"), "repo_owner", "Octo", "repo_name", "Reef")),
			envelope(silver.EventPullRequest, at(1), prPayload(17, "open")))
		processPending(t, db)
		write(t, db, envelope(silver.EventIssue, at(2), with(issuePayload(5, "open"), "repo_owner", "OCTO")))
		processPending(t, db)

		repos := repositories(t, db)
		is.Equal(len(repos), 1)
		is.Equal(repos[0].Owner, "Octo") // spelt as the first event spelt it
		is.Equal(repos[0].Name, "Reef")
		is.Equal(pullRequest(t, db, 17).RepoID, repos[0].ID)
		is.Equal(issue(t, db, 5).RepoID, repos[0].ID)
	})
}

func TestFirstSpellingWinsInOneBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db,
			envelope(silver.EventCommit, at(0), commitPayload("abc123")),
			envelope(silver.EventIssue, at(1),
				with(issuePayload(5, "open"), "repo_owner", "Octo", "repo_name", "Reef")))
		processPending(t, db)

		repos := repositories(t, db)
		is.Equal(len(repos), 1)
		is.Equal(repos[0].Owner, "octo") // the first event's spelling, as with one event per batch
		is.Equal(repos[0].Name, "reef")
	})
}

func TestCommitUpdatesDefaultBranch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db, envelope(silver.EventCommit, at(0), with(commitPayload("a1"), "default_branch", "trunk")))
		processPending(t, db)
		created := repositories(t, db)[0]
		is.Equal(created.DefaultBranch, "trunk") // an ad hoc repository takes the reported branch

		write(t, db,
			envelope(silver.EventCommit, at(1), with(commitPayload("a2"), "default_branch", "")),
			envelope(silver.EventPullRequest, at(2), prPayload(17, "open")))
		processPending(t, db)
		unchanged := repositories(t, db)[0]
		is.Equal(unchanged.DefaultBranch, "trunk") // an empty branch and other events change nothing
		is.True(unchanged.UpdatedAt.Equal(created.UpdatedAt.Time))

		write(t, db,
			envelope(silver.EventCommit, at(3), with(commitPayload("a3"), "default_branch", "develop")),
			envelope(silver.EventCommit, at(4), with(commitPayload("a4"), "default_branch", "release")))
		processPending(t, db)
		updated := repositories(t, db)[0]
		is.Equal(updated.DefaultBranch, "release") // the newest reported branch wins
		is.True(updated.UpdatedAt.After(created.UpdatedAt.Time))
	})
}

func TestOlderBranchDoesNotOverwrite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		write(t, db,
			envelope(silver.EventCommit, at(5), with(commitPayload("b1"), "default_branch", "main")),
			envelope(silver.EventCommit, at(1), with(commitPayload("a1"), "default_branch", "master")))
		processPending(t, db)
		is.Equal(repositories(t, db)[0].DefaultBranch, "main") // newest event wins in one batch

		// Replaying the older event on its own leaves the newer branch.
		_, err := silver.NewTransformer(db, nil).ProcessIDs(t.Context(), []int64{2})
		is.NoErr(err)
		is.Equal(repositories(t, db)[0].DefaultBranch, "main")

		write(t, db, envelope(silver.EventCommit, at(9), with(commitPayload("c1"), "default_branch", "trunk")))
		processPending(t, db)
		is.Equal(repositories(t, db)[0].DefaultBranch, "trunk") // a newer event still updates it
	})
}

func TestRegistryRepositoryReused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		_, err := db.ExecContext(t.Context(), db.Rebind(`INSERT INTO repositories (id, estate_id,
			github_owner, github_name, default_branch, catalogue_repository_id, ingestion_enabled)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), store.NewID(), "estate-1", "Octo", "REEF", "main", "cat-1", true)
		is.NoErr(err)
		write(t, db, envelope(silver.EventIssue, at(0), issuePayload(5, "open")))

		processPending(t, db)

		repos := repositories(t, db)
		is.Equal(len(repos), 1)
		is.Equal(deref(repos[0].CatalogueRepositoryID), "cat-1") // the registry's row is kept as it is
		is.True(repos[0].IngestionEnabled)
		is.Equal(issue(t, db, 5).RepoID, repos[0].ID)
	})
}

func TestUnregisteredEventTypeSkipped(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ids := write(t, db, envelope("github.push", at(0), map[string]any{"after": "abc123", "ref": "refs/heads/main"}))

		is.Equal(processPending(t, db), silver.Result{Skipped: 1})

		is.Equal(count(t, db, "event_facts"), 1)
		is.Equal(count(t, db, "repositories"), 0)
		is.Equal(count(t, db, "commits"), 0)
		state := rawState(t, db, ids[0])
		is.Equal(state.State, bronze.Processed)
		is.Equal(state.Attempts, 1)
	})
}

func TestPayloadValuesRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		metadata := map[string]any{
			"quote":   `say "hi" \ bye`,
			"unicode": "café ☕ 😀",
			"nested":  map[string]any{"list": []any{1, 2.5, nil, true, "]}"}},
			"big":     json.Number("12345678901234567890"),
		}
		write(t, db, envelope(silver.EventPullRequest, at(0), with(prPayload(17, "open"),
			"id", int64(1)<<53+1, // beyond float64 precision
			"title", "Fix \"quoting\"\n\ttabs & <html> ünïcode",
			"labels", []string{"a\"b", "ü"},
			"metadata", metadata)))

		is.Equal(processPending(t, db), silver.Result{Processed: 1})

		pr := pullRequest(t, db, 1<<53+1)
		is.Equal(pr.Title, "Fix \"quoting\"\n\ttabs & <html> ünïcode")
		is.Equal(pr.Labels.V, []string{"a\"b", "ü"})
		var stored string
		err := db.GetContext(t.Context(), &stored, "SELECT metadata FROM pull_requests")
		is.NoErr(err)
		got, err := bronze.DecodePayload([]byte(stored))
		is.NoErr(err)
		want := map[string]any{
			"quote":   `say "hi" \ bye`,
			"unicode": "café ☕ 😀",
			"nested":  map[string]any{"list": []any{json.Number("1"), json.Number("2.5"), nil, true, "]}"}},
			"big":     json.Number("12345678901234567890"),
		}
		is.Equal(got, want) // metadata is stored as the payload had it
	})
}

func TestLargeBatchSplitsStatements(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		const events = 1300 // more than one statement's rows and ids
		var envelopes []bronze.Envelope
		for i := range events {
			payload := with(issuePayload(i+1, "open"), "repo_name", fmt.Sprintf("repo-%d", i%600))
			envelopes = append(envelopes, envelope(silver.EventIssue, at(i), payload))
		}
		ids := write(t, db, envelopes...)
		transformer := silver.NewTransformer(db, nil)
		transformer.BatchSize = 5000

		result, err := transformer.ProcessPending(t.Context(), 0)
		is.NoErr(err)
		is.Equal(result, silver.Result{Processed: events})
		is.Equal(count(t, db, "issues"), events)
		is.Equal(count(t, db, "repositories"), 600)

		again, err := transformer.ProcessIDs(t.Context(), ids)
		is.NoErr(err)
		is.Equal(again, silver.Result{Processed: events})
		is.Equal(count(t, db, "event_facts"), events)
	})
}

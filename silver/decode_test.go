package silver_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/silver"
)

// decoded returns a payload as bronze.DecodePayload returns stored ones,
// with json.Number numbers.
func decoded(t *testing.T, payload map[string]any) map[string]any {
	t.Helper()

	text, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := bronze.DecodePayload(text)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeCommitFields(t *testing.T) {
	is := is.New(t)
	payload := with(commitPayload("abc123"), "default_branch", "main", "authored_at", nil,
		"unknown_key", []any{1, 2})

	p, err := silver.DecodeCommit(decoded(t, payload))

	is.NoErr(err) // unknown keys are ignored
	is.Equal(p.SHA, "abc123")
	is.Equal(p.RepoOwner, "octo")
	is.Equal(p.RepoName, "reef")
	is.Equal(*p.Message, "docs: refresh roadmap")
	is.Equal(*p.AuthorEmail, "dev@example.com")
	is.Equal(*p.AuthorName, "Dev")
	is.Equal(p.AuthoredAt, nil)
	is.Equal(*p.CommittedAt, time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC))
	is.Equal(*p.DefaultBranch, "main")
	is.Equal(string(p.Metadata), `{"ref":"refs/heads/main"}`)
}

func TestDecodeRepositoryNames(t *testing.T) {
	for _, slug := range [][2]string{{"my-org_1", "a.b-c_d"}, {"_x", "x.y"},
		{strings.Repeat("o", 39), strings.Repeat("n", 100)}, {"O", ".github"}} {
		t.Run(slug[0]+"/"+slug[1], func(t *testing.T) {
			is := is.New(t)
			p, err := silver.DecodeCommit(decoded(t,
				with(commitPayload("a"), "repo_owner", slug[0], "repo_name", slug[1])))
			is.NoErr(err) // a name GitHub allows
			is.Equal(p.RepoOwner+"/"+p.RepoName, slug[0]+"/"+slug[1])
		})
	}
}

func TestDecodePullRequestFields(t *testing.T) {
	is := is.New(t)
	payload := with(prPayload(17, "open"), "id", int64(999_999_999_999_999_999), "is_draft", true,
		"merged_at", nil, "labels", []string{})

	p, err := silver.DecodePullRequest(decoded(t, payload))

	is.NoErr(err)
	is.Equal(p.ID, int64(999_999_999_999_999_999)) // ids beyond float64 precision stay exact
	is.Equal(p.Number, 17)
	is.Equal(p.Title, "Pull request 17")
	is.Equal(p.State, "open")
	is.Equal(p.BaseBranch, "main")
	is.Equal(p.HeadBranch, "feature-17")
	is.Equal(p.CreatedAt, time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC))
	is.Equal(*p.AuthorLogin, "octocat")
	is.Equal(p.MergedAt, nil)
	is.True(p.IsDraft)
	is.True(p.Labels != nil) // [] is kept apart from null
	is.Equal(len(p.Labels), 0)
	is.Equal(string(p.Metadata), `{"mergeable":"unknown"}`)
}

func TestDecodeOptionalDefaults(t *testing.T) {
	is := is.New(t)

	pr, err := silver.DecodePullRequest(decoded(t, with(prPayload(17, "open"),
		"author_login", deleted, "labels", nil, "metadata", deleted)))
	is.NoErr(err)
	is.Equal(pr.AuthorLogin, nil)
	is.Equal(pr.Labels, nil)
	is.Equal(pr.Metadata, nil)
	is.True(!pr.IsDraft) // is_draft defaults to false

	doc, err := silver.DecodeDocChange(decoded(t, with(docPayload("abc", "docs/a.md"), "is_roadmap", deleted)))
	is.NoErr(err)
	is.True(!doc.IsRoadmap)
	is.True(!doc.IsADR)
	is.Equal(doc.OccurredAt, time.Date(2024, 7, 2, 13, 55, 0, 0, time.UTC))

	got, err := silver.DecodeIssue(decoded(t, with(issuePayload(5, "open"), "closed_at", nil)))
	is.NoErr(err)
	is.Equal(got.ClosedAt, nil)
	is.Equal(got.Labels, []string{"bug", "infra"})
}

func TestDecodeRejectsInvalidPayloads(t *testing.T) {
	long := strings.Repeat("x", 65)
	tests := []struct {
		name    string
		decode  func(map[string]any) error
		payload map[string]any
		want    string
	}{
		{"missing sha", decodeCommit, with(commitPayload("a"), "sha", deleted), "sha is required"},
		{"null sha", decodeCommit, with(commitPayload("a"), "sha", nil), "sha must not be null"},
		{"numeric sha", decodeCommit, with(commitPayload("a"), "sha", 12),
			"sha must be a string, got a number"},
		{"empty sha", decodeCommit, with(commitPayload("a"), "sha", ""), "sha must not be empty"},
		{"long sha", decodeCommit, with(commitPayload("a"), "sha", long),
			"sha is 65 characters long: the maximum is 64"},
		{"empty owner", decodeCommit, with(commitPayload("a"), "repo_owner", ""),
			"repo_owner must not be empty"},
		{"owner with slash", decodeIssue, with(issuePayload(1, "open"), "repo_owner", "oc/to"),
			`repo_owner is "oc/to": use 1 to 39 letters, digits, hyphens or underscores, ` +
				"not starting with a hyphen"},
		{"owner with hyphen first", decodeCommit, with(commitPayload("a"), "repo_owner", "-bad"),
			`repo_owner is "-bad": use 1 to 39 letters, digits, hyphens or underscores, ` +
				"not starting with a hyphen"},
		{"long owner", decodePR, with(prPayload(1, "open"), "repo_owner", strings.Repeat("o", 40)),
			`repo_owner is "` + strings.Repeat("o", 40) + `": use 1 to 39 letters, digits, ` +
				"hyphens or underscores, not starting with a hyphen"},
		{"name with space", decodeCommit, with(commitPayload("a"), "repo_name", "na me"),
			`repo_name is "na me": use 1 to 100 letters, digits, '.', '-' or '_', other than ` +
				"'.' and '..'"},
		{"dot dot name", decodeDoc, with(docPayload("a", "b"), "repo_name", ".."),
			`repo_name is "..": use 1 to 100 letters, digits, '.', '-' or '_', other than ` +
				"'.' and '..'"},
		{"empty state", decodePR, with(prPayload(1, "open"), "state", ""), "state must not be empty"},
		{"empty issue state", decodeIssue, with(issuePayload(1, "open"), "state", ""),
			"state must not be empty"},
		{"numeric message", decodeCommit, with(commitPayload("a"), "message", 1),
			"message must be a string, got a number"},
		{"array metadata", decodeCommit, with(commitPayload("a"), "metadata", []any{}),
			"metadata must be an object, got an array"},
		{"string id", decodePR, with(prPayload(1, "open"), "id", "17"),
			"id must be an integer, got a string"},
		{"fractional id", decodePR, with(prPayload(1, "open"), "id", 17.5),
			"id must be an integer, got 17.5"},
		{"zero id", decodePR, with(prPayload(1, "open"), "id", 0),
			"id is 0: it must be between 1 and 999999999999999999"},
		{"huge id", decodePR, with(prPayload(1, "open"), "id", json.Number("99999999999999999999")),
			"id is 99999999999999999999: it must be between 1 and 999999999999999999"},
		{"19 digit id", decodeIssue, with(issuePayload(1, "open"), "id",
			json.Number("1234567890123456789")),
			"id is 1234567890123456789: it must be between 1 and 999999999999999999"},
		{"boolean id", decodePR, with(prPayload(1, "open"), "id", true),
			"id must be an integer, got a boolean"},
		{"large number", decodePR, with(prPayload(1, "open"), "number", int64(1)<<31),
			"number is 2147483648: it must be between 1 and 2147483647"},
		{"null draft", decodePR, with(prPayload(1, "open"), "is_draft", nil),
			"is_draft must be a boolean, got null"},
		{"string draft", decodePR, with(prPayload(1, "open"), "is_draft", "yes"),
			"is_draft must be a boolean, got a string"},
		{"missing title", decodePR, with(prPayload(1, "open"), "title", deleted), "title is required"},
		{"null created", decodePR, with(prPayload(1, "open"), "created_at", nil),
			"created_at must not be null"},
		{"mixed labels", decodePR, with(prPayload(1, "open"), "labels", []any{"a", 1}),
			"labels must be an array of strings, got a number at index 1"},
		{"string labels", decodePR, with(prPayload(1, "open"), "labels", "bug"),
			"labels must be an array of strings, got a string"},
		{"long state", decodePR, with(prPayload(1, "open"), "state", strings.Repeat("s", 33)),
			"state is 33 characters long: the maximum is 32"},
		{"issue without repo", decodeIssue, with(issuePayload(1, "open"), "repo_name", deleted),
			"repo_name is required"},
		{"issue null labels item", decodeIssue, with(issuePayload(1, "open"), "labels", []any{nil}),
			"labels must be an array of strings, got null at index 0"},
		{"doc without path", decodeDoc, with(docPayload("a", "b"), "path", deleted), "path is required"},
		{"doc string flag", decodeDoc, with(docPayload("a", "b"), "is_adr", "true"),
			"is_adr must be a boolean, got a string"},
		{"doc long path", decodeDoc, with(docPayload("a", "b"), "path", strings.Repeat("p", 513)),
			"path is 513 characters long: the maximum is 512"},
		{"doc naive time", decodeDoc, with(docPayload("a", "b"), "occurred_at", "2024-07-02T13:55:00"),
			`occurred_at must include timezone information: "2024-07-02T13:55:00"; ` +
				"add Z or an offset such as +01:00"},
		{"first problem wins", decodePR, with(prPayload(1, "open"), "id", deleted, "title", deleted),
			"id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			err := tt.decode(decoded(t, tt.payload))

			var payloadErr *silver.PayloadError
			is.True(errors.As(err, &payloadErr)) // a *PayloadError
			is.Equal(err.Error(), tt.want)
		})
	}
}

func decodeCommit(p map[string]any) error { _, err := silver.DecodeCommit(p); return err }

func decodePR(p map[string]any) error { _, err := silver.DecodePullRequest(p); return err }

func decodeIssue(p map[string]any) error { _, err := silver.DecodeIssue(p); return err }

func decodeDoc(p map[string]any) error { _, err := silver.DecodeDocChange(p); return err }

func TestDecodeTimestamps(t *testing.T) {
	utc := func(year int, month time.Month, day, hour, minute, second, nanos int) time.Time {
		return time.Date(year, month, day, hour, minute, second, nanos, time.UTC)
	}
	valid := []struct {
		value string
		want  time.Time
	}{
		{"2024-07-02T09:30:00Z", utc(2024, 7, 2, 9, 30, 0, 0)},
		{"2024-07-02T09:30:00+00:00", utc(2024, 7, 2, 9, 30, 0, 0)},
		{"2024-07-02t09:30:00z", utc(2024, 7, 2, 9, 30, 0, 0)},
		{"2024-07-02 09:30:00+02:00", utc(2024, 7, 2, 7, 30, 0, 0)},
		{"2024-07-02T09:30Z", utc(2024, 7, 2, 9, 30, 0, 0)},
		{"2024-07-02T09:30:00.123456Z", utc(2024, 7, 2, 9, 30, 0, 123456000)},
		{"2024-07-02T09:30:00,5+0530", utc(2024, 7, 2, 4, 0, 0, 500000000)},
		{"2024-07-02T09:30:00.123456789-05", utc(2024, 7, 2, 14, 30, 0, 123456789)},
		{"2024-02-29T23:59:59-00:30", utc(2024, 3, 1, 0, 29, 59, 0)},
		{"0001-01-01T00:00:00.000001Z", utc(1, 1, 1, 0, 0, 0, 1000)},
	}
	for _, tt := range valid {
		t.Run(tt.value, func(t *testing.T) {
			is := is.New(t)

			p, err := silver.DecodeCommit(with(commitPayload("a"), "committed_at", tt.value))

			is.NoErr(err)
			is.Equal(*p.CommittedAt, tt.want)
			is.Equal(p.CommittedAt.Location(), time.UTC)
		})
	}

	invalid := []struct {
		value string
		want  string
	}{
		{"2024-07-02T09:30:00", "must include timezone information"},
		{"2024-07-02T09:30", "must include timezone information"},
		{"2024-07-02 09:30:00.5", "must include timezone information"},
		{"2024-07-02", "must include timezone information"},
		{"not-a-date", "is not a valid ISO-8601 datetime"},
		{"", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T", "is not a valid ISO-8601 datetime"},
		{"2024-07-02Z", "is not a valid ISO-8601 datetime"},
		{"2024-7-2T09:30:00Z", "is not a valid ISO-8601 datetime"},
		{"20240702T093000Z", "is not a valid ISO-8601 datetime"},
		{"2024-13-01T00:00:00Z", "is not a valid ISO-8601 datetime"},
		{"2023-02-29T00:00:00Z", "is not a valid ISO-8601 datetime"},
		{"2024-06-31T00:00:00Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-00T00:00:00Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T24:00:00Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:60:00Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:30:60Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:30:00+24:00", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:30:00+2:00", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:30:00.Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:30:00.1234567890Z", "is not a valid ISO-8601 datetime"},
		{"2024-07-02T09:30:00Z trailing", "is not a valid ISO-8601 datetime"},
		{"0001-01-01T00:00:00Z", "is out of range"},
		{"0001-01-01T00:30:00+01:00", "is out of range"},
		{"9999-12-31T23:30:00-01:00", "is out of range"},
	}
	for _, tt := range invalid {
		t.Run(tt.value, func(t *testing.T) {
			is := is.New(t)

			_, err := silver.DecodeCommit(with(commitPayload("a"), "committed_at", tt.value))

			is.True(err != nil)
			is.True(strings.HasPrefix(err.Error(), "committed_at "+tt.want)) // names the field and problem
		})
	}
}

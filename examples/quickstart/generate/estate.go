package main

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/ghillie/ghillie/adapters/githubapi/githubtest"
)

const owner = "kestrel-labs"

// People of the estate. Commits carry a git author, and pull requests
// and issues a GitHub login.
var (
	priya   = githubtest.GitActor{Name: "Priya Raman", Email: "priya@kestrel.example", Login: "priya-raman"}
	tomas   = githubtest.GitActor{Name: "Tomás Ortega", Email: "tomas@kestrel.example", Login: "tomas-ortega"}
	ade     = githubtest.GitActor{Name: "Ade Okafor", Email: "ade@kestrel.example", Login: "ade-okafor"}
	lin     = githubtest.GitActor{Name: "Lin Wei", Email: "lin@kestrel.example", Login: "lin-wei"}
	noor    = githubtest.GitActor{Name: "Noor Haddad", Email: "noor@kestrel.example", Login: "noor-haddad"}
	hamish  = githubtest.GitActor{Name: "Hamish Grant", Email: "hamish@kestrel.example", Login: "hamish-grant"}
	botUser = githubtest.GitActor{Name: "dependabot[bot]",
		Email: "49699333+dependabot[bot]@users.noreply.github.com", Login: "dependabot[bot]"}

	// GitHub's GraphQL API names the bot without its "[bot]" suffix, and
	// ingestion adds it before matching the noise filters.
	dependabot = &githubtest.Actor{Login: "dependabot", Type: "Bot"}
	customer   = &githubtest.Actor{Login: "mara-lindqvist"}
)

// at returns the time days before recordedAt, at the hour and minute of
// the day in UTC.
func at(days, hour, minute int) time.Time {
	day := recordedAt.AddDate(0, 0, -days)
	return time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, time.UTC)
}

// commit returns a commit whose id derives from the repository and the
// headline, so it is the same in every recording.
func commit(repo string, when time.Time, author githubtest.GitActor, headline string,
	files ...githubtest.ChangedFile) githubtest.Commit {
	sum := sha1.Sum([]byte(repo + "\n" + headline))
	c := githubtest.Commit{OID: hex.EncodeToString(sum[:]), MessageHeadline: headline,
		AuthoredDate: when, CommittedDate: when, Author: author, Files: files}
	for _, f := range files {
		c.Additions += f.Additions
		c.Deletions += f.Deletions
	}
	return c
}

func added(path string, lines int) githubtest.ChangedFile {
	return githubtest.ChangedFile{Path: path, ChangeType: "ADDED", Additions: lines}
}

func modified(path string, additions, deletions int) githubtest.ChangedFile {
	return githubtest.ChangedFile{Path: path, ChangeType: "MODIFIED", Additions: additions,
		Deletions: deletions}
}

// merged returns a pull request merged at the time given, opened the
// days before it.
func merged(number int, title string, author githubtest.GitActor, openDays int, mergedAt time.Time,
	labels ...string) githubtest.PullRequest {
	return githubtest.PullRequest{DatabaseID: 2_400_000_000 + int64(number), Number: number,
		Title: title, State: "MERGED", CreatedAt: mergedAt.AddDate(0, 0, -openDays),
		UpdatedAt: mergedAt, MergedAt: mergedAt, ClosedAt: mergedAt, BaseRefName: "main",
		HeadRefName: "topic-" + strconv.Itoa(number), Author: &githubtest.Actor{Login: author.Login},
		Labels: labels}
}

// open returns an open pull request, a draft when draft is true.
func open(number int, title string, author githubtest.GitActor, created, updated time.Time, draft bool,
	labels ...string) githubtest.PullRequest {
	return githubtest.PullRequest{DatabaseID: 2_400_000_000 + int64(number), Number: number,
		Title: title, State: "OPEN", IsDraft: draft, CreatedAt: created, UpdatedAt: updated,
		BaseRefName: "main", HeadRefName: "topic-" + strconv.Itoa(number),
		Author: &githubtest.Actor{Login: author.Login}, Labels: labels}
}

func issue(number int, title string, author *githubtest.Actor, created, updated, closed time.Time,
	labels ...string) githubtest.Issue {
	state := "OPEN"
	if !closed.IsZero() {
		state = "CLOSED"
	}
	return githubtest.Issue{DatabaseID: 1_900_000_000 + int64(number), Number: number, Title: title,
		State: state, CreatedAt: created, UpdatedAt: updated, ClosedAt: closed, Author: author,
		Labels: labels}
}

func login(a githubtest.GitActor) *githubtest.Actor { return &githubtest.Actor{Login: a.Login} }

// repositories returns the quickstart estate's repositories with their
// activity.
func repositories() []*githubtest.Repository {
	return []*githubtest.Repository{courierAPI(), courierWeb(), configKit(), testHarness()}
}

// courierAPI is a busy service: features and fixes, two decision
// records, a roadmap change and dependency bumps from Dependabot, which
// the catalogue's noise filters drop.
func courierAPI() *githubtest.Repository {
	const name = "courier-api"
	none := time.Time{}
	return &githubtest.Repository{Owner: owner, Name: name, OwnerType: "Organization",
		DefaultBranch: "main",
		Commits: []githubtest.Commit{
			commit(name, at(1, 10, 12), priya, "feat: add delivery window estimates to tracking responses (#142)",
				added("internal/tracking/eta.go", 164), added("internal/tracking/eta_test.go", 211),
				modified("api/openapi.yaml", 48, 3)),
			commit(name, at(2, 15, 40), lin, "docs: record ADR 0007 on idempotent webhook delivery",
				added("docs/adr/0007-idempotent-webhooks.md", 71)),
			commit(name, at(2, 9, 5), botUser, "chore(deps): bump github.com/jackc/pgx/v5 from 5.7.1 to 5.7.2 (#143)",
				modified("go.mod", 1, 1), modified("go.sum", 2, 2)),
			commit(name, at(3, 17, 22), tomas, "fix: retry carrier webhooks on 502 without duplicating scans (#139)",
				modified("internal/webhooks/retry.go", 58, 19), modified("internal/webhooks/retry_test.go", 96, 4)),
			commit(name, at(4, 11, 30), priya, "docs: move label printing to the July milestone",
				modified("docs/roadmap.md", 9, 6)),
			commit(name, at(5, 14, 2), tomas, "feat: accept carrier scan events over webhooks (#136)",
				added("internal/webhooks/handler.go", 203), added("internal/webhooks/signature.go", 77),
				modified("cmd/courier-api/main.go", 12, 2)),
			commit(name, at(6, 10, 48), ade, "refactor: split the tracking store into a reader and a writer",
				modified("internal/store/tracking.go", 88, 131), added("internal/store/writer.go", 97)),
			commit(name, at(8, 8, 15), botUser, "chore(deps): bump golang.org/x/net from 0.33.0 to 0.38.0 (#134)",
				modified("go.mod", 1, 1), modified("go.sum", 2, 2)),
			commit(name, at(9, 16, 31), ade, "fix: return 404 for unknown tracking numbers (#131)",
				modified("internal/api/tracking.go", 14, 5), modified("internal/api/tracking_test.go", 31, 0)),
			commit(name, at(10, 13, 7), lin, "feat: paginate the shipments listing (#129)",
				modified("internal/api/shipments.go", 66, 12), modified("api/openapi.yaml", 22, 1)),
			commit(name, at(11, 9, 54), ade, "test: cover the carrier adapter with recorded fixtures",
				added("internal/carrier/testdata/scan-events.json", 140), modified("internal/carrier/adapter_test.go", 85, 10)),
			commit(name, at(12, 15, 20), lin, "docs: record ADR 0006 on storing scans as an event log",
				added("docs/adr/0006-scan-event-log.md", 64)),
			commit(name, at(17, 10, 0), priya, "feat: serve tracking timelines from PostgreSQL",
				added("internal/store/tracking.go", 212), added("migrations/0003_scans.sql", 38)),
			commit(name, at(20, 11, 45), priya, "chore: release v0.4.0", modified("CHANGELOG.md", 18, 0)),
		},
		PullRequests: []githubtest.PullRequest{
			open(145, "Switch scan ingestion to a queue", ade, at(1, 16, 3), at(0, 9, 12), true, "refactor"),
			open(144, "Rate-limit the public tracking endpoint", lin, at(1, 11, 40), at(0, 14, 25), false,
				"feature", "security"),
			{DatabaseID: 2_400_000_143, Number: 143, Title: "chore(deps): bump github.com/jackc/pgx/v5 from 5.7.1 to 5.7.2",
				State: "MERGED", CreatedAt: at(3, 6, 0), UpdatedAt: at(2, 9, 5), MergedAt: at(2, 9, 5),
				ClosedAt: at(2, 9, 5), BaseRefName: "main", HeadRefName: "dependabot/go_modules/pgx-5.7.2",
				Author: dependabot, Labels: []string{"dependencies", "go"}},
			merged(142, "Add delivery window estimates to tracking responses", priya, 3, at(1, 10, 12), "feature"),
			{DatabaseID: 2_400_000_140, Number: 140, Title: "Add a label printing endpoint", State: "CLOSED",
				CreatedAt: at(9, 10, 0), UpdatedAt: at(4, 11, 35), ClosedAt: at(4, 11, 35),
				BaseRefName: "main", HeadRefName: "label-printing", Author: login(priya),
				Labels: []string{"feature"}},
			merged(139, "Retry carrier webhooks on 502 without duplicating scans", tomas, 1, at(3, 17, 22), "bug"),
			merged(136, "Accept carrier scan events over webhooks", tomas, 4, at(5, 14, 2), "feature"),
			{DatabaseID: 2_400_000_134, Number: 134, Title: "chore(deps): bump golang.org/x/net from 0.33.0 to 0.38.0",
				State: "MERGED", CreatedAt: at(9, 6, 0), UpdatedAt: at(8, 8, 15), MergedAt: at(8, 8, 15),
				ClosedAt: at(8, 8, 15), BaseRefName: "main", HeadRefName: "dependabot/go_modules/x-net-0.38.0",
				Author: dependabot, Labels: []string{"dependencies", "go"}},
			merged(131, "Return 404 for unknown tracking numbers", ade, 1, at(9, 16, 31), "bug"),
			merged(129, "Paginate the shipments listing", lin, 2, at(10, 13, 7), "feature"),
		},
		Issues: []githubtest.Issue{
			issue(141, "Tracking page shows a stale estimate after a failed scan", customer,
				at(2, 8, 30), at(1, 12, 0), none, "bug"),
			issue(138, "Report customs holds in tracking events", login(noor),
				at(6, 9, 0), at(3, 10, 10), none, "feature"),
			issue(137, "Carrier webhooks arrive twice after a timeout", login(tomas),
				at(5, 16, 20), at(3, 17, 25), at(3, 17, 25), "bug"),
			issue(133, "Document the webhook signature scheme", login(lin),
				at(11, 14, 0), at(5, 14, 10), none, "documentation"),
		},
	}
}

// courierWeb is a front end fighting bugs: its fixes outnumber its
// features, so the mock model reports it at risk.
func courierWeb() *githubtest.Repository {
	const name = "courier-web"
	none := time.Time{}
	return &githubtest.Repository{Owner: owner, Name: name, OwnerType: "Organization",
		DefaultBranch: "main",
		Commits: []githubtest.Commit{
			commit(name, at(1, 14, 55), noor, "fix: keep the map centred when the tracking panel opens (#88)",
				modified("src/components/TrackingMap.tsx", 21, 9)),
			commit(name, at(2, 11, 18), noor, "fix: show delivery windows in the recipient's time zone (#86)",
				modified("src/lib/time.ts", 34, 11), modified("src/lib/time.test.ts", 48, 0)),
			commit(name, at(3, 7, 2), botUser, "chore(deps): bump vite from 6.2.0 to 6.2.5 (#87)",
				modified("package.json", 1, 1), modified("package-lock.json", 12, 12)),
			commit(name, at(4, 16, 40), hamish, "feat: show delivery window estimates on the tracking page (#85)",
				added("src/components/DeliveryWindow.tsx", 96), modified("src/pages/Tracking.tsx", 18, 4)),
			commit(name, at(6, 13, 25), hamish, "fix: stop the timeline flickering on slow networks (#83)",
				modified("src/components/Timeline.tsx", 27, 14)),
			commit(name, at(9, 10, 10), noor, "style: align the status badges on narrow screens",
				modified("src/styles/badges.css", 12, 8)),
		},
		PullRequests: []githubtest.PullRequest{
			open(89, "Announce status changes to screen readers", hamish, at(1, 9, 30), at(0, 11, 5), false, "bug",
				"accessibility"),
			merged(88, "Keep the map centred when the tracking panel opens", noor, 1, at(1, 14, 55), "bug"),
			{DatabaseID: 2_400_000_087, Number: 87, Title: "chore(deps): bump vite from 6.2.0 to 6.2.5",
				State: "MERGED", CreatedAt: at(4, 6, 0), UpdatedAt: at(3, 7, 2), MergedAt: at(3, 7, 2),
				ClosedAt: at(3, 7, 2), BaseRefName: "main", HeadRefName: "dependabot/npm_and_yarn/vite-6.2.5",
				Author: dependabot, Labels: []string{"dependencies", "javascript"}},
			merged(86, "Show delivery windows in the recipient's time zone", noor, 2, at(2, 11, 18), "bug"),
			merged(85, "Show delivery window estimates on the tracking page", hamish, 3, at(4, 16, 40), "feature"),
			merged(83, "Stop the timeline flickering on slow networks", hamish, 1, at(6, 13, 25), "bug"),
		},
		Issues: []githubtest.Issue{
			issue(90, "Tracking page stays blank on Safari 17", customer, at(1, 19, 45), at(0, 8, 20), none, "bug"),
			issue(84, "Delivery window shown in UTC for some recipients", login(noor),
				at(5, 10, 0), at(2, 11, 20), at(2, 11, 20), "bug"),
			issue(82, "Dark mode for the tracking page", customer, at(13, 20, 0), at(6, 9, 0), none, "feature"),
		},
	}
}

// configKit is a library heading for a release candidate, with a
// migration guide among its documentation.
func configKit() *githubtest.Repository {
	const name = "config-kit"
	none := time.Time{}
	return &githubtest.Repository{Owner: owner, Name: name, OwnerType: "Organization",
		DefaultBranch: "main",
		Commits: []githubtest.Commit{
			commit(name, at(2, 13, 14), tomas, "feat: read settings from TOML files (#57)",
				added("toml.go", 142), added("toml_test.go", 188), modified("go.mod", 1, 0)),
			commit(name, at(3, 10, 3), botUser, "chore(deps): bump github.com/pelletier/go-toml/v2 from 2.2.3 to 2.2.4 (#59)",
				modified("go.mod", 1, 1), modified("go.sum", 2, 2)),
			commit(name, at(5, 15, 37), tomas, "fix: name the file and line of an invalid value (#55)",
				modified("errors.go", 41, 12), modified("errors_test.go", 57, 3)),
			commit(name, at(7, 11, 0), priya, "docs: add a guide to migrating from v1",
				added("docs/migrating-to-v2.md", 118), modified("README.md", 4, 1)),
			commit(name, at(10, 17, 12), tomas, "chore: release v2.0.0-rc.1", modified("CHANGELOG.md", 26, 0)),
		},
		PullRequests: []githubtest.PullRequest{
			open(58, "Expand environment variables in file values", ade, at(2, 16, 0), at(1, 8, 45), false, "feature"),
			merged(57, "Read settings from TOML files", tomas, 4, at(2, 13, 14), "feature"),
			merged(55, "Name the file and line of an invalid value", tomas, 1, at(5, 15, 37), "bug"),
		},
		Issues: []githubtest.Issue{
			issue(56, "Environment prefix ignored for nested keys", login(lin), at(4, 9, 15), at(2, 10, 0), none, "bug"),
			issue(53, "Support TOML configuration files", login(priya), at(16, 10, 0), at(2, 13, 20),
				at(2, 13, 20), "feature"),
		},
	}
}

// testHarness is a quiet library with one feature, one fix and an open
// documentation pull request.
func testHarness() *githubtest.Repository {
	const name = "test-harness"
	none := time.Time{}
	return &githubtest.Repository{Owner: owner, Name: name, OwnerType: "Organization",
		DefaultBranch: "main",
		Commits: []githubtest.Commit{
			commit(name, at(3, 12, 48), ade, "feat: start PostgreSQL 17 for tests (#23)",
				modified("postgres.go", 36, 9), modified(".github/workflows/ci.yml", 3, 1)),
			commit(name, at(6, 9, 20), ade, "fix: remove temporary data folders when a test fails (#22)",
				modified("cleanup.go", 19, 4)),
			commit(name, at(11, 14, 30), hamish, "test: run the suite on arm64 runners",
				modified(".github/workflows/ci.yml", 9, 2)),
		},
		PullRequests: []githubtest.PullRequest{
			open(24, "Document running the harness in CI", hamish, at(1, 15, 0), at(1, 15, 0), false, "documentation"),
			merged(23, "Start PostgreSQL 17 for tests", ade, 2, at(3, 12, 48), "feature"),
			merged(22, "Remove temporary data folders when a test fails", ade, 1, at(6, 9, 20), "bug"),
		},
		Issues: []githubtest.Issue{
			issue(21, "Support MySQL 8 as well as PostgreSQL", login(noor), at(8, 11, 0), at(5, 16, 30), none, "feature"),
		},
	}
}

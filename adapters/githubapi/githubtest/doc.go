// Package githubtest is a fake GitHub for tests of code that reads
// repository activity through GitHub's GraphQL and REST APIs: the GitHub
// client in adapters/githubapi, the ingestion worker, and integrations
// built on them.
//
// NewServer starts an HTTP server on 127.0.0.1 that serves repositories
// from memory at GitHub.com's paths (/graphql, /repos/...) and GitHub
// Enterprise Server's (/api/graphql, /api/v3/repos/...). It executes any
// GraphQL query document over the subset of GitHub's schema that
// ingestion reads (repository, its default branch and refs, commit
// history filtered by time and path, pull requests, issues, labels and
// rateLimit), with aliases, variables and fragments. It applies GitHub's
// rules for page sizes, cursors and query cost, and returns errors in
// GitHub's layout. REST serves a commit with its changed files, the
// comparison of two commits (the commits one reaches and the other does
// not, oldest first), and App installation tokens for JWTs. Each server
// keeps separate GraphQL and REST rate limit budgets and a request log,
// and it can inject secondary rate limits, 502s, slow responses, expired
// tokens and partial errors.
//
// LoadRecording reads recorded activity of real repositories, and
// FromRecording turns it into a Repository the server can serve.
//
// The fake differs from GitHub where a test is unlikely to notice:
//
//   - It serves queries only, and only the fields listed above. Without
//     a schema it rejects other fields as undefined. With one, it rejects
//     them too and lists them in Server.Unsupported.
//   - One budget per resource covers every token, where GitHub keeps one
//     per user or installation.
//   - Commit pages link to the path requested, not to GitHub's
//     /repositories/{id} form.
//   - Errors that GitHub reports for a non-null connection, such as an
//     invalid cursor, null that connection only, rather than its parent.
//   - A comparison walks the parents of the commits the repository's
//     branches list, and a commit without Parents has the commit after
//     it in its history as parent. A commit that no branch reaches is
//     gone at once, where GitHub keeps it until garbage collection.
package githubtest

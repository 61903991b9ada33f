// Package githubapi is the GitHub adapter of the ingestion worker: it
// implements ingest.GitHubClient on GitHub's GraphQL API (activity
// streams, through githubv4) and REST API (commit file lists and
// comparisons of two commits, through go-github).
//
// One Client owns one token's budget. Its requests go through a single
// http.RoundTripper that sends them one at a time and reads the
// x-ratelimit-* headers of every response. The RoundTripper waits out
// primary and secondary rate limits and retries transient failures, so
// an error the Client returns is final for that request. A network
// failure that outlasts the retries wraps ingest.ErrNetwork.
// Configuration comes from the environment (ConfigFromEnv) or from a
// Config built in code, with a personal or installation token, or a
// GitHub App whose installation tokens the Client mints and renews
// itself.
//
// The Client talks to github.com, GitHub Enterprise Cloud with data
// residency (api.SUBDOMAIN.ghe.com) and GitHub Enterprise Server. GitHub
// Enterprise Server must be recent enough to serve fullDatabaseId on
// pull requests and issues.
package githubapi

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
//
// # Recording and replay
//
// A Recorder passed to WithTransport saves every exchange of a live run
// in a directory, and a Replayer serves those responses again offline, to
// reproduce a run without GitHub, a network or a token. A recording
// directory contains one JSON file per exchange and index.json.
//
// An exchange file is named after the first 16 hex digits of the
// request key and a sequence number that counts identical requests from
// 001, such as 3fa9c1d2e4b5a6f7-002.json. The request key is the
// SHA-256, in hex, of the method, the path, the query with its
// parameters sorted, and the normalised body. For a JSON body the
// normalised form is the body re-encoded with sorted object keys and with
// every RFC 3339 time among the GraphQL variables replaced by "<time>",
// because the lower bounds of a first run follow the clock. An exchange
// file contains:
//
//	{
//	  "version": 1,
//	  "key": "<request key>",
//	  "sequence": 1,
//	  "rate_limited": false,
//	  "request": {"method": "POST", "path": "/graphql", "query": "", "body": {...}},
//	  "response": {"status": 200, "header": {"Content-Type": ["..."]}, "body": {...}}
//	}
//
// A JSON body is kept as JSON under "body", other UTF-8 text as a string
// under "body_text", and anything else in base64 under "body_base64".
// The path has no host. Of the response headers only Content-Type, Link,
// Retry-After and x-ratelimit-* are kept. rate_limited marks a rate-limit
// response: a 429, a 403 with a spent budget, Retry-After or a
// secondary-limit message, or a GraphQL response with a RATE_LIMITED error.
// index.json dates the recording and lists the exchange files in the
// order they were recorded:
//
//	{"version": 1, "recorded_at": "2025-06-13T16:00:00Z",
//	  "exchanges": [{"file": "...", "method": "POST", "path": "/graphql",
//	  "query": "", "sequence": 1, "status": 200}]}
//
// recorded_at is when the Recorder was last closed, in UTC to the
// second. Recordings made before the field existed lack it and still
// replay.
//
// A recording never contains request headers, so no token or App JWT,
// and it leaves out the requests for App installation tokens
// (/app/installations/...) entirely. Files are written to a temporary
// name and renamed, so a reader never sees a partial file, and only
// their owner can read them. The Recorder writes index.json when it is
// closed.
//
// A Replayer serves identical requests their recorded responses in
// order, then the last one again. It skips rate-limit responses and
// removes the x-ratelimit-* and Retry-After headers from the rest, so a
// replay never waits, and the request counts of a run that met rate
// limits are lower on replay. A request without a recorded response fails
// with an error wrapping ErrNotRecorded that names its method and path.
// Replayer.RecordedAt returns recorded_at, so a replay can run its
// clock at the time the activity was read. The recorded responses hold
// activity at fixed dates, which windows that end now would miss.
package githubapi

// Package githubtest contains test doubles for GitHub. Today it loads the
// recorded activity of real repositories, the data that the fake GitHub
// server will serve to ingestion tests with GitHub's pagination, limits
// and errors.
package githubtest

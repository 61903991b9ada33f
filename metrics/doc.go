// Package metrics computes the delivery metrics of a reporting window
// from the Silver pull_requests and issues tables: pull requests merged
// and closed without merge, the time to merge, issues resolved and
// outstanding, and how long issues stayed open. The database does the
// arithmetic, so no pull request or issue is loaded into memory.
package metrics

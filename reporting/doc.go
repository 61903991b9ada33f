// Package reporting turns evidence into stored status reports. It
// computes reporting windows and builds bundles, then requests a summary
// from a status model, checks it against the evidence and retries. It
// records review markers, stores reports with the events they covered,
// renders them as Markdown for a Sink, and aggregates model metrics.
package reporting

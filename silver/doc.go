// Package silver refines Bronze raw events into the Silver tables: one
// event fact per raw event, and the repositories, commits, pull requests,
// issues and documentation changes those events describe. Gold reports and
// evidence bundles read these tables, never the raw payloads.
//
// A Transformer claims pending rows of raw_events in batches. For each
// event it copies the raw event into event_facts and, for the event types
// github.commit, github.pull_request, github.issue and github.doc_change,
// decodes the payload and upserts the entity rows. Events of other types
// get the fact only. Repositories missing from the registry are created
// as ad hoc rows with ingestion disabled.
//
// Events may arrive out of order. Pull requests, issues and documentation
// changes record the occurred_at and the id of the raw event that last set
// them (observed_at, observed_raw_event_id). An event older than that, or
// of the same time and a lower id, leaves the row unchanged, so a late
// "closed" snapshot cannot undo a newer "reopened" one. Commits
// carry no state that ages, so a commit event fills in the fields its
// payload has and keeps the others.
//
// Failures are per event. An event is rolled back alone and marked failed
// when its payload is invalid, its stored fact no longer matches Bronze,
// or its rows clash with stored ones. raw_events records the message, a
// Reason code and the attempt count, and the rest of the batch commits.
// Failed events are not retried by ProcessPending: fix the cause, then
// call ProcessIDs. Database errors that are not caused by one event, such
// as a lost connection, roll back the whole batch and are returned, and
// the batch's events stay pending.
package silver

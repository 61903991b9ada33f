-- The raw event that last set each pull request, issue and documentation
-- change, next to the time it observed (observed_at). Of two events with
-- the same occurred_at, the one with the higher raw event id now wins,
-- whatever order they are processed in, so that transformers working at
-- once, or events processed again by id, reach the same rows. Rows set
-- before this migration have none, and any event of the same time
-- overwrites them, as before.

-- +goose Up
ALTER TABLE pull_requests ADD COLUMN observed_raw_event_id bigint;
ALTER TABLE issues ADD COLUMN observed_raw_event_id bigint;
ALTER TABLE documentation_changes ADD COLUMN observed_raw_event_id bigint;

-- +goose Down
ALTER TABLE documentation_changes DROP COLUMN observed_raw_event_id;
ALTER TABLE issues DROP COLUMN observed_raw_event_id;
ALTER TABLE pull_requests DROP COLUMN observed_raw_event_id;

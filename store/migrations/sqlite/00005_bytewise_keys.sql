-- Speeds up the write paths of Bronze and Silver; no stored value changes.
-- PostgreSQL's 00005 also makes key columns compare bytes; SQLite already
-- compares text bytewise (BINARY), so here it only drops two indexes that
-- no query reads, because every raw event and every event fact paid for
-- them:
--   * ix_raw_events_repo_time: queries by repository and time read
--     event_facts, which keeps ix_event_facts_repo_time;
--   * ix_event_facts_event_type: no query selects facts by type alone.

-- +goose Up
DROP INDEX ix_raw_events_repo_time;
DROP INDEX ix_event_facts_event_type;

-- +goose Down
CREATE INDEX ix_event_facts_event_type ON event_facts (event_type);
CREATE INDEX ix_raw_events_repo_time ON raw_events (repo_external_id, occurred_at);

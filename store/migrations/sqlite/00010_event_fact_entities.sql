-- Indexes each event fact's Silver entity key, so that a report reads a
-- window's facts and their keys from the index alone, instead of parsing
-- every payload's JSON. The keys are expressions over the payload:
--   * the commit of a commit or documentation change;
--   * the id of a pull request or issue, when the payload's id is a JSON
--     integer or a string of at most 18 ASCII digits;
--   * the path of a documentation change.
-- evidence/facts.go repeats these expressions, and must stay identical to
-- them, because SQLite uses an indexed expression only where a query
-- spells the same expression. They are not VIRTUAL generated columns,
-- because SQLite never reads those from an index alone (3.54).
--
-- The index replaces ix_event_facts_repo_time and keeps its name and
-- leading columns. It lists id after occurred_at, so that its order is
-- still newest first with ties broken by id. Creating it parses every
-- stored payload once.

-- +goose Up
DROP INDEX ix_event_facts_repo_time;
CREATE INDEX ix_event_facts_repo_time ON event_facts (repo_external_id, occurred_at, id,
    event_type,
    (CASE event_type
        WHEN 'github.commit' THEN json_extract(payload, '$.sha')
        WHEN 'github.doc_change' THEN json_extract(payload, '$.commit_sha')
    END),
    (CASE WHEN event_type IN ('github.pull_request', 'github.issue')
        AND (json_type(payload, '$.id') = 'integer'
            OR (json_type(payload, '$.id') = 'text'
                AND json_extract(payload, '$.id') GLOB '[0-9]*'
                AND NOT json_extract(payload, '$.id') GLOB '*[^0-9]*'
                AND length(json_extract(payload, '$.id')) <= 18))
        THEN CAST(json_extract(payload, '$.id') AS INTEGER)
    END),
    (CASE WHEN event_type = 'github.doc_change' THEN json_extract(payload, '$.path') END));

-- +goose Down
DROP INDEX ix_event_facts_repo_time;
CREATE INDEX ix_event_facts_repo_time ON event_facts (repo_external_id, occurred_at);

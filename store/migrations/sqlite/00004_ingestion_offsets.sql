-- Incremental GitHub ingestion state, one row per repository, named as in
-- the Python Ghillie schema. Differences, each for a reason:
--   * a watermark is the start of the last complete crawl of its stream,
--     not the newest event seen, so future-dated commits cannot hide new
--     work and quiet repositories do not look stalled;
--   * last_*_seen_at holds the start of the crawl that began an
--     unfinished backlog, which becomes the watermark when it completes;
--   * last_doc_cursor is JSON: one resume cursor per documentation path,
--     and the paths the watermark covers, so a newly added path is
--     backfilled instead of starting at the watermark;
--   * cursors have no length limit (a path plus a cursor can be long);
--   * the outcome of the last run is kept, for health checks;
--   * version guards against two workers ingesting one repository at once:
--     every write checks and bumps it, and the loser stops.

-- +goose Up
CREATE TABLE github_ingestion_offsets (
    id                      INTEGER NOT NULL PRIMARY KEY,
    repo_external_id        TEXT    NOT NULL,
    last_commit_cursor      TEXT,
    last_pr_cursor          TEXT,
    last_issue_cursor       TEXT,
    last_doc_cursor         TEXT CHECK (last_doc_cursor IS NULL OR json_valid(last_doc_cursor)),
    last_commit_seen_at     TEXT,
    last_pr_seen_at         TEXT,
    last_issue_seen_at      TEXT,
    last_doc_seen_at        TEXT,
    last_commit_ingested_at TEXT,
    last_pr_ingested_at     TEXT,
    last_issue_ingested_at  TEXT,
    last_doc_ingested_at    TEXT,
    last_attempt_at         TEXT,
    last_success_at         TEXT,
    last_error_category     TEXT,
    last_error              TEXT,
    version                 INTEGER NOT NULL DEFAULT 0,
    updated_at              TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE UNIQUE INDEX uq_github_ingestion_offsets_repo
    ON github_ingestion_offsets (lower(repo_external_id));

-- +goose Down
DROP TABLE github_ingestion_offsets;

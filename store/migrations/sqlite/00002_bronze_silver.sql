-- Bronze raw events and the Silver entity tables built from them. Names
-- match the Python Ghillie schema. Differences, each for a reason:
--   * 64-bit identity keys, so high-volume tables cannot run out of ids;
--   * raw_events records why and how often a transform failed;
--   * payloads are json, not jsonb, on PostgreSQL, because jsonb rewrites
--     numbers (1e+16 comes back as an integer) and so would change the
--     hash of a payload read back for a replay;
--   * commits are keyed by (repo_id, sha), because forks and mirrors in
--     one estate share commit hashes;
--   * pull requests, issues and documentation changes remember the time of
--     the event that set their state (observed_at), so an older event
--     processed late cannot overwrite newer state;
--   * repositories compare owner and name without regard to case, as
--     GitHub does, keep an operator's ingestion choice apart from the
--     catalogue's, may belong to several estates, and remember the branch
--     the catalogue last gave, so that a sync overwrites a branch learnt
--     from GitHub only when the catalogue itself changed.
-- Timestamps are fixed-width UTC text and JSON is text checked with
-- json_valid, as in 00001_catalogue.sql, except the payloads of raw_events
-- and event_facts: the writer produces them as canonical JSON, and the
-- check would cost a parse per row on the busiest tables.

-- +goose Up
CREATE TABLE raw_events (
    id                 INTEGER NOT NULL PRIMARY KEY,
    source_system      TEXT    NOT NULL,
    source_event_id    TEXT,
    event_type         TEXT    NOT NULL,
    repo_external_id   TEXT,
    occurred_at        TEXT    NOT NULL,
    ingested_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    dedupe_key         TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    transform_state    INTEGER NOT NULL DEFAULT 0 CHECK (transform_state IN (0, 1, 2)),
    transform_error    TEXT,
    transform_reason   TEXT,
    transform_attempts INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT uq_raw_event_dedupe UNIQUE (source_system, dedupe_key)
);
CREATE INDEX ix_raw_events_pending ON raw_events (id) WHERE transform_state = 0;
CREATE INDEX ix_raw_events_failed ON raw_events (id) WHERE transform_state = 2;
CREATE INDEX ix_raw_events_repo_time ON raw_events (repo_external_id, occurred_at);

CREATE TABLE event_facts (
    id               INTEGER NOT NULL PRIMARY KEY,
    raw_event_id     INTEGER NOT NULL REFERENCES raw_events (id) ON DELETE CASCADE,
    repo_external_id TEXT,
    event_type       TEXT    NOT NULL,
    occurred_at      TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    CONSTRAINT uq_event_fact_raw_event UNIQUE (raw_event_id)
);
CREATE INDEX ix_event_facts_event_type ON event_facts (event_type);
CREATE INDEX ix_event_facts_repo_time ON event_facts (repo_external_id, occurred_at);

-- estate_id and catalogue_repository_id point into the catalogue tables
-- without foreign keys, because the catalogue may live in another database.
CREATE TABLE repositories (
    id                       TEXT    NOT NULL PRIMARY KEY,
    estate_id                TEXT,
    github_owner             TEXT    NOT NULL,
    github_name              TEXT    NOT NULL,
    default_branch           TEXT    NOT NULL,
    is_active                BOOLEAN NOT NULL DEFAULT 1,
    created_at               TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at               TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    catalogue_repository_id  TEXT,
    catalogue_default_branch TEXT,
    ingestion_enabled        BOOLEAN NOT NULL DEFAULT 0,
    ingestion_override       BOOLEAN,
    documentation_paths      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(documentation_paths)),
    last_synced_at           TEXT
);
CREATE UNIQUE INDEX uq_repositories_owner_name
    ON repositories (lower(github_owner), lower(github_name));
CREATE INDEX ix_repositories_catalogue_id ON repositories (catalogue_repository_id);
CREATE INDEX ix_repositories_estate_id ON repositories (estate_id);

-- Every estate whose catalogue lists the repository; repositories.estate_id
-- keeps the first one for compatibility.
CREATE TABLE repository_estates (
    repository_id TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    estate_id     TEXT NOT NULL,
    PRIMARY KEY (repository_id, estate_id)
);
CREATE INDEX ix_repository_estates_estate_id ON repository_estates (estate_id);

CREATE TABLE commits (
    repo_id       TEXT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    sha           TEXT NOT NULL,
    author_email  TEXT,
    author_name   TEXT,
    authored_at   TEXT,
    committed_at  TEXT,
    message       TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    first_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    PRIMARY KEY (repo_id, sha)
);
CREATE INDEX ix_commits_repo_time ON commits (repo_id, committed_at);
CREATE INDEX ix_commits_sha ON commits (sha);

CREATE TABLE pull_requests (
    id           INTEGER PRIMARY KEY,
    repo_id      TEXT    NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    author_login TEXT,
    state        TEXT    NOT NULL,
    merged_at    TEXT,
    closed_at    TEXT,
    created_at   TEXT    NOT NULL,
    labels       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
    is_draft     BOOLEAN NOT NULL DEFAULT 0,
    base_branch  TEXT    NOT NULL,
    head_branch  TEXT    NOT NULL,
    metadata     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    observed_at  TEXT    NOT NULL,
    CONSTRAINT uq_pull_requests_repo_number UNIQUE (repo_id, number)
);
CREATE INDEX ix_pull_requests_repo_state ON pull_requests (repo_id, state);

CREATE TABLE issues (
    id           INTEGER PRIMARY KEY,
    repo_id      TEXT    NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    author_login TEXT,
    state        TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    closed_at    TEXT,
    labels       TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
    metadata     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    observed_at  TEXT    NOT NULL,
    CONSTRAINT uq_issues_repo_number UNIQUE (repo_id, number)
);
CREATE INDEX ix_issues_repo_state ON issues (repo_id, state);

CREATE TABLE documentation_changes (
    id          INTEGER NOT NULL PRIMARY KEY,
    repo_id     TEXT    NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    commit_sha  TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    change_type TEXT    NOT NULL,
    is_roadmap  BOOLEAN NOT NULL DEFAULT 0,
    is_adr      BOOLEAN NOT NULL DEFAULT 0,
    metadata    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    occurred_at TEXT    NOT NULL,
    observed_at TEXT    NOT NULL,
    CONSTRAINT uq_documentation_changes_commit_path UNIQUE (repo_id, commit_sha, path),
    CONSTRAINT fk_documentation_changes_commit FOREIGN KEY (repo_id, commit_sha)
        REFERENCES commits (repo_id, sha) ON DELETE CASCADE
);
CREATE INDEX ix_documentation_changes_repo_time ON documentation_changes (repo_id, occurred_at);

-- +goose Down
DROP TABLE documentation_changes;
DROP TABLE issues;
DROP TABLE pull_requests;
DROP TABLE commits;
DROP TABLE repository_estates;
DROP TABLE repositories;
DROP TABLE event_facts;
DROP TABLE raw_events;

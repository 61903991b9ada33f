-- Gold: reports, the event facts each covered, review markers and the
-- project dimension, named as in the Python Ghillie schema. Differences,
-- each for a reason:
--   * deleting a repository or project deletes its reports, where the
--     Python schema's SET NULL broke the scope checks and so the delete;
--   * a scope, subject and window are reported once (a unique index), so
--     two runs for one window agree on one report;
--   * report_projects keys are unique per estate, as they are looked up;
--   * an estate report names its estate, and reports record the model's
--     provider beside its name;
--   * review markers exist for every scope and keep an operator's
--     resolution (resolved_at, resolution_note) across later failures.

-- +goose Up
CREATE TABLE report_projects (
    id          TEXT NOT NULL PRIMARY KEY,
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    estate_id   TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE UNIQUE INDEX uq_report_projects_estate_key
    ON report_projects (coalesce(estate_id, ''), key);

CREATE TABLE reports (
    id                TEXT    NOT NULL PRIMARY KEY,
    scope             TEXT    NOT NULL CHECK (scope IN ('repository', 'project', 'estate')),
    repository_id     TEXT    REFERENCES repositories (id) ON DELETE CASCADE,
    project_id        TEXT    REFERENCES report_projects (id) ON DELETE CASCADE,
    estate_id         TEXT,
    window_start      TEXT    NOT NULL,
    window_end        TEXT    NOT NULL,
    generated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    model             TEXT,
    model_provider    TEXT,
    human_text        TEXT,
    machine_summary   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(machine_summary)),
    model_latency_ms  INTEGER,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    total_tokens      INTEGER,
    CONSTRAINT ck_reports_repository_scope_has_repo
        CHECK (scope <> 'repository' OR repository_id IS NOT NULL),
    CONSTRAINT ck_reports_project_scope_has_project
        CHECK (scope <> 'project' OR project_id IS NOT NULL),
    CONSTRAINT ck_reports_estate_scope_has_estate
        CHECK (scope <> 'estate' OR estate_id IS NOT NULL),
    CONSTRAINT ck_reports_window_bounds CHECK (window_end > window_start)
);
CREATE UNIQUE INDEX uq_reports_subject_window ON reports (scope,
    coalesce(repository_id, ''), coalesce(project_id, ''), coalesce(estate_id, ''),
    window_start, window_end);
CREATE INDEX ix_reports_scope_generated_at ON reports (scope, generated_at);
CREATE INDEX ix_reports_repo_id ON reports (repository_id, window_end);
CREATE INDEX ix_reports_project_id ON reports (project_id, window_end);
CREATE INDEX ix_reports_estate_id ON reports (estate_id, window_end);

CREATE TABLE report_coverage (
    id            INTEGER NOT NULL PRIMARY KEY,
    report_id     TEXT    NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    event_fact_id INTEGER NOT NULL REFERENCES event_facts (id) ON DELETE CASCADE,
    CONSTRAINT uq_report_coverage_report_event UNIQUE (report_id, event_fact_id)
);
CREATE INDEX ix_report_coverage_event_fact ON report_coverage (event_fact_id);

CREATE TABLE report_reviews (
    id                TEXT    NOT NULL PRIMARY KEY,
    scope             TEXT    NOT NULL CHECK (scope IN ('repository', 'project', 'estate')),
    repository_id     TEXT    REFERENCES repositories (id) ON DELETE CASCADE,
    project_id        TEXT    REFERENCES report_projects (id) ON DELETE CASCADE,
    estate_id         TEXT,
    window_start      TEXT    NOT NULL,
    window_end        TEXT    NOT NULL,
    model             TEXT,
    attempt_count     INTEGER NOT NULL,
    validation_issues TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(validation_issues)),
    state             TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'resolved')),
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    resolved_at       TEXT,
    resolution_note   TEXT
);
CREATE UNIQUE INDEX uq_report_reviews_subject_window ON report_reviews (scope,
    coalesce(repository_id, ''), coalesce(project_id, ''), coalesce(estate_id, ''),
    window_start, window_end);
CREATE INDEX ix_report_reviews_repo_id ON report_reviews (repository_id);
CREATE INDEX ix_report_reviews_state ON report_reviews (state);

-- +goose Down
DROP TABLE report_reviews;
DROP TABLE report_coverage;
DROP TABLE reports;
DROP TABLE report_projects;

-- Ingestion and report runs that callers start and then follow: a run
-- is planned as units (one per repository, plus the roll-up of an
-- estate's reports), and its state follows from the units finished.

-- +goose Up
CREATE TABLE runs (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    units_total INTEGER,
    error       TEXT,
    created_at  TEXT    NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX ix_runs_kind_created ON runs (kind, created_at);

CREATE TABLE run_units (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    unit        TEXT NOT NULL,
    state       TEXT NOT NULL,
    detail      TEXT,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (run_id, unit)
);

-- +goose Down
DROP TABLE run_units;
DROP TABLE runs;

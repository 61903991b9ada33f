-- Catalogue tables: the estate model imported from catalogue YAML files.
-- Table, column and constraint names match the Python Ghillie schema so
-- that data and queries carry over. Timestamps are fixed-width UTC text
-- ('2006-01-02T15:04:05.000000Z'), so text order is time order; the
-- defaults append "000Z" because strftime's %f has milliseconds only.

-- +goose Up
CREATE TABLE estates (
    id          TEXT NOT NULL PRIMARY KEY,
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE UNIQUE INDEX ix_estates_key ON estates (key);

CREATE TABLE projects (
    id                  TEXT NOT NULL PRIMARY KEY,
    estate_id           TEXT NOT NULL REFERENCES estates (id) ON DELETE CASCADE,
    key                 TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT,
    programme           TEXT,
    noise               TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(noise)),
    status_preferences  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(status_preferences)),
    documentation_paths TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(documentation_paths)),
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT uq_project_key UNIQUE (estate_id, key)
);
CREATE INDEX ix_projects_key ON projects (key);

-- Repositories are shared by every estate that catalogues the same slug.
-- GitHub compares owner and name without regard to case, and so does the
-- unique index.
CREATE TABLE catalogue_repositories (
    id                  TEXT    NOT NULL PRIMARY KEY,
    owner               TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    default_branch      TEXT    NOT NULL,
    is_active           BOOLEAN NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    documentation_paths TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(documentation_paths)),
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE UNIQUE INDEX uq_catalogue_repository_slug
    ON catalogue_repositories (lower(owner), lower(name));

CREATE TABLE components (
    id            TEXT NOT NULL PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    repository_id TEXT REFERENCES catalogue_repositories (id) ON DELETE SET NULL,
    key           TEXT NOT NULL,
    name          TEXT NOT NULL,
    type          TEXT NOT NULL,
    lifecycle     TEXT NOT NULL,
    description   TEXT,
    notes         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(notes)),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT uq_component_key_per_project UNIQUE (project_id, key)
);
CREATE INDEX ix_components_key ON components (key);
CREATE INDEX ix_components_repository_id ON components (repository_id);

CREATE TABLE component_edges (
    id                INTEGER NOT NULL PRIMARY KEY,
    from_component_id TEXT    NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    to_component_id   TEXT    NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    relationship      TEXT    NOT NULL
        CHECK (relationship IN ('depends_on', 'blocked_by', 'emits_events_to')),
    kind              TEXT    NOT NULL,
    rationale         TEXT,
    CONSTRAINT uq_component_edge UNIQUE (from_component_id, to_component_id, relationship)
);
CREATE INDEX ix_component_edges_from_component_id ON component_edges (from_component_id);
CREATE INDEX ix_component_edges_to_component_id ON component_edges (to_component_id);

CREATE TABLE catalogue_imports (
    id          INTEGER NOT NULL PRIMARY KEY,
    estate_id   TEXT    NOT NULL REFERENCES estates (id) ON DELETE CASCADE,
    commit_sha  TEXT,
    imported_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT uq_catalogue_import_commit UNIQUE (estate_id, commit_sha)
);

-- +goose Down
DROP TABLE catalogue_imports;
DROP TABLE component_edges;
DROP TABLE components;
DROP TABLE catalogue_repositories;
DROP TABLE projects;
DROP TABLE estates;

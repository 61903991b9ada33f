-- The time of the observation that set repositories.default_branch: the
-- occurred_at of the newest commit event that reported it, or the time a
-- registry sync took it from a changed catalogue. An older observation
-- processed later no longer overwrites a newer branch.

-- +goose Up
ALTER TABLE repositories ADD COLUMN default_branch_observed_at TEXT;

-- +goose Down
ALTER TABLE repositories DROP COLUMN default_branch_observed_at;

-- The last sign of life of the process that carries out a run in its own
-- process, such as 'ghillie ingest run' without a server. Such a process
-- updates it while the run goes on, so that a run whose process was
-- killed reads as failed once it stops, instead of running for good.
-- Runs of the background workers leave it null: River rescues their jobs.

-- +goose Up
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;

-- +goose Down
ALTER TABLE runs DROP COLUMN heartbeat_at;

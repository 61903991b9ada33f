-- More ingestion state: the branch head a complete commit crawl reached,
-- so that the next run lists the commits since by ancestry (GitHub's
-- compare) instead of by commit date, which misses commits with old
-- dates; the branch the stored cursors and head belong to; and the lower
-- bound of an unfinished backlog, so that resuming it keeps the bound it
-- started with even when the lookback changes.

-- +goose Up
ALTER TABLE github_ingestion_offsets ADD COLUMN last_commit_head TEXT;
ALTER TABLE github_ingestion_offsets ADD COLUMN branch TEXT;
ALTER TABLE github_ingestion_offsets ADD COLUMN last_commit_since timestamptz;
ALTER TABLE github_ingestion_offsets ADD COLUMN last_pr_since timestamptz;
ALTER TABLE github_ingestion_offsets ADD COLUMN last_issue_since timestamptz;

-- +goose Down
ALTER TABLE github_ingestion_offsets DROP COLUMN last_issue_since;
ALTER TABLE github_ingestion_offsets DROP COLUMN last_pr_since;
ALTER TABLE github_ingestion_offsets DROP COLUMN last_commit_since;
ALTER TABLE github_ingestion_offsets DROP COLUMN branch;
ALTER TABLE github_ingestion_offsets DROP COLUMN last_commit_head;

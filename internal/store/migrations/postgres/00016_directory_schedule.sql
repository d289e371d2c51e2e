-- +goose Up
-- When a directory's schedule syncs it next (NULL: no schedule, or auto-sync off). The schedule
-- itself is part of the directory's config; this column is what the scheduler reads and what
-- it advances, in one statement per occurrence, so that of several replicas one starts it.
ALTER TABLE directories ADD COLUMN next_sync_at TIMESTAMPTZ;
CREATE INDEX directories_next_sync_idx ON directories (next_sync_at) WHERE next_sync_at IS NOT NULL;

-- +goose Down
DROP INDEX directories_next_sync_idx;
ALTER TABLE directories DROP COLUMN next_sync_at;

-- +goose Up
-- A group a directory sync keeps: the directory it comes from and, as its external id, the
-- directory group's primary attribute (objectGUID, entryUUID). Its name and members are the
-- directory's; its description and roles stay an administrator's.
ALTER TABLE groups ADD COLUMN directory_id TEXT REFERENCES directories (id);
CREATE UNIQUE INDEX groups_directory_key ON groups (directory_id, external_id) WHERE directory_id IS NOT NULL;
-- Two directories may hold groups of the same external id: the old key holds only for the rest.
DROP INDEX groups_external_key;
CREATE UNIQUE INDEX groups_external_key ON groups (source, external_id) WHERE external_id IS NOT NULL AND external_id <> '' AND directory_id IS NULL;

-- What a sync did to the directory's groups.
ALTER TABLE directory_runs ADD COLUMN groups_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_runs ADD COLUMN groups_updated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_runs ADD COLUMN groups_deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_runs ADD COLUMN members_added INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_runs ADD COLUMN members_removed INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE directory_runs DROP COLUMN members_removed;
ALTER TABLE directory_runs DROP COLUMN members_added;
ALTER TABLE directory_runs DROP COLUMN groups_deleted;
ALTER TABLE directory_runs DROP COLUMN groups_updated;
ALTER TABLE directory_runs DROP COLUMN groups_created;
DROP INDEX groups_external_key;
CREATE UNIQUE INDEX groups_external_key ON groups (source, external_id) WHERE external_id IS NOT NULL AND external_id <> '';
DROP INDEX groups_directory_key;
ALTER TABLE groups DROP COLUMN directory_id;

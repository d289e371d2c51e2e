-- +goose Up
-- A directory usher synchronises users from: an LDAP server or an Active Directory domain. The
-- connection is columns; what to read and how (scope, attribute mapping, rules, groups,
-- schedule) is one JSON document, read and written whole by the directory package. The bind
-- password is sealed with the secret key (secret.Box) and never leaves the server.
CREATE TABLE directories (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,     -- the name case-folded: unique
    kind          TEXT NOT NULL,     -- active_directory or ldap
    host          TEXT NOT NULL,
    port          INTEGER NOT NULL,
    security      TEXT NOT NULL,     -- ldaps, starttls or none
    ca_cert       TEXT NOT NULL DEFAULT '', -- PEM: the CA trusted in place of the system's roots
    base_dn       TEXT NOT NULL,
    bind_dn       TEXT NOT NULL,
    bind_password TEXT NOT NULL,     -- sealed
    config        TEXT NOT NULL,     -- JSON: scope, mapping, rules, groups, policy, schedule
    sync_state    TEXT NOT NULL DEFAULT '{}', -- JSON: where the last sync left off (high-water mark, last full sync)
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX directories_name_key ON directories (name_key);

-- The directory a user comes from: a user belongs to at most one, and its primary attribute
-- (external_id) names them there.
ALTER TABLE users ADD COLUMN directory_id TEXT REFERENCES directories (id);
CREATE UNIQUE INDEX users_directory_key ON users (directory_id, external_id) WHERE directory_id IS NOT NULL;
-- Whether the directory disabled the user (a sync enables only those): one an administrator
-- disabled stays disabled whatever the directory says.
ALTER TABLE users ADD COLUMN disabled_by_directory BOOLEAN NOT NULL DEFAULT FALSE;

-- A sync of a directory: queued, running, held (it would disable or delete more users than the
-- directory's threshold allows, or the directory returned none: an administrator confirms it),
-- completed or failed. At most one of a directory is queued or running, on every replica. The
-- counts are what it did so far; plan is a held sync's plan (JSON), errors the entries refused.
CREATE TABLE directory_runs (
    id           TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    full_sync    BOOLEAN NOT NULL,
    confirmed    BOOLEAN NOT NULL DEFAULT FALSE,
    actor_id     TEXT,              -- a user id, not a reference: the history outlives the user
    actor_name   TEXT NOT NULL,
    actor_perms  TEXT NOT NULL,     -- JSON: the permissions the sync acts with at most
    client_ip    TEXT NOT NULL DEFAULT '',
    seen         BIGINT NOT NULL DEFAULT 0,
    created      BIGINT NOT NULL DEFAULT 0,
    updated      BIGINT NOT NULL DEFAULT 0,
    disabled     BIGINT NOT NULL DEFAULT 0,
    enabled      BIGINT NOT NULL DEFAULT 0,
    deleted      BIGINT NOT NULL DEFAULT 0,
    failed       BIGINT NOT NULL DEFAULT 0,
    plan         TEXT NOT NULL DEFAULT '',
    errors       TEXT NOT NULL DEFAULT '[]',
    reason       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,              -- the last sign of life of the job running it
    confirmed_plan TEXT NOT NULL DEFAULT '', -- JSON: for a confirmed sync, the held plan's counts it may apply
    confirmed_version BIGINT NOT NULL DEFAULT 0 -- and the directory's version then
);
CREATE UNIQUE INDEX directory_runs_active_key ON directory_runs (directory_id) WHERE status IN ('queued', 'running');
CREATE INDEX directory_runs_created_idx ON directory_runs (directory_id, created_at);

-- +goose Down
ALTER TABLE users DROP COLUMN disabled_by_directory;
DROP INDEX users_directory_key;
ALTER TABLE users DROP COLUMN directory_id;
DROP TABLE directory_runs;
DROP TABLE directories;

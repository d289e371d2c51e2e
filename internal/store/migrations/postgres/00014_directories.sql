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
    ca_cert       TEXT NOT NULL DEFAULT '', -- PEM: trusted besides the system's roots
    base_dn       TEXT NOT NULL,
    bind_dn       TEXT NOT NULL,
    bind_password TEXT NOT NULL,     -- sealed
    config        TEXT NOT NULL,     -- JSON: scope, mapping, rules, groups, policy, schedule
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX directories_name_key ON directories (name_key);

-- The directory a user comes from: a user belongs to at most one, and its primary attribute
-- (external_id) names them there.
ALTER TABLE users ADD COLUMN directory_id TEXT REFERENCES directories (id);
CREATE UNIQUE INDEX users_directory_key ON users (directory_id, external_id) WHERE directory_id IS NOT NULL;

-- +goose Down
DROP INDEX users_directory_key;
ALTER TABLE users DROP COLUMN directory_id;
DROP TABLE directories;

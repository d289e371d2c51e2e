-- +goose Up
CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    username       TEXT NOT NULL,
    username_lower TEXT COLLATE "C" NOT NULL,
    email          TEXT NOT NULL,
    email_lower    TEXT COLLATE "C" NOT NULL,
    first_name     TEXT NOT NULL DEFAULT '',
    last_name      TEXT NOT NULL DEFAULT '',
    name_lower     TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_lower     TEXT COLLATE "C" NOT NULL DEFAULT '',
    phone          TEXT COLLATE "C" NOT NULL DEFAULT '',
    department     TEXT NOT NULL DEFAULT '',
    manager_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    manager_name   TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    source         TEXT NOT NULL,
    external_id    TEXT,
    default_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT NOT NULL DEFAULT '',
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    last_login_at  TIMESTAMPTZ,
    activated_at   TIMESTAMPTZ,
    version        INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username_lower_key ON users (username_lower);
CREATE UNIQUE INDEX users_email_lower_key ON users (email_lower);
CREATE UNIQUE INDEX users_default_admin_key ON users (default_admin) WHERE default_admin;
CREATE UNIQUE INDEX users_external_key ON users (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_name_idx ON users (name_lower, id);
CREATE INDEX users_last_idx ON users (last_lower);
CREATE INDEX users_phone_idx ON users (phone);
CREATE INDEX users_created_idx ON users (created_at, id);
CREATE INDEX users_updated_idx ON users (updated_at, id);
CREATE INDEX users_status_name_idx ON users (status, name_lower, id);
CREATE INDEX users_source_idx ON users (source);
CREATE INDEX users_manager_idx ON users (manager_id) WHERE manager_id IS NOT NULL;

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    permissions TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX roles_name_lower_key ON roles (name_lower);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id, user_id);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    external_id TEXT,
    source      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX groups_name_lower_key ON groups (name_lower);
CREATE UNIQUE INDEX groups_external_key ON groups (source, external_id) WHERE external_id IS NOT NULL AND external_id <> '';

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id, group_id);

CREATE TABLE group_roles (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    role_id  TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);
CREATE INDEX group_roles_role_idx ON group_roles (role_id, group_id);

CREATE TABLE fields (
    name       TEXT PRIMARY KEY,
    label      TEXT NOT NULL,
    type       TEXT NOT NULL,
    required   BOOLEAN NOT NULL DEFAULT FALSE,
    pattern    TEXT NOT NULL DEFAULT '',
    options    TEXT NOT NULL DEFAULT '[]',
    version    INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_field_values (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field   TEXT NOT NULL REFERENCES fields (name) ON DELETE CASCADE,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, field)
);
CREATE INDEX user_field_values_value_idx ON user_field_values (field, value, user_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    client_ip    TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    scopes       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (hash);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    time        TIMESTAMPTZ NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    target_name TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    request_id  TEXT NOT NULL DEFAULT '',
    client_ip   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_time_idx ON audit_events (time);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
-- TRUNCATE fires no row triggers.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE user_field_values;
DROP TABLE fields;
DROP TABLE group_roles;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE user_roles;
DROP TABLE roles;
DROP TABLE users;

-- +goose Up
-- When failed sign-ins locked the account; NULL for an administrator's lock, which the
-- auto-unlock delay never ends.
ALTER TABLE users ADD COLUMN locked_at DATETIME;

-- One-time tokens: password resets now, invitations later. Only the SHA-256 of the secret is
-- stored; a token is used by one conditional UPDATE that also checks purpose and expiry.
CREATE TABLE one_time_tokens (
    hash       TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);

-- +goose Down
DROP TABLE one_time_tokens;
ALTER TABLE users DROP COLUMN locked_at;

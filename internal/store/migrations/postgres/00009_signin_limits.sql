-- +goose Up
-- Failed sign-ins for logins that name no account, counted like an account's own counter so
-- that a made-up login answers exactly as a real one would, up to "locked". Rows expire and
-- their number is capped (store/login_failures.go), so made-up logins cannot fill the database.
CREATE TABLE login_failures (
    login     TEXT PRIMARY KEY,
    failures  INTEGER NOT NULL,
    last_at   TIMESTAMPTZ NOT NULL,
    locked_at TIMESTAMPTZ
);
CREATE INDEX login_failures_last_idx ON login_failures (last_at);

-- When a reset email was last sent on an anonymous request: at most one per interval.
ALTER TABLE users ADD COLUMN reset_requested_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE users DROP COLUMN reset_requested_at;
DROP TABLE login_failures;

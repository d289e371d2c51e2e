-- +goose Up
-- Failed sign-ins per login as typed (lower case), whether or not it names an account, so that
-- every login answers alike up to "locked". Rows expire and their number is capped
-- (store/login_failures.go), so made-up logins cannot fill the database.
CREATE TABLE login_failures (
    login     TEXT PRIMARY KEY,
    failures  INTEGER NOT NULL,
    last_at   DATETIME NOT NULL,
    locked_at DATETIME
);
CREATE INDEX login_failures_last_idx ON login_failures (last_at);

-- When a reset email was last sent on an anonymous request: at most one per interval.
ALTER TABLE users ADD COLUMN reset_requested_at DATETIME;
-- When the account's failed sign-in counter last moved: a counter left at the threshold by an
-- attempt that never finished is given back after a while.
ALTER TABLE users ADD COLUMN login_attempt_at DATETIME;

-- +goose Down
ALTER TABLE users DROP COLUMN login_attempt_at;
ALTER TABLE users DROP COLUMN reset_requested_at;
DROP TABLE login_failures;

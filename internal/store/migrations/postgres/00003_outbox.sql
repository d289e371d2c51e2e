-- +goose Up
-- The outbox: every email usher sends, written in the transaction of the change that causes it
-- and sent by a River job (mail.send) with retries. body holds the text and HTML parts sealed
-- with the secret key, since they may carry single-use links; it is emptied once sent.
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ
);
CREATE INDEX outbox_status_idx ON outbox (status, id);
CREATE INDEX outbox_user_idx ON outbox (user_id, id) WHERE user_id IS NOT NULL;

-- +goose Down
DROP TABLE outbox;

-- +goose Up
-- One row per invited user who has not accepted yet: who vouches for the invitation (its
-- inviter, or whoever last sent or copied a link), checked again when it is accepted, and when
-- the last invitation email went out, so that resending floods no mailbox. The link's token
-- is a one-time token of purpose "invitation" (00002); accepting deletes this row.
CREATE TABLE invitations (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    inviter_id   TEXT,              -- a user id, not a reference: a deleted inviter must not look like usher itself
    inviter_name TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    sent_at      DATETIME           -- the last invitation email; NULL when only links were copied
);

-- +goose Down
DROP TABLE invitations;

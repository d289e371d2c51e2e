-- +goose Up
-- The look-alike key of each user's username and email (user.Skeleton, UTS #39 confusables):
-- unique, so that no two users hold identities that look alike, whichever path writes them.
-- SQL cannot compute it: the store fills it in right after migrating (store/identity.go), and
-- a user whose skeleton an older user already holds keeps NULL here, so that look-alikes made
-- before this rule stay as they are.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
ALTER TABLE users ADD COLUMN email_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton_key ON users (username_skeleton);
CREATE UNIQUE INDEX users_email_skeleton_key ON users (email_skeleton);
-- SQLite checks the newest unique index first: the exact username and email indexes are made
-- again after these, so that a name that is taken is reported as taken, not as a look-alike
-- of itself. (PostgreSQL checks its indexes oldest first.)
DROP INDEX users_username_lower_key;
CREATE UNIQUE INDEX users_username_lower_key ON users (username_lower);
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (email_lower);

-- +goose Down
DROP INDEX users_email_skeleton_key;
DROP INDEX users_username_skeleton_key;
ALTER TABLE users DROP COLUMN email_skeleton;
ALTER TABLE users DROP COLUMN username_skeleton;

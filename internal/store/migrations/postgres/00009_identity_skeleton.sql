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

-- +goose Down
DROP INDEX users_email_skeleton_key;
DROP INDEX users_username_skeleton_key;
ALTER TABLE users DROP COLUMN email_skeleton;
ALTER TABLE users DROP COLUMN username_skeleton;

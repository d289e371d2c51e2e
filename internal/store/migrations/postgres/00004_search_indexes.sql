-- +goose Up
-- A status filter with any sort is one index range read, and each branch of a search (the
-- ranges of name, last name, email, username and phone) is read in (key, id) order.
CREATE INDEX users_status_created_idx ON users (status, created_at, id);
CREATE INDEX users_status_updated_idx ON users (status, updated_at, id);
CREATE INDEX users_status_email_idx ON users (status, email_lower, id);
CREATE INDEX users_status_username_idx ON users (status, username_lower, id);
DROP INDEX users_last_idx;
CREATE INDEX users_last_idx ON users (last_lower, id);
DROP INDEX users_phone_idx;
CREATE INDEX users_phone_idx ON users (phone, id);

-- +goose Down
DROP INDEX users_phone_idx;
CREATE INDEX users_phone_idx ON users (phone);
DROP INDEX users_last_idx;
CREATE INDEX users_last_idx ON users (last_lower);
DROP INDEX users_status_username_idx;
DROP INDEX users_status_email_idx;
DROP INDEX users_status_updated_idx;
DROP INDEX users_status_created_idx;

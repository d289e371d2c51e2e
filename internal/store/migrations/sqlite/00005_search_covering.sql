-- +goose Up
-- PostgreSQL adds id to the unique email and username indexes here, so that a search reads its
-- (key, id) pairs from them alone. SQLite's indexes already lead to the row; the schema versions
-- of the two databases stay in step.
SELECT 1;

-- +goose Down
SELECT 1;

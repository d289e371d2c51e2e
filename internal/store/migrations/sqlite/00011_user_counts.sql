-- +goose Up
-- The users page shows how many users there are in each status. Counting a million rows on
-- every load is too slow, so triggers keep the counts in one row as users are inserted,
-- deleted and change status, in the same transaction (SQLite has one writer, so that row
-- makes no one wait). PostgreSQL appends rows of differences instead; the reader sums either.
CREATE TABLE user_counts (
    total    INTEGER NOT NULL,
    active   INTEGER NOT NULL,
    invited  INTEGER NOT NULL,
    locked   INTEGER NOT NULL,
    disabled INTEGER NOT NULL
);
INSERT INTO user_counts (total, active, invited, locked, disabled)
SELECT count(*), count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'invited'),
       count(*) FILTER (WHERE status = 'locked'), count(*) FILTER (WHERE status = 'disabled')
FROM users;
-- +goose StatementBegin
CREATE TRIGGER users_counts_insert AFTER INSERT ON users
BEGIN
    UPDATE user_counts SET total = total + 1,
        active = active + (NEW.status = 'active'), invited = invited + (NEW.status = 'invited'),
        locked = locked + (NEW.status = 'locked'), disabled = disabled + (NEW.status = 'disabled');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_counts_delete AFTER DELETE ON users
BEGIN
    UPDATE user_counts SET total = total - 1,
        active = active - (OLD.status = 'active'), invited = invited - (OLD.status = 'invited'),
        locked = locked - (OLD.status = 'locked'), disabled = disabled - (OLD.status = 'disabled');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_counts_status AFTER UPDATE OF status ON users WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE user_counts SET
        active = active + (NEW.status = 'active') - (OLD.status = 'active'),
        invited = invited + (NEW.status = 'invited') - (OLD.status = 'invited'),
        locked = locked + (NEW.status = 'locked') - (OLD.status = 'locked'),
        disabled = disabled + (NEW.status = 'disabled') - (OLD.status = 'disabled');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_counts_insert;
DROP TRIGGER users_counts_delete;
DROP TRIGGER users_counts_status;
DROP TABLE user_counts;

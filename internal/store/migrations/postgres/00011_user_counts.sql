-- +goose Up
-- The users page shows how many users there are in each status. Counting a million rows on
-- every load is too slow, so triggers keep the counts as users are inserted, deleted and change
-- status, in the same transaction. Concurrent writers must not queue behind one counter row, so
-- each change appends a row of differences (one per statement for inserts and deletes, one per
-- user whose status changes) and a reader sums them; store.CountUsers folds the rows into one
-- when they grow many. Appending takes no lock that another writer waits for.
-- No user is written between the first count and the triggers (goose runs this in one transaction).
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE user_counts (
    total    BIGINT NOT NULL,
    active   BIGINT NOT NULL,
    invited  BIGINT NOT NULL,
    locked   BIGINT NOT NULL,
    disabled BIGINT NOT NULL
);
INSERT INTO user_counts (total, active, invited, locked, disabled)
SELECT count(*), count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'invited'),
       count(*) FILTER (WHERE status = 'locked'), count(*) FILTER (WHERE status = 'disabled')
FROM users;
-- +goose StatementBegin
CREATE FUNCTION user_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (total, active, invited, locked, disabled)
    SELECT count(*), count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'invited'),
           count(*) FILTER (WHERE status = 'locked'), count(*) FILTER (WHERE status = 'disabled')
    FROM inserted HAVING count(*) > 0;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION user_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (total, active, invited, locked, disabled)
    SELECT -count(*), -count(*) FILTER (WHERE status = 'active'), -count(*) FILTER (WHERE status = 'invited'),
           -count(*) FILTER (WHERE status = 'locked'), -count(*) FILTER (WHERE status = 'disabled')
    FROM deleted HAVING count(*) > 0;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION user_counts_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (total, active, invited, locked, disabled) VALUES (0,
        (NEW.status = 'active')::int - (OLD.status = 'active')::int,
        (NEW.status = 'invited')::int - (OLD.status = 'invited')::int,
        (NEW.status = 'locked')::int - (OLD.status = 'locked')::int,
        (NEW.status = 'disabled')::int - (OLD.status = 'disabled')::int);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER users_counts_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION user_counts_inserted();
CREATE TRIGGER users_counts_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION user_counts_deleted();
-- +goose StatementBegin
CREATE FUNCTION user_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_counts;
    INSERT INTO user_counts (total, active, invited, locked, disabled) VALUES (0, 0, 0, 0, 0);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER users_counts_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_truncated();
-- Only a real change of status fires: a sign-in's update of the same row costs nothing here.
CREATE TRIGGER users_counts_status AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION user_counts_status_changed();

-- +goose Down
DROP TRIGGER users_counts_insert ON users;
DROP TRIGGER users_counts_delete ON users;
DROP TRIGGER users_counts_status ON users;
DROP TRIGGER users_counts_truncate ON users;
DROP FUNCTION user_counts_inserted;
DROP FUNCTION user_counts_deleted;
DROP FUNCTION user_counts_status_changed;
DROP FUNCTION user_counts_truncated;
DROP TABLE user_counts;

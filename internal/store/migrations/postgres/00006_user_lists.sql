-- +goose Up
-- Each user's direct role ids, group ids and custom values, repeated in the user's row from
-- user_roles, group_members and user_field_values (which stay the truth, for filters and
-- foreign keys), so that a page of users is read without three more lookups a user.
-- The store rewrites them in the transaction of every change to those tables. (users.id has the
-- C collation and the user_id columns the default one: compared in the default collation, the
-- lookups use the user_id indexes.)
ALTER TABLE users ADD COLUMN role_ids TEXT NOT NULL DEFAULT '',
    ADD COLUMN group_ids TEXT NOT NULL DEFAULT '',
    ADD COLUMN custom_values TEXT NOT NULL DEFAULT '{}';
UPDATE users SET
    role_ids = COALESCE((SELECT string_agg(role_id, ' ' ORDER BY role_id) FROM user_roles
        WHERE user_id = users.id COLLATE "default"), ''),
    group_ids = COALESCE((SELECT string_agg(group_id, ' ' ORDER BY group_id) FROM group_members
        WHERE user_id = users.id COLLATE "default"), ''),
    custom_values = COALESCE((SELECT json_object_agg(field, value ORDER BY field)::text FROM user_field_values
        WHERE user_id = users.id COLLATE "default"), '{}');

-- +goose Down
ALTER TABLE users DROP COLUMN custom_values, DROP COLUMN group_ids, DROP COLUMN role_ids;

-- +goose Up
-- Each user's direct role ids, group ids and custom values, repeated in the user's row from
-- user_roles, group_members and user_field_values (which stay the truth, for filters and
-- foreign keys), so that a page of users is read without three more lookups a user.
-- The store rewrites them in the transaction of every change to those tables.
ALTER TABLE users ADD COLUMN role_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN group_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN custom_values TEXT NOT NULL DEFAULT '{}';
UPDATE users SET
    role_ids = COALESCE((SELECT string_agg(role_id, ' ' ORDER BY role_id) FROM user_roles WHERE user_id = users.id), ''),
    group_ids = COALESCE((SELECT string_agg(group_id, ' ' ORDER BY group_id) FROM group_members WHERE user_id = users.id), ''),
    custom_values = (SELECT json_group_object(field, value) FROM user_field_values WHERE user_id = users.id);

-- +goose Down
ALTER TABLE users DROP COLUMN custom_values;
ALTER TABLE users DROP COLUMN group_ids;
ALTER TABLE users DROP COLUMN role_ids;

-- +goose Up
-- A counter that every change to roles, groups and the roles groups grant moves on, so that a
-- process can keep them in memory for lists and know, from one value read with a page, when its
-- copy is out of date (see store/user_lists.go).
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 1);
-- +goose StatementBegin
CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET version = version + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER roles_catalog AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER groups_catalog AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER group_roles_catalog AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_roles
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();

-- +goose Down
DROP TRIGGER roles_catalog ON roles;
DROP TRIGGER groups_catalog ON groups;
DROP TRIGGER group_roles_catalog ON group_roles;
DROP FUNCTION catalog_changed;
DROP TABLE catalog_version;

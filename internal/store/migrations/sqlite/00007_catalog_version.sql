-- +goose Up
-- A counter that every change to roles, groups and the roles groups grant moves on, so that a
-- process can keep them in memory for lists and know, from one value read with a page, when its
-- copy is out of date (see store/user_lists.go).
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 1);
-- +goose StatementBegin
CREATE TRIGGER roles_insert_catalog AFTER INSERT ON roles
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER roles_update_catalog AFTER UPDATE ON roles
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER roles_delete_catalog AFTER DELETE ON roles
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER groups_insert_catalog AFTER INSERT ON groups
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER groups_update_catalog AFTER UPDATE ON groups
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER groups_delete_catalog AFTER DELETE ON groups
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER group_roles_insert_catalog AFTER INSERT ON group_roles
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER group_roles_update_catalog AFTER UPDATE ON group_roles
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER group_roles_delete_catalog AFTER DELETE ON group_roles
BEGIN UPDATE catalog_version SET version = version + 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER roles_insert_catalog;
DROP TRIGGER roles_update_catalog;
DROP TRIGGER roles_delete_catalog;
DROP TRIGGER groups_insert_catalog;
DROP TRIGGER groups_update_catalog;
DROP TRIGGER groups_delete_catalog;
DROP TRIGGER group_roles_insert_catalog;
DROP TRIGGER group_roles_update_catalog;
DROP TRIGGER group_roles_delete_catalog;
DROP TABLE catalog_version;

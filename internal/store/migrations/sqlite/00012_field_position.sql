-- +goose Up
-- Custom fields have an order, which forms, the users list and exports follow: 1, 2, 3, …
-- The fields there are keep the order they were defined in.
ALTER TABLE fields ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE fields SET position = (SELECT count(*) FROM fields f
    WHERE f.created_at < fields.created_at OR (f.created_at = fields.created_at AND f.name <= fields.name));

-- +goose Down
ALTER TABLE fields DROP COLUMN position;

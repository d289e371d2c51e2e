-- +goose Up
-- Custom fields have an order, 1, 2, 3, …, which the fields list and user forms follow.
-- The fields there are keep the order they were defined in.
ALTER TABLE fields ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE fields SET position = (SELECT count(*) FROM fields f
    WHERE f.created_at < fields.created_at OR (f.created_at = fields.created_at AND f.name <= fields.name));

-- +goose Down
ALTER TABLE fields DROP COLUMN position;

package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/usherhq/usher/internal/user"
)

// Fields lists the custom field definitions in their order.
func (s *Store) Fields(ctx context.Context) ([]user.Field, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT name, label, type, required, pattern, options, version,
		created_at, updated_at, position FROM fields ORDER BY position, created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("store: fields: %w", err)
	}
	defer rows.Close()
	var out []user.Field
	for rows.Next() {
		var f user.Field
		var opts string
		if err := rows.Scan(&f.Name, &f.Label, &f.Type, &f.Required, &f.Pattern, &opts, &f.Version, &f.CreatedAt, &f.UpdatedAt, &f.Position); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(opts), &f.Options); err != nil {
			return nil, fmt.Errorf("store: field %s options: %w", f.Name, err)
		}
		f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

func optionsJSON(opts []string) string {
	if opts == nil {
		opts = []string{}
	}
	b, _ := json.Marshal(opts)
	return string(b)
}

// InsertField writes a new field definition, last in the order, and sets f.Position.
func (s *Store) InsertField(ctx context.Context, f *user.Field) error {
	err := s.writer(ctx).QueryRowContext(ctx, `INSERT INTO fields (name, label, type, required, pattern, options,
		version, created_at, updated_at, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
		(SELECT coalesce(max(position), 0) + 1 FROM fields)) RETURNING position`,
		f.Name, f.Label, string(f.Type), f.Required, f.Pattern, optionsJSON(f.Options), f.Version, f.CreatedAt, f.UpdatedAt).
		Scan(&f.Position)
	if err != nil {
		return fmt.Errorf("store: insert field: %w", mapError(err))
	}
	return nil
}

// fieldOrderLock is the PostgreSQL advisory lock that LockFieldOrder takes.
const fieldOrderLock int64 = 0x75736865_72460001 // "usher" F 1

// LockFieldOrder makes the changes to the fields' order of concurrent transactions wait for
// each other until they end (PostgreSQL; SQLite's one writer does that already), also when
// there is no field yet to lock. Writes of users' custom values do not wait.
func (s *Store) LockFieldOrder(ctx context.Context) error {
	if s.Dialect != Postgres {
		return nil
	}
	if _, err := s.writer(ctx).ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, fieldOrderLock); err != nil {
		return fmt.Errorf("store: lock the fields' order: %w", err)
	}
	return nil
}

// SetFieldOrder numbers the named fields 1, 2, 3, … in the order given.
func (s *Store) SetFieldOrder(ctx context.Context, names []string) error {
	for i, name := range names {
		if _, err := s.writer(ctx).ExecContext(ctx, `UPDATE fields SET position = $1 WHERE name = $2 AND position <> $1`, i+1, name); err != nil {
			return fmt.Errorf("store: order fields: %w", err)
		}
	}
	return nil
}

// UpdateField writes f if its stored version is still prevVersion.
func (s *Store) UpdateField(ctx context.Context, f *user.Field, prevVersion int64) error {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE fields SET label = $1, required = $2, pattern = $3,
		options = $4, version = $5, updated_at = $6 WHERE name = $7 AND version = $8`,
		f.Label, f.Required, f.Pattern, optionsJSON(f.Options), f.Version, f.UpdatedAt, f.Name, prevVersion)
	if err != nil {
		return fmt.Errorf("store: update field: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stale("field")
	}
	return nil
}

// DeleteField deletes a field definition and its values.
func (s *Store) DeleteField(ctx context.Context, name string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.dropFromList(ctx, customList, name); err != nil {
			return err
		}
		if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM fields WHERE name = $1`, name); err != nil {
			return fmt.Errorf("store: delete field: %w", err)
		}
		return nil
	})
}

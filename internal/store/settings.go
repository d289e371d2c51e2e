package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Setting reads one setting; ok is false when it was never written.
func (s *Store) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.reader(ctx).QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&value)
	if err == sql.ErrNoRows {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("store: setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting writes one setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: set setting %s: %w", key, err)
	}
	return nil
}

// DeleteSetting removes one setting.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: delete setting %s: %w", key, err)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/directory"
)

const directoryColumns = `id, name, kind, host, port, security, ca_cert, base_dn, bind_dn, bind_password, config, version, created_at, updated_at`

func scanDirectory(row interface{ Scan(...any) error }) (*directory.Directory, error) {
	var d directory.Directory
	var kind, security, config string
	if err := row.Scan(&d.ID, &d.Name, &kind, &d.Host, &d.Port, &security, &d.CACert, &d.BaseDN, &d.BindDN,
		&d.SealedPassword, &config, &d.Version, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.Kind, d.Security = directory.Kind(kind), directory.Security(security)
	if err := json.Unmarshal([]byte(config), &d.Config); err != nil {
		return nil, fmt.Errorf("store: directory %s: config: %w", d.ID, err)
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// InsertDirectory adds a directory.
func (s *Store) InsertDirectory(ctx context.Context, d *directory.Directory) error {
	config, err := json.Marshal(d.Config)
	if err != nil {
		return err
	}
	_, err = s.writer(ctx).ExecContext(ctx, `INSERT INTO directories (`+directoryColumns+`, name_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		d.ID, d.Name, string(d.Kind), d.Host, d.Port, string(d.Security), d.CACert, d.BaseDN, d.BindDN,
		d.SealedPassword, string(config), d.Version, d.CreatedAt, d.UpdatedAt, strings.ToLower(d.Name))
	if err != nil {
		return fmt.Errorf("store: insert directory: %w", mapError(err))
	}
	return nil
}

// UpdateDirectory writes a directory read in the same transaction and bumps its version.
func (s *Store) UpdateDirectory(ctx context.Context, d *directory.Directory) error {
	config, err := json.Marshal(d.Config)
	if err != nil {
		return err
	}
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE directories SET name = $1, name_key = $2, host = $3,
		port = $4, security = $5, ca_cert = $6, base_dn = $7, bind_dn = $8, bind_password = $9, config = $10,
		version = version + 1, updated_at = $11 WHERE id = $12 AND version = $13`,
		d.Name, strings.ToLower(d.Name), d.Host, d.Port, string(d.Security), d.CACert, d.BaseDN, d.BindDN,
		d.SealedPassword, string(config), d.UpdatedAt, d.ID, d.Version)
	if err != nil {
		return fmt.Errorf("store: update directory: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stale("directory")
	}
	d.Version++
	return nil
}

// DeleteDirectory forgets a directory. Its users stay, as local users: what the directory
// owned of them can be edited again.
func (s *Store) DeleteDirectory(ctx context.Context, id string) error {
	w := s.writer(ctx)
	if _, err := w.ExecContext(ctx, `UPDATE users SET source = 'local', external_id = NULL, directory_id = NULL,
		version = version + 1, updated_at = $2 WHERE directory_id = $1`, id, time.Now().UTC()); err != nil {
		return fmt.Errorf("store: release directory users: %w", mapError(err))
	}
	res, err := w.ExecContext(ctx, `DELETE FROM directories WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete directory: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("directory")
	}
	return nil
}

// Directory reads a directory.
func (s *Store) Directory(ctx context.Context, id string) (*directory.Directory, error) {
	d, err := scanDirectory(s.reader(ctx).QueryRowContext(ctx, `SELECT `+directoryColumns+` FROM directories WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("directory")
	} else if err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	return d, nil
}

// LockDirectory reads a directory in the transaction in ctx and holds it to the transaction's
// end (on SQLite the one writer does already).
func (s *Store) LockDirectory(ctx context.Context, id string) (*directory.Directory, error) {
	if _, ok := TxFrom(ctx); !ok {
		return nil, errors.New("store: LockDirectory needs a transaction from InTx")
	}
	q := `SELECT ` + directoryColumns + ` FROM directories WHERE id = $1`
	if s.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	d, err := scanDirectory(s.writer(ctx).QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("directory")
	} else if err != nil {
		return nil, fmt.Errorf("store: lock directory: %w", err)
	}
	return d, nil
}

// Directories lists every directory by name.
func (s *Store) Directories(ctx context.Context) ([]directory.Directory, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+directoryColumns+` FROM directories ORDER BY name_key, id`)
	if err != nil {
		return nil, fmt.Errorf("store: directories: %w", err)
	}
	defer rows.Close()
	var out []directory.Directory
	for rows.Next() {
		d, err := scanDirectory(rows)
		if err != nil {
			return nil, fmt.Errorf("store: directories: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/usherhq/usher/internal/user"
)

const roleColumns = `id, name, description, builtin, permissions, version, created_at, updated_at`

func scanRole(row interface{ Scan(...any) error }) (user.Role, error) {
	var r user.Role
	var perms string
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Builtin, &perms, &r.Version, &r.CreatedAt, &r.UpdatedAt)
	r.Permissions = user.ParsePermissions(perms)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

// Roles lists every role, built-in first, then by name.
func (s *Store) Roles(ctx context.Context) ([]user.Role, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+roleColumns+` FROM roles ORDER BY builtin DESC, name_lower, id`)
	if err != nil {
		return nil, fmt.Errorf("store: roles: %w", err)
	}
	defer rows.Close()
	var out []user.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Role returns one role.
func (s *Store) Role(ctx context.Context, id string) (*user.Role, error) {
	r, err := scanRole(s.reader(ctx).QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("role")
	} else if err != nil {
		return nil, fmt.Errorf("store: role: %w", err)
	}
	return &r, nil
}

// InsertRole writes a new role.
func (s *Store) InsertRole(ctx context.Context, r *user.Role) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO roles (`+roleColumns+`, name_lower)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.Name, r.Description, r.Builtin, r.Permissions.String(), r.Version, r.CreatedAt, r.UpdatedAt, strings.ToLower(r.Name))
	if err != nil {
		return fmt.Errorf("store: insert role: %w", mapError(err))
	}
	return nil
}

// UpdateRole writes r if its stored version is still prevVersion.
func (s *Store) UpdateRole(ctx context.Context, r *user.Role, prevVersion int64) error {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE roles SET name = $1, name_lower = $2, description = $3,
		permissions = $4, version = $5, updated_at = $6 WHERE id = $7 AND version = $8`,
		r.Name, strings.ToLower(r.Name), r.Description, r.Permissions.String(), r.Version, r.UpdatedAt, r.ID, prevVersion)
	if err != nil {
		return fmt.Errorf("store: update role: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stale("role")
	}
	return nil
}

// DeleteRole deletes a role and every grant of it.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.dropFromList(ctx, roleList, id); err != nil {
			return err
		}
		if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM roles WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete role: %w", err)
		}
		return nil
	})
}

// SyncBuiltinRoles creates the built-in roles or brings their permissions up to date, so that a
// permission added to the catalogue reaches the Administrator on the next start.
func (s *Store) SyncBuiltinRoles(ctx context.Context) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		for _, r := range user.BuiltinRoles() {
			_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO roles (`+roleColumns+`, name_lower)
				VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_lower = excluded.name_lower,
					description = excluded.description, builtin = excluded.builtin, permissions = excluded.permissions`,
				r.ID, r.Name, r.Description, true, r.Permissions.String(), now, strings.ToLower(r.Name))
			if err != nil {
				return fmt.Errorf("store: built-in role %s: %w", r.ID, mapError(err))
			}
		}
		return nil
	})
}

// UserRoles returns the effective roles of each user: direct ones and those inherited through
// groups, by name, each with the groups it comes through, by name.
func (s *Store) UserRoles(ctx context.Context, userIDs []string) (map[string][]user.RoleGrant, error) {
	roles, _, err := s.UserGrants(ctx, userIDs)
	return roles, err
}

// SetUserRoles replaces a user's direct roles.
func (s *Store) SetUserRoles(ctx context.Context, userID string, roleIDs []string) error {
	return s.setUserRows(ctx, roleList, userID, roleIDs)
}

// permissionsOf is SQL for the permissions of every role a user holds, directly or through a
// group, as one space-separated text (empty for none), for the user whose id is the SQL userID.
// userID must not be users.id on PostgreSQL: it has the C collation and the grant tables'
// user_id the default one, and comparing them in C cannot use their indexes.
func permissionsOf(userID string) string {
	return `COALESCE((SELECT string_agg(r.permissions, ' ') FROM roles r WHERE r.id IN (
		SELECT ur.role_id FROM user_roles ur WHERE ur.user_id = ` + userID + `
		UNION ALL SELECT gr.role_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id
		WHERE gm.user_id = ` + userID + `)), '')`
}

// EffectivePermissions is the union of the permissions of a user's direct and inherited roles.
func (s *Store) EffectivePermissions(ctx context.Context, userID string) (user.Permissions, error) {
	var perms string
	if err := s.queryRow(ctx, `SELECT `+permissionsOf("$1"), userID).Scan(&perms); err != nil {
		return nil, fmt.Errorf("store: effective permissions: %w", err)
	}
	return user.ParsePermissions(perms), nil
}

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

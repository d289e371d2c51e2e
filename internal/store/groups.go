package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/usherhq/usher/internal/user"
)

const groupColumns = `id, name, description, external_id, source, version, created_at, updated_at, directory_id`

func scanGroup(row interface{ Scan(...any) error }, extra ...any) (user.Group, error) {
	var g user.Group
	var ext, dir sql.NullString
	dest := append([]any{&g.ID, &g.Name, &g.Description, &ext, &g.Source, &g.Version, &g.CreatedAt, &g.UpdatedAt, &dir}, extra...)
	err := row.Scan(dest...)
	g.ExternalID, g.DirectoryID = ext.String, dir.String
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	return g, err
}

// ListGroups returns a page of groups by name, with their roles and member counts.
func (s *Store) ListGroups(ctx context.Context, f user.GroupFilter) ([]user.Group, string, error) {
	f.Limit = f.PageSize()
	var where []string
	var args []any
	q := strings.ToLower(strings.TrimSpace(f.Q))
	if q != "" {
		args = append(args, q, q+prefixEnd)
		where = append(where, "name_lower >= $1 AND name_lower < $2")
	}
	scope := s.scope(groupsList, q)
	if f.Cursor != "" {
		var c cursor
		if err := scope.open(f.Cursor, &c); err != nil {
			return nil, "", err
		}
		args = append(args, c.V, c.ID)
		where = append(where, fmt.Sprintf("(name_lower, id) > ($%d, $%d)", len(args)-1, len(args)))
	}
	query := `SELECT ` + groupColumns + `, name_lower, (SELECT count(*) FROM group_members m WHERE m.group_id = groups.id) FROM groups`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY name_lower, id LIMIT %d", f.Limit+1)
	rows, err := s.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list groups: %w", err)
	}
	defer rows.Close()
	var out []user.Group
	var keys []string
	for rows.Next() {
		var key string
		var count int64
		g, err := scanGroup(rows, &key, &count)
		if err != nil {
			return nil, "", err
		}
		g.MemberCount = count
		out = append(out, g)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	rows.Close()
	var next string
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = scope.seal(cursor{V: keys[f.Limit-1], ID: out[f.Limit-1].ID})
	}
	for i := range out {
		if out[i].Roles, err = s.groupRoles(ctx, out[i].ID); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// Group returns one group with its roles and member count.
func (s *Store) Group(ctx context.Context, id string) (*user.Group, error) {
	var count int64
	g, err := scanGroup(s.reader(ctx).QueryRowContext(ctx, `SELECT `+groupColumns+`,
		(SELECT count(*) FROM group_members WHERE group_id = $1) FROM groups WHERE id = $1`, id), &count)
	if err == sql.ErrNoRows {
		return nil, notFound("group")
	} else if err != nil {
		return nil, fmt.Errorf("store: group: %w", err)
	}
	g.MemberCount = count
	if g.Roles, err = s.groupRoles(ctx, id); err != nil {
		return nil, err
	}
	return &g, nil
}

func (s *Store) groupRoles(ctx context.Context, groupID string) ([]user.Role, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+prefixed("r", roleColumns)+`
		FROM group_roles gr JOIN roles r ON r.id = gr.role_id WHERE gr.group_id = $1 ORDER BY r.name_lower`, groupID)
	if err != nil {
		return nil, fmt.Errorf("store: group roles: %w", err)
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

// InsertGroup writes a new group.
func (s *Store) InsertGroup(ctx context.Context, g *user.Group) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO groups (`+groupColumns+`, name_lower)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		g.ID, g.Name, g.Description, nullString(g.ExternalID), string(g.Source), g.Version, g.CreatedAt, g.UpdatedAt,
		nullString(g.DirectoryID), strings.ToLower(g.Name))
	if err != nil {
		return fmt.Errorf("store: insert group: %w", mapError(err))
	}
	return nil
}

// UpdateGroup writes g if its stored version is still prevVersion.
func (s *Store) UpdateGroup(ctx context.Context, g *user.Group, prevVersion int64) error {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE groups SET name = $1, name_lower = $2, description = $3,
		external_id = $4, version = $5, updated_at = $6 WHERE id = $7 AND version = $8`,
		g.Name, strings.ToLower(g.Name), g.Description, nullString(g.ExternalID), g.Version, g.UpdatedAt, g.ID, prevVersion)
	if err != nil {
		return fmt.Errorf("store: update group: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stale("group")
	}
	return nil
}

// DeleteGroup deletes a group, its memberships and role grants.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.dropFromList(ctx, groupList, id); err != nil {
			return err
		}
		if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM groups WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete group: %w", err)
		}
		return nil
	})
}

// SetGroupRoles replaces a group's roles.
func (s *Store) SetGroupRoles(ctx context.Context, groupID string, roleIDs []string) error {
	w := s.writer(ctx)
	if _, err := w.ExecContext(ctx, `DELETE FROM group_roles WHERE group_id = $1`, groupID); err != nil {
		return fmt.Errorf("store: clear group roles: %w", err)
	}
	for _, id := range roleIDs {
		if _, err := w.ExecContext(ctx, `INSERT INTO group_roles (group_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, groupID, id); err != nil {
			return fmt.Errorf("store: grant group role: %w", err)
		}
	}
	return nil
}

// AddGroupMembers adds users to a group; existing members stay.
func (s *Store) AddGroupMembers(ctx context.Context, groupID string, userIDs []string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockParents(ctx, groupList, []string{groupID}); err != nil {
			return err
		}
		if err := s.lockUsers(ctx, userIDs); err != nil {
			return err
		}
		err := s.insertMany(ctx, s.writer(ctx), "group_members", []string{"group_id", "user_id"}, len(userIDs),
			func(i int) []any { return []any{groupID, userIDs[i]} }, " ON CONFLICT DO NOTHING")
		if err != nil {
			return fmt.Errorf("store: add members: %w", mapError(err))
		}
		return s.refreshList(ctx, groupList, userIDs)
	})
}

// RemoveGroupMembers removes users from a group.
func (s *Store) RemoveGroupMembers(ctx context.Context, groupID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockParents(ctx, groupList, []string{groupID}); err != nil {
			return err
		}
		if err := s.lockUsers(ctx, userIDs); err != nil {
			return err
		}
		// In chunks: SQLite and PostgreSQL both bound the parameters of one statement.
		const chunk = 500
		for start := 0; start < len(userIDs); start += chunk {
			part := userIDs[start:min(len(userIDs), start+chunk)]
			args := append([]any{groupID}, anys(part)...)
			_, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id IN (`+placeholders(2, len(part))+`)`, args...)
			if err != nil {
				return fmt.Errorf("store: remove members: %w", err)
			}
		}
		return s.refreshList(ctx, groupList, userIDs)
	})
}

// UserGroups returns the groups each user belongs to, by name.
func (s *Store) UserGroups(ctx context.Context, userIDs []string) (map[string][]user.GroupRef, error) {
	_, groups, err := s.UserGrants(ctx, userIDs)
	return groups, err
}

// SetUserGroups replaces a user's group memberships.
func (s *Store) SetUserGroups(ctx context.Context, userID string, groupIDs []string) error {
	return s.setUserRows(ctx, groupList, userID, groupIDs)
}

// GroupMemberIDs returns the ids of a group's members.
func (s *Store) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("store: group members: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DirectoryGroups reads every group of a directory by name, with its roles and member count
// and, with members, its members' ids.
func (s *Store) DirectoryGroups(ctx context.Context, directoryID string, members bool) ([]user.Group, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+groupColumns+`, (SELECT count(*) FROM group_members m WHERE m.group_id = groups.id)
		FROM groups WHERE directory_id = $1 ORDER BY name_lower`, directoryID)
	if err != nil {
		return nil, fmt.Errorf("store: directory groups: %w", err)
	}
	var out []user.Group
	for rows.Next() {
		var count int64
		g, err := scanGroup(rows, &count)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: directory groups: %w", err)
		}
		g.MemberCount = count
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	rows.Close()
	for i := range out {
		if members {
			if out[i].MemberIDs, err = s.GroupMemberIDs(ctx, out[i].ID); err != nil {
				return nil, err
			}
		}
		if out[i].Roles, err = s.groupRoles(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CountUsersOfDirectory counts how many of ids are users of the directory directoryID.
func (s *Store) CountUsersOfDirectory(ctx context.Context, directoryID string, ids []string) (int, error) {
	n := 0
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(len(ids), start+500)]
		var k int
		err := s.reader(ctx).QueryRowContext(ctx, `SELECT count(*) FROM users WHERE directory_id = $1 AND id IN (`+placeholders(2, len(part))+`)`,
			append([]any{directoryID}, anys(part)...)...).Scan(&k)
		if err != nil {
			return 0, fmt.Errorf("store: count users of a directory: %w", err)
		}
		n += k
	}
	return n, nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/usherhq/usher/internal/user"
)

// A user's row repeats, in role_ids, group_ids and custom_values, what user_roles, group_members
// and user_field_values hold for them (migration 00006): a page of users reads one row a user
// instead of one in each of four tables, most of them elsewhere on disk. The tables stay the
// truth: filters, foreign keys and permission checks read them. Every store method that changes
// them rewrites the copies in the same transaction, and TestUserListsFollowTables walks every
// such path on both databases.

// userList is a column of users that repeats a user's rows of another table.
type userList struct {
	column, table, key string
	empty              string // the column's value for a user with no rows
}

var (
	roleList   = userList{"role_ids", "user_roles", "role_id", ""}
	groupList  = userList{"group_ids", "group_members", "group_id", ""}
	customList = userList{"custom_values", "user_field_values", "field", "{}"}
)

// value is the SQL that computes l's column of the user of the UPDATE from l's table; extra is
// added to the table's conditions.
func (s *Store) value(l userList, extra string) string {
	agg := "string_agg(" + l.key + ", ' ' ORDER BY " + l.key + ")" // ids, space-separated
	if l == customList {
		agg = "json_group_object(field, value)"
		if s.Dialect == Postgres {
			agg = "json_object_agg(field, value ORDER BY field)::text"
		}
	}
	userID := "users.id"
	if s.Dialect == Postgres {
		userID += ` COLLATE "default"` // users.id is in C; the user_id indexes in the default collation
	}
	return fmt.Sprintf("COALESCE((SELECT %s FROM %s WHERE user_id = %s%s), '%s')", agg, l.table, userID, extra, l.empty)
}

// refreshList rewrites l's column of the given users from l's table.
func (s *Store) refreshList(ctx context.Context, l userList, userIDs []string) error {
	const chunk = 500
	for start := 0; start < len(userIDs); start += chunk {
		ids := userIDs[start:min(len(userIDs), start+chunk)]
		_, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET `+l.column+` = `+s.value(l, "")+
			` WHERE id IN (`+placeholders(1, len(ids))+`)`, anys(ids)...)
		if err != nil {
			return fmt.Errorf("store: %s of users: %w", l.column, err)
		}
	}
	return nil
}

// dropFromList rewrites l's column of the users who have rows with the given key in l's table,
// without those rows: called before the key's role, group or field is deleted (and its rows
// with it, by the foreign keys).
func (s *Store) dropFromList(ctx context.Context, l userList, key string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET `+l.column+` = `+s.value(l, " AND "+l.key+" <> $1")+
		` WHERE id IN (SELECT user_id FROM `+l.table+` WHERE `+l.key+` = $1)`, key)
	if err != nil {
		return fmt.Errorf("store: %s of users: %w", l.column, err)
	}
	return nil
}

// joinIDs is ids as role_ids and group_ids hold them: sorted, once each, space-separated.
func joinIDs(ids []string) string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return strings.Join(slices.Compact(ids), " ")
}

// customJSON is custom values as custom_values holds them: a JSON object.
func customJSON(values map[string]string) string {
	if len(values) == 0 {
		return "{}"
	}
	b, err := json.Marshal(values)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return string(b)
}

// parseCustom reads custom_values.
func parseCustom(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "{}" || s == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: custom values %q: %w", s, err)
	}
	return out, nil
}

// grantIDs are one user's direct role ids and group ids.
type grantIDs struct{ roleIDs, groupIDs []string }

// resolveGrants turns users' direct role ids and group ids into their effective roles (direct
// ones and those inherited through groups, by name) and their groups (by name). Each group and
// role is read once, in one query, however many of the users share it. Ids of roles or groups
// deleted since are left out.
func (s *Store) resolveGrants(ctx context.Context, users map[string]grantIDs) (map[string][]user.RoleGrant, map[string][]user.GroupRef, error) {
	var roleIDs, groupIDs []string
	for _, g := range users {
		roleIDs = append(roleIDs, g.roleIDs...)
		groupIDs = append(groupIDs, g.groupIDs...)
	}
	slices.Sort(roleIDs)
	slices.Sort(groupIDs)
	cat, err := s.grantCatalog(ctx, slices.Compact(roleIDs), slices.Compact(groupIDs))
	if err != nil {
		return nil, nil, err
	}
	roles := make(map[string][]user.RoleGrant, len(users))
	groups := make(map[string][]user.GroupRef, len(users))
	for uid, ids := range users {
		var set grantSet
		for _, id := range ids.roleIDs {
			if r := cat.roles[id]; r != nil {
				set.addRole("", "", r)
			}
		}
		gids := slices.Clone(ids.groupIDs)
		slices.SortFunc(gids, func(a, b string) int { return strings.Compare(cat.groups[a].key, cat.groups[b].key) })
		for _, gid := range gids {
			g, ok := cat.groups[gid]
			if !ok {
				continue
			}
			set.addRole(gid, g.name, nil)
			for _, r := range g.roles {
				set.addRole(gid, g.name, r)
			}
		}
		set.done()
		roles[uid], groups[uid] = set.roles, set.groups
	}
	return roles, groups, nil
}

// catalog is the roles and groups of a set of users.
type catalog struct {
	roles  map[string]*user.Role
	groups map[string]groupGrants
}

// groupGrants is a group's name, sort key and the roles it grants.
type groupGrants struct {
	name, key string
	roles     []*user.Role
}

// grantCatalog reads roles by id, and groups by id with the roles each grants, in one query.
func (s *Store) grantCatalog(ctx context.Context, roleIDs, groupIDs []string) (*catalog, error) {
	cat := &catalog{roles: map[string]*user.Role{}, groups: map[string]groupGrants{}}
	var parts []string
	var args []any
	if len(roleIDs) > 0 {
		padded := paddedIDs(roleIDs)
		parts = append(parts, `SELECT '' AS gid, '' AS gname, '' AS gkey, `+roleColumns+` FROM roles
			WHERE id IN (`+placeholders(1, len(padded))+`)`)
		args = append(args, padded...)
	}
	if len(groupIDs) > 0 {
		padded := paddedIDs(groupIDs)
		parts = append(parts, `SELECT g.id, g.name, g.name_lower, `+prefixed("r", roleColumns)+` FROM groups g
			LEFT JOIN group_roles gr ON gr.group_id = g.id LEFT JOIN roles r ON r.id = gr.role_id
			WHERE g.id IN (`+placeholders(len(args)+1, len(padded))+`)`)
		args = append(args, padded...)
	}
	if len(parts) == 0 {
		return cat, nil
	}
	rows, err := s.query(ctx, strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, fmt.Errorf("store: roles and groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid, gname, gkey string
		var r roleRow
		if err := rows.Scan(append([]any{&gid, &gname, &gkey}, r.dest()...)...); err != nil {
			return nil, fmt.Errorf("store: roles and groups: %w", err)
		}
		role := r.role()
		if role != nil {
			if prev := cat.roles[role.ID]; prev != nil {
				role = prev
			}
			cat.roles[role.ID] = role
		}
		if gid == "" {
			continue
		}
		g, ok := cat.groups[gid]
		if !ok {
			g = groupGrants{name: gname, key: gkey}
		}
		if role != nil {
			g.roles = append(g.roles, role)
		}
		cat.groups[gid] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: roles and groups: %w", err)
	}
	return cat, nil
}

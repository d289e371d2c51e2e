package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/usherhq/usher/internal/user"
)

// UserDetail returns one user with their custom values, effective roles and groups: what
// GET /users/{id} shows, in one query instead of four (User, its custom values, UserRoles and
// UserGroups), prepared once on SQLite. Its rows are the user's row once per custom value,
// direct role, and group with each role the group grants, ordered by the group's name; or
// once, bare, for a user with none of these. The grant tables are matched on $1, not on u.id:
// on PostgreSQL users.id has the C collation and their user_id the default one, and comparing
// them in C cannot use their indexes.
func (s *Store) UserDetail(ctx context.Context, id string) (*user.Detail, error) {
	rows, err := s.query(ctx, `SELECT `+prefixed("u", userColumns)+`, x.field, x.value, x.group_id, x.group_name,
		`+prefixed("r", roleColumns)+`
		FROM users u LEFT JOIN (
			SELECT field, value, '' AS group_id, '' AS group_name, '' AS group_key, NULL AS role_id
			FROM user_field_values WHERE user_id = $1
			UNION ALL
			SELECT '', '', '', '', '', role_id FROM user_roles WHERE user_id = $1
			UNION ALL
			SELECT '', '', g.id, g.name, g.name_lower, gr.role_id FROM group_members gm
			JOIN groups g ON g.id = gm.group_id LEFT JOIN group_roles gr ON gr.group_id = g.id
			WHERE gm.user_id = $1
		) x ON true LEFT JOIN roles r ON r.id = x.role_id
		WHERE u.id = $1 ORDER BY x.group_key`, id)
	if err != nil {
		return nil, fmt.Errorf("store: user %s: %w", id, err)
	}
	defer rows.Close()
	var d *user.Detail
	var g grantSet
	for rows.Next() {
		var field, value, gid, gname sql.NullString
		var r roleRow
		u, err := scanUser(scanExtra{rows, append([]any{&field, &value, &gid, &gname}, r.dest()...)})
		if err != nil {
			return nil, fmt.Errorf("store: user %s: %w", id, err)
		}
		if d == nil {
			d = &user.Detail{User: u}
			u.Custom = map[string]string{}
		}
		if field.String != "" {
			d.Custom[field.String] = value.String
		} else if gid.String != "" || r.id.Valid {
			g.add(gid.String, gname.String, &r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: user %s: %w", id, err)
	}
	if d == nil {
		return nil, notFound("user")
	}
	g.done()
	d.Roles, d.Groups = g.roles, g.groups
	return d, nil
}

// UserGrants returns the effective roles of each user (direct ones and those inherited through
// groups) and the groups they belong to, by name. The first query reads only the users' rows of
// user_roles and group_members, each from an index; each group and role among them is then read
// once, however many of the users share it.
func (s *Store) UserGrants(ctx context.Context, userIDs []string) (map[string][]user.RoleGrant, map[string][]user.GroupRef, error) {
	roles := make(map[string][]user.RoleGrant, len(userIDs))
	groups := make(map[string][]user.GroupRef, len(userIDs))
	if len(userIDs) == 0 {
		return roles, groups, nil
	}
	ids := paddedIDs(userIDs)
	in := placeholders(1, len(ids))
	rows, err := s.query(ctx, `SELECT user_id, role_id, '' FROM user_roles WHERE user_id IN (`+in+`)
		UNION ALL SELECT user_id, '', group_id FROM group_members WHERE user_id IN (`+in+`)`, ids...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: user roles: %w", err)
	}
	type grant struct{ uid, roleID, groupID string }
	var grants []grant
	var groupIDs []string
	for rows.Next() {
		var g grant
		if err := rows.Scan(&g.uid, &g.roleID, &g.groupID); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: user roles: %w", err)
		}
		grants = append(grants, g)
		if g.groupID != "" && !slices.Contains(groupIDs, g.groupID) {
			groupIDs = append(groupIDs, g.groupID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: user roles: %w", err)
	}
	byGroup, err := s.groupsWithRoles(ctx, groupIDs)
	if err != nil {
		return nil, nil, err
	}
	var roleIDs []string
	for _, g := range grants {
		for _, id := range append([]string{g.roleID}, byGroup[g.groupID].roleIDs...) {
			if id != "" && !slices.Contains(roleIDs, id) {
				roleIDs = append(roleIDs, id)
			}
		}
	}
	byID, err := s.rolesByID(ctx, roleIDs)
	if err != nil {
		return nil, nil, err
	}
	// Groups by name, as UserDetail gives them; direct roles first.
	slices.SortStableFunc(grants, func(a, b grant) int {
		return strings.Compare(byGroup[a.groupID].key, byGroup[b.groupID].key)
	})
	sets := map[string]*grantSet{}
	for _, g := range grants {
		if sets[g.uid] == nil {
			sets[g.uid] = &grantSet{}
		}
		if g.groupID == "" {
			if r := byID[g.roleID]; r != nil { // nil: deleted since
				sets[g.uid].addRole("", "", r)
			}
			continue
		}
		gr, ok := byGroup[g.groupID]
		if !ok {
			continue // deleted since
		}
		sets[g.uid].addRole(g.groupID, gr.name, nil)
		for _, id := range gr.roleIDs {
			if r := byID[id]; r != nil {
				sets[g.uid].addRole(g.groupID, gr.name, r)
			}
		}
	}
	for uid, g := range sets {
		g.done()
		roles[uid], groups[uid] = g.roles, g.groups
	}
	return roles, groups, nil
}

// groupGrants is a group's name, sort key and the roles it grants.
type groupGrants struct {
	name, key string
	roleIDs   []string
}

// groupsWithRoles reads groups by id with the ids of the roles each grants.
func (s *Store) groupsWithRoles(ctx context.Context, ids []string) (map[string]groupGrants, error) {
	out := make(map[string]groupGrants, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	padded := paddedIDs(ids)
	rows, err := s.query(ctx, `SELECT g.id, g.name, g.name_lower, COALESCE(gr.role_id, '') FROM groups g
		LEFT JOIN group_roles gr ON gr.group_id = g.id WHERE g.id IN (`+placeholders(1, len(padded))+`)`, padded...)
	if err != nil {
		return nil, fmt.Errorf("store: groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, roleID string
		var g groupGrants
		if err := rows.Scan(&id, &g.name, &g.key, &roleID); err != nil {
			return nil, fmt.Errorf("store: groups: %w", err)
		}
		if prev, ok := out[id]; ok {
			g.roleIDs = prev.roleIDs
		}
		if roleID != "" {
			g.roleIDs = append(g.roleIDs, roleID)
		}
		out[id] = g
	}
	return out, rows.Err()
}

// rolesByID reads roles by id.
func (s *Store) rolesByID(ctx context.Context, ids []string) (map[string]*user.Role, error) {
	out := make(map[string]*user.Role, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	padded := paddedIDs(ids)
	rows, err := s.query(ctx, `SELECT `+roleColumns+` FROM roles WHERE id IN (`+placeholders(1, len(padded))+`)`, padded...)
	if err != nil {
		return nil, fmt.Errorf("store: roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, fmt.Errorf("store: roles: %w", err)
		}
		out[r.ID] = &r
	}
	return out, rows.Err()
}

// roleRow is a row's role columns (roleColumns), all NULL for a group that grants no role.
type roleRow struct {
	id, name, desc, perms sql.NullString
	builtin               sql.NullBool
	version               sql.NullInt64
	created, updated      sql.NullTime
}

func (r *roleRow) dest() []any {
	return []any{&r.id, &r.name, &r.desc, &r.builtin, &r.perms, &r.version, &r.created, &r.updated}
}

// grantSet gathers one user's role grants and groups from rows ordered by group name.
type grantSet struct {
	roles  []user.RoleGrant
	groups []user.GroupRef
}

// add takes one row: a direct role (no group), or a group with one of its roles or none.
func (g *grantSet) add(gid, gname string, r *roleRow) {
	var role *user.Role
	if r.id.Valid {
		role = &user.Role{ID: r.id.String, Name: r.name.String, Description: r.desc.String, Builtin: r.builtin.Bool,
			Permissions: user.ParsePermissions(r.perms.String), Version: r.version.Int64,
			CreatedAt: r.created.Time.UTC(), UpdatedAt: r.updated.Time.UTC()}
	}
	g.addRole(gid, gname, role)
}

// addRole takes a direct role (no group), or a group with one of its roles or none (nil).
func (g *grantSet) addRole(gid, gname string, r *user.Role) {
	if gid != "" && !slices.ContainsFunc(g.groups, func(ref user.GroupRef) bool { return ref.ID == gid }) {
		g.groups = append(g.groups, user.GroupRef{ID: gid, Name: gname})
	}
	if r == nil {
		return
	}
	i := slices.IndexFunc(g.roles, func(rg user.RoleGrant) bool { return rg.ID == r.ID })
	if i < 0 {
		g.roles = append(g.roles, user.RoleGrant{Role: *r})
		i = len(g.roles) - 1
	}
	if gid == "" {
		g.roles[i].Direct = true
	} else {
		g.roles[i].Via = append(g.roles[i].Via, user.GroupRef{ID: gid, Name: gname})
	}
}

// done marks the roles that come only through groups and sorts the roles by name.
func (g *grantSet) done() {
	for i := range g.roles {
		g.roles[i].Inherited = !g.roles[i].Direct
	}
	slices.SortFunc(g.roles, func(a, b user.RoleGrant) int { return strings.Compare(a.Name, b.Name) })
}

// paddedIDs are ids for an IN list, repeated at the end up to the next of a few lengths, so that
// a list's queries have a handful of texts, each prepared once, rather than one per page length.
func paddedIDs(ids []string) []any {
	n := len(ids)
	for _, size := range []int{1, 10, 50, 100, 250, 500, 1000} {
		if size >= n {
			n = size
			break
		}
	}
	out := make([]any, n)
	for i := range out {
		out[i] = ids[min(i, len(ids)-1)]
	}
	return out
}

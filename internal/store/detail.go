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
// GET /users/{id} shows, in one query, prepared once on SQLite. Its rows are the user's row once
// per direct role, and group with each role the group grants, ordered by the group's name; or
// once, bare, for a user with neither. The grant tables are matched on $1, not on u.id: on
// PostgreSQL users.id has the C collation and their user_id the default one, and comparing them
// in C cannot use their indexes.
func (s *Store) UserDetail(ctx context.Context, id string) (*user.Detail, error) {
	rows, err := s.query(ctx, `SELECT `+prefixed("u", userColumns)+`, x.group_id, x.group_name, `+prefixed("r", roleColumns)+`
		FROM users u LEFT JOIN (
			SELECT '' AS group_id, '' AS group_name, '' AS group_key, role_id FROM user_roles WHERE user_id = $1
			UNION ALL
			SELECT g.id, g.name, g.name_lower, gr.role_id FROM group_members gm
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
		var gid, gname sql.NullString
		var r roleRow
		u, err := scanUser(scanExtra{rows, append([]any{&gid, &gname}, r.dest()...)})
		if err != nil {
			return nil, fmt.Errorf("store: user %s: %w", id, err)
		}
		if d == nil {
			d = &user.Detail{User: u}
		}
		if gid.String != "" || r.id.Valid {
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
// groups) and the groups they belong to, by name, from user_roles and group_members: what
// permission checks rely on. Lists read the same from the users' rows (see userList).
func (s *Store) UserGrants(ctx context.Context, userIDs []string) (map[string][]user.RoleGrant, map[string][]user.GroupRef, error) {
	if len(userIDs) == 0 {
		return map[string][]user.RoleGrant{}, map[string][]user.GroupRef{}, nil
	}
	ids := paddedIDs(userIDs)
	in := placeholders(1, len(ids))
	rows, err := s.query(ctx, `SELECT user_id, role_id, '' FROM user_roles WHERE user_id IN (`+in+`)
		UNION ALL SELECT user_id, '', group_id FROM group_members WHERE user_id IN (`+in+`)`, ids...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: user roles: %w", err)
	}
	users := make(map[string]grantIDs, len(userIDs))
	for rows.Next() {
		var uid, roleID, groupID string
		if err := rows.Scan(&uid, &roleID, &groupID); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: user roles: %w", err)
		}
		g := users[uid]
		if roleID != "" {
			g.roleIDs = append(g.roleIDs, roleID)
		} else {
			g.groupIDs = append(g.groupIDs, groupID)
		}
		users[uid] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: user roles: %w", err)
	}
	var roleIDs, groupIDs []string
	for _, g := range users {
		roleIDs = append(roleIDs, g.roleIDs...)
		groupIDs = append(groupIDs, g.groupIDs...)
	}
	cat, _, err := s.readCatalog(ctx, roleIDs, groupIDs, false)
	if err != nil {
		return nil, nil, err
	}
	roles, groups := resolveGrants(users, cat)
	return roles, groups, nil
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

// role is the row's role, or nil.
func (r *roleRow) role() *user.Role {
	if !r.id.Valid {
		return nil
	}
	return &user.Role{ID: r.id.String, Name: r.name.String, Description: r.desc.String, Builtin: r.builtin.Bool,
		Permissions: user.ParsePermissions(r.perms.String), Version: r.version.Int64,
		CreatedAt: r.created.Time.UTC(), UpdatedAt: r.updated.Time.UTC()}
}

// grantSet gathers one user's role grants and groups from rows ordered by group name.
type grantSet struct {
	roles  []user.RoleGrant
	groups []user.GroupRef
}

// add takes one row: a direct role (no group), or a group with one of its roles or none.
func (g *grantSet) add(gid, gname string, r *roleRow) { g.addRole(gid, gname, r.role()) }

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

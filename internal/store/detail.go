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

// grants returns the effective roles of each user (direct ones and those inherited through
// groups) and the groups they belong to, by name, in one query. Its rows are a user's direct
// roles (no group), and each group they belong to once per role it grants (no role when it
// grants none), ordered by the group's name.
func (s *Store) grants(ctx context.Context, userIDs []string) (map[string][]user.RoleGrant, map[string][]user.GroupRef, error) {
	roles := make(map[string][]user.RoleGrant, len(userIDs))
	groups := make(map[string][]user.GroupRef, len(userIDs))
	if len(userIDs) == 0 {
		return roles, groups, nil
	}
	in := placeholders(1, len(userIDs))
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT ur.user_id, '', '', '', `+prefixed("r", roleColumns)+`
		FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id IN (`+in+`)
		UNION ALL
		SELECT gm.user_id, g.id, g.name, g.name_lower, `+prefixed("r", roleColumns)+`
		FROM group_members gm JOIN groups g ON g.id = gm.group_id
		LEFT JOIN group_roles gr ON gr.group_id = g.id LEFT JOIN roles r ON r.id = gr.role_id
		WHERE gm.user_id IN (`+in+`)
		ORDER BY 4`, anys(userIDs)...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: user roles: %w", err)
	}
	defer rows.Close()
	sets := map[string]*grantSet{}
	for rows.Next() {
		var uid, gid, gname, gkey string
		var r roleRow
		if err := rows.Scan(append([]any{&uid, &gid, &gname, &gkey}, r.dest()...)...); err != nil {
			return nil, nil, fmt.Errorf("store: user roles: %w", err)
		}
		if sets[uid] == nil {
			sets[uid] = &grantSet{}
		}
		sets[uid].add(gid, gname, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: user roles: %w", err)
	}
	for uid, g := range sets {
		g.done()
		roles[uid], groups[uid] = g.roles, g.groups
	}
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

// grantSet gathers one user's role grants and groups from rows ordered by group name.
type grantSet struct {
	roles  []user.RoleGrant
	groups []user.GroupRef
}

// add takes one row: a direct role (no group), or a group with one of its roles or none.
func (g *grantSet) add(gid, gname string, r *roleRow) {
	if gid != "" && !slices.ContainsFunc(g.groups, func(ref user.GroupRef) bool { return ref.ID == gid }) {
		g.groups = append(g.groups, user.GroupRef{ID: gid, Name: gname})
	}
	if !r.id.Valid {
		return // a group that grants no role
	}
	i := slices.IndexFunc(g.roles, func(rg user.RoleGrant) bool { return rg.ID == r.id.String })
	if i < 0 {
		g.roles = append(g.roles, user.RoleGrant{Role: user.Role{ID: r.id.String, Name: r.name.String,
			Description: r.desc.String, Builtin: r.builtin.Bool, Permissions: user.ParsePermissions(r.perms.String),
			Version: r.version.Int64, CreatedAt: r.created.Time, UpdatedAt: r.updated.Time}})
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

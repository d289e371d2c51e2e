package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/usherhq/usher/internal/user"
)

// A user's row repeats, in role_ids, group_ids and custom_values, what user_roles, group_members
// and user_field_values hold for them (migration 00006): a page of users reads one row a user
// instead of one in each of four tables, most of them elsewhere on disk. The tables stay the
// truth: filters, foreign keys and permission checks read them. Every store method that changes
// them rewrites the copies in the same transaction, and TestUserListsFollowTables walks every
// such path on both databases.

// userList is a column of users that repeats a user's rows of another table, whose key refers
// to the parent table's row.
type userList struct {
	column, table, key string
	empty              string // the column's value for a user with no rows
	parent, parentKey  string
}

var (
	roleList   = userList{"role_ids", "user_roles", "role_id", "", "roles", "id"}
	groupList  = userList{"group_ids", "group_members", "group_id", "", "groups", "id"}
	customList = userList{"custom_values", "user_field_values", "field", "{}", "fields", "name"}
)

// On PostgreSQL (READ COMMITTED) a statement that waits for another transaction's lock on a row
// still reads the tables as they were when it began: a rewrite of a copy that waited for the
// user's row would miss what the other transaction committed meanwhile. So a change first takes
// the rows it will rewrite, in a statement of its own, and the statements after it see the
// tables as they are. Always in the same order, parents (roles, groups, fields) before users,
// each by key, so that two changes wait for each other rather than deadlock; where PostgreSQL
// still finds a deadlock it cancels one change, which gets store.concurrent_change. SQLite has
// one writer and needs none of this.

// lockParents takes l's parent rows with the given keys so that none is deleted meanwhile.
func (s *Store) lockParents(ctx context.Context, l userList, keys []string) error {
	if s.Dialect != Postgres || len(keys) == 0 {
		return nil
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	_, err := s.writer(ctx).ExecContext(ctx, `SELECT 1 FROM `+l.parent+` WHERE `+l.parentKey+` IN (`+
		placeholders(1, len(keys))+`) ORDER BY `+l.parentKey+` FOR KEY SHARE`, anys(keys)...)
	if err != nil {
		return fmt.Errorf("store: lock %s: %w", l.parent, mapError(err))
	}
	return nil
}

// lockUsers takes the rows of the users whose copies a change will rewrite.
func (s *Store) lockUsers(ctx context.Context, userIDs []string) error {
	if s.Dialect != Postgres || len(userIDs) == 0 {
		return nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(userIDs)))
	const chunk = 1000
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(len(ids), start+chunk)]
		_, err := s.writer(ctx).ExecContext(ctx, `SELECT 1 FROM users WHERE id IN (`+placeholders(1, len(part))+
			`) ORDER BY id FOR NO KEY UPDATE`, anys(part)...)
		if err != nil {
			return fmt.Errorf("store: lock users: %w", mapError(err))
		}
	}
	return nil
}

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

// setUserRows replaces a user's rows of l's table (direct roles or memberships) with keys, and
// the user's copy of them.
func (s *Store) setUserRows(ctx context.Context, l userList, userID string, keys []string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockParents(ctx, l, keys); err != nil {
			return err
		}
		if err := s.lockUsers(ctx, []string{userID}); err != nil {
			return err
		}
		w := s.writer(ctx)
		if _, err := w.ExecContext(ctx, `DELETE FROM `+l.table+` WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("store: clear %s: %w", l.table, err)
		}
		for _, key := range keys {
			_, err := w.ExecContext(ctx, `INSERT INTO `+l.table+` (user_id, `+l.key+`) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, key)
			if err != nil {
				return fmt.Errorf("store: add to %s: %w", l.table, mapError(err))
			}
		}
		return s.refreshList(ctx, l, []string{userID})
	})
}

// dropFromList rewrites l's column of the users who have rows with the given key in l's table,
// without those rows: called in the transaction that then deletes the key's role, group or field
// (and its rows with it, by the foreign keys). It takes the parent's row, so that no change adds
// rows for it meanwhile, then the rows of its users.
func (s *Store) dropFromList(ctx context.Context, l userList, key string) error {
	if s.Dialect == Postgres {
		_, err := s.writer(ctx).ExecContext(ctx, `SELECT 1 FROM `+l.parent+` WHERE `+l.parentKey+` = $1 FOR UPDATE`, key)
		if err != nil {
			return fmt.Errorf("store: lock %s: %w", l.parent, mapError(err))
		}
		_, err = s.writer(ctx).ExecContext(ctx, `SELECT 1 FROM users WHERE id IN (SELECT user_id FROM `+l.table+
			` WHERE `+l.key+` = $1) ORDER BY id FOR NO KEY UPDATE`, key)
		if err != nil {
			return fmt.Errorf("store: lock users: %w", mapError(err))
		}
	}
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
	if !strings.Contains(s, `\`) && utf8.ValidString(s) && parseFlat(s, out) {
		return out, nil
	}
	clear(out)
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: custom values %q: %w", s, err)
	}
	return out, nil
}

// parseFlat reads into out a JSON object of strings that holds no escape (no \), no control
// character and only valid UTF-8 (the caller checks that), as most custom values are, in a
// fraction of encoding/json's time: an export reads a million of them. It reports false for
// anything else, which encoding/json then reads.
func parseFlat(s string, out map[string]string) bool {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	token := func() (string, bool) {
		skip()
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 {
			return "", false
		}
		t := s[i+1 : i+1+end]
		if strings.IndexFunc(t, func(r rune) bool { return r < 0x20 }) >= 0 {
			return "", false // encoding/json refuses a raw control character in a string
		}
		i += end + 2
		return t, true
	}
	expect := func(c byte) bool {
		skip()
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	if !expect('{') {
		return false
	}
	if expect('}') {
		return i == len(s)
	}
	for {
		k, ok := token()
		if !ok || !expect(':') {
			return false
		}
		v, ok := token()
		if !ok {
			return false
		}
		out[k] = v
		if expect('}') {
			skip()
			return i == len(s)
		}
		if !expect(',') {
			return false
		}
	}
}

// grantIDs are one user's direct role ids and group ids.
type grantIDs struct{ roleIDs, groupIDs []string }

// resolveGrants turns users' direct role ids and group ids into their effective roles (direct
// ones and those inherited through groups, by name) and their groups (by name), with the roles
// and groups of cat. Ids not in cat (deleted since) are left out.
func resolveGrants(users map[string]grantIDs, cat *catalog) (map[string][]user.RoleGrant, map[string][]user.GroupRef) {
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
	return roles, groups
}

// catalog is roles by id and groups by id, with the roles each grants.
type catalog struct {
	roles  map[string]*user.Role
	groups map[string]groupGrants
}

// groupGrants is a group's name, sort key and the roles it grants.
type groupGrants struct {
	name, key string
	roles     []*user.Role
}

// catalogCache is the whole catalog as of one catalog_version: every change to roles, groups or
// group_roles moves that counter on (triggers of migration 00007), and every page of users reads
// it, so a page uses the copy only while nothing has changed.
type catalogCache struct {
	mu      sync.Mutex
	version int64
	cat     *catalog
	reading sync.Mutex // held by the one page reading the catalog again; the others wait for it
}

// catalogAt returns the catalog as of version, read again when the copy is older. Inside a
// transaction it reads only the given roles and groups, without the copy: the transaction may
// have changed them, and may yet roll back.
func (s *Store) catalogAt(ctx context.Context, version int64, roleIDs, groupIDs []string) (*catalog, error) {
	if _, inTx := ctx.Value(txKey{}).(*sql.Tx); inTx {
		cat, _, err := s.readCatalog(ctx, roleIDs, groupIDs, false)
		return cat, err
	}
	c := &s.catalog
	current := func() *catalog {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cat != nil && c.version >= version {
			return c.cat
		}
		return nil
	}
	if cat := current(); cat != nil {
		return cat, nil
	}
	c.reading.Lock()
	defer c.reading.Unlock()
	if cat := current(); cat != nil { // read by the page this one waited for
		return cat, nil
	}
	cat, read, err := s.readCatalog(ctx, nil, nil, true)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if read >= c.version {
		c.version, c.cat = read, cat
	}
	return cat, nil
}

// readCatalog reads roles, and groups with the roles each grants, in one query, with the
// catalog_version they are as of (0 when there are none): all of them, or those with the ids.
func (s *Store) readCatalog(ctx context.Context, roleIDs, groupIDs []string, all bool) (*catalog, int64, error) {
	cat := &catalog{roles: map[string]*user.Role{}, groups: map[string]groupGrants{}}
	roleIDs = slices.Compact(slices.Sorted(slices.Values(roleIDs)))
	groupIDs = slices.Compact(slices.Sorted(slices.Values(groupIDs)))
	const version = `(SELECT version FROM catalog_version)`
	var parts []string
	var args []any
	if all || len(roleIDs) > 0 {
		q := `SELECT ` + version + `, '' AS gid, '' AS gname, '' AS gkey, ` + roleColumns + ` FROM roles`
		if !all {
			padded := paddedIDs(roleIDs)
			q += ` WHERE id IN (` + placeholders(1, len(padded)) + `)`
			args = append(args, padded...)
		}
		parts = append(parts, q)
	}
	if all || len(groupIDs) > 0 {
		q := `SELECT ` + version + `, g.id, g.name, g.name_lower, ` + prefixed("r", roleColumns) + ` FROM groups g
			LEFT JOIN group_roles gr ON gr.group_id = g.id LEFT JOIN roles r ON r.id = gr.role_id`
		if !all {
			padded := paddedIDs(groupIDs)
			q += ` WHERE g.id IN (` + placeholders(len(args)+1, len(padded)) + `)`
			args = append(args, padded...)
		}
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		return cat, 0, nil
	}
	rows, err := s.query(ctx, strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: roles and groups: %w", err)
	}
	defer rows.Close()
	var v int64
	for rows.Next() {
		var gid, gname, gkey string
		var r roleRow
		if err := rows.Scan(append([]any{&v, &gid, &gname, &gkey}, r.dest()...)...); err != nil {
			return nil, 0, fmt.Errorf("store: roles and groups: %w", err)
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
		return nil, 0, fmt.Errorf("store: roles and groups: %w", err)
	}
	return cat, v, nil
}

// GroupNames is every group's id and name in name order, from the catalog copy the user lists
// keep (read again only when catalog_version has moved on): what a filter or a picker offers,
// without counting members.
func (s *Store) GroupNames(ctx context.Context) ([]user.GroupRef, error) {
	var cat *catalog
	if _, inTx := ctx.Value(txKey{}).(*sql.Tx); inTx {
		// Not the copy: the transaction may have changed the groups (catalogAt).
		c, _, err := s.readCatalog(ctx, nil, nil, true)
		if err != nil {
			return nil, err
		}
		cat = c
	} else {
		var version int64
		if err := s.reader(ctx).QueryRowContext(ctx, `SELECT version FROM catalog_version`).Scan(&version); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: catalog version: %w", err)
		}
		c, err := s.catalogAt(ctx, version, nil, nil)
		if err != nil {
			return nil, err
		}
		cat = c
	}
	type named struct {
		ref user.GroupRef
		key string
	}
	all := make([]named, 0, len(cat.groups))
	for id, g := range cat.groups {
		all = append(all, named{user.GroupRef{ID: id, Name: g.name}, g.key})
	}
	slices.SortFunc(all, func(a, b named) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.ref.ID, b.ref.ID)) })
	out := make([]user.GroupRef, len(all))
	for i, n := range all {
		out[i] = n.ref
	}
	return out, nil
}

package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// sortColumns maps a sort name to its column.
var sortColumns = map[string]string{"name": "name_lower", "username": "username_lower", "email": "email_lower",
	"created_at": "created_at", "updated_at": "updated_at"}

// searchColumns are the columns a search text is a prefix of, each with an index on (column, id).
var searchColumns = []string{"name_lower", "last_lower", "email_lower", "username_lower", "phone"}

// MaxSortedMatches is how many users a search may match and still be sorted by a column: sorting
// the matches costs in proportion to their number, and no index orders "name, last name, email,
// username or phone starts with q" by another column.
const MaxSortedMatches = 1000

// cursor is the position a page of users or groups ended at: the sort key and id of its last row.
type cursor struct {
	V  string `json:"v"`
	ID string `json:"id"`
}

// prefixEnd is the largest valid UTF-8 character: col >= p AND col < p+prefixEnd is "starts with p"
// under byte-wise comparison (SQLite's default, and the C collation the PostgreSQL keys use).
const prefixEnd = "\U0010FFFF"

// hasPrefix is the search condition as the databases evaluate it.
func hasPrefix(v, q string) bool { return v >= q && v < q+prefixEnd }

// sqlArgs numbers a query's arguments.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// ListUsers returns a page of users matching f and the cursor of the next page.
//
// Without a search text the page is one index range read in the order of the sort. With one,
// the default order is the text that matched: each user is listed under the smallest of their
// name, last name, email, username and phone that starts with the text, so that every page is
// a merge of five ordered index range reads, as fast for the millionth match as for the first.
// A search sorted by a column sorts its matches, so it is refused when they are more than
// MaxSortedMatches.
func (s *Store) ListUsers(ctx context.Context, f user.Filter) ([]*user.Detail, string, error) {
	f.Limit = f.PageSize()
	if !textOK(f.Q) {
		return nil, "", errs.Field("q", "filter.q_invalid", "The search text contains a character that is not allowed.")
	}
	var args sqlArgs
	where, err := userConditions(f, &args)
	if err != nil {
		return nil, "", err
	}
	q := strings.ToLower(strings.TrimSpace(f.Q))
	sort := f.SortOrder()
	scope := s.scope(usersList, usersQuery(f, q, sort)...)
	var c *cursor
	if f.Cursor != "" {
		var cur cursor
		if err := scope.open(f.Cursor, &cur); err != nil {
			return nil, "", err
		}
		c = &cur
	}
	if _, inTx := ctx.Value(txKey{}).(*sql.Tx); !inTx {
		// A page is two or three queries. Pages queue for the read connections here, first come
		// first served, each taking one slot for all its queries: database/sql hands a freed
		// connection to a random waiter, and under load that left some pages waiting for several
		// turns in a row (16 workers, 2 cores: p50 6.8 ms, p99 31 ms).
		select {
		case s.lists <- struct{}{}:
			defer func() { <-s.lists }()
		case <-ctx.Done():
			return nil, "", fmt.Errorf("store: list users: waiting for a read connection: %w", ctx.Err())
		}
	}
	var users []*listed
	var next string
	switch {
	case sort == "match":
		users, next, err = s.listByMatch(ctx, scope, q, where, args, c, f.Limit)
	case q != "":
		users, next, err = s.listSearchSorted(ctx, scope, q, sort, where, args, c, f.Limit)
	default:
		users, next, err = s.listSorted(ctx, scope, sort, where, args, c, f.Limit)
	}
	if err != nil {
		return nil, "", err
	}
	details, err := s.listedDetails(ctx, users)
	return details, next, err
}

// usersQuery is what a user list asks for, the scope of its cursors: the search text and sort as
// the list uses them, the filters, then each custom field filter's name and value by name.
func usersQuery(f user.Filter, q, sort string) []string {
	out := []string{q, sort, string(f.Status), string(f.Source), f.RoleID, f.GroupID}
	for _, n := range slices.Sorted(maps.Keys(f.Custom)) {
		out = append(out, n, f.Custom[n])
	}
	return out
}

// userConditions turns every filter but the search text and the cursor into SQL conditions.
func userConditions(f user.Filter, args *sqlArgs) ([]string, error) {
	var where []string
	if f.Status != "" {
		where = append(where, "status = "+args.add(string(f.Status)))
	}
	if f.Source != "" {
		where = append(where, "source = "+args.add(string(f.Source)))
	}
	if f.GroupID != "" {
		where = append(where, "id IN (SELECT user_id FROM group_members WHERE group_id = "+args.add(f.GroupID)+")")
	}
	if f.RoleID != "" {
		r := args.add(f.RoleID)
		where = append(where, "(id IN (SELECT user_id FROM user_roles WHERE role_id = "+r+
			") OR id IN (SELECT gm.user_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id WHERE gr.role_id = "+r+"))")
	}
	names := make([]string, 0, len(f.Custom))
	for n := range f.Custom {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !textOK(n) || !textOK(f.Custom[n]) {
			return nil, errs.Field("custom."+n, "filter.custom_invalid", "The value contains a character that is not allowed.")
		}
		where = append(where, "id IN (SELECT user_id FROM user_field_values WHERE field = "+args.add(n)+" AND value = "+args.add(f.Custom[n])+")")
	}
	return where, nil
}

func and(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " AND " + strings.Join(conds, " AND ")
}

// listSorted reads one page in the order of a column: one index range read.
func (s *Store) listSorted(ctx context.Context, scope pageScope, sort string, where []string, args sqlArgs, c *cursor, limit int) ([]*listed, string, error) {
	desc := strings.HasPrefix(sort, "-")
	col := sortColumns[strings.TrimPrefix(sort, "-")]
	if col == "" {
		return nil, "", errs.Field("sort", "filter.sort_invalid", "Unknown sort order.")
	}
	isTime := strings.HasSuffix(col, "_at")
	if c != nil {
		var v any = c.V
		if isTime {
			t, err := time.Parse(time.RFC3339Nano, c.V)
			if err != nil {
				return nil, "", invalidCursor()
			}
			v = t
		}
		op := ">"
		if desc {
			op = "<"
		}
		where = append(where, after(col, op, args.add(v), args.add(c.ID)))
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	query := `SELECT ` + listedColumns + ` FROM users WHERE true` + and(where) +
		fmt.Sprintf(" ORDER BY %s %s, id %s LIMIT %s", col, dir, dir, args.add(limit+1))
	rows, err := s.queryListed(ctx, query, args)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = scope.seal(cursor{V: last.key(col), ID: last.ID})
	}
	return rows, next, nil
}

// queryList runs a list query. SQLite keeps it prepared: a list's query text depends only on
// which filters and sort it has, never on their values or the page size. So does pgx, and after
// five runs PostgreSQL may keep a generic plan, made without the values. For index ranges on a
// status, a key or a prefix that plan is the one it would make anyway; for a group, role or
// custom field filter (a subquery) it depends on how many users the value has: a generic plan
// may walk the whole name index to find a group of three. Those are planned for their values on
// every run, which costs PostgreSQL a millisecond or two.
func (s *Store) queryList(ctx context.Context, query string, args sqlArgs) (*sql.Rows, error) {
	if s.Dialect == Postgres && strings.Contains(query, "IN (SELECT") {
		return s.reader(ctx).QueryContext(ctx, query, append([]any{pgx.QueryExecModeExec}, args...)...)
	}
	return s.query(ctx, query, args...)
}

// listedColumns are the columns of a user read for a list: userColumns, the lower-case keys the
// lists order and search by, the user's role ids and group ids (see userList), and the version of
// the roles and groups they name (see catalogCache).
const listedColumns = userColumns + `, name_lower, last_lower, email_lower, username_lower, role_ids, group_ids,
	(SELECT version FROM catalog_version)`

// listed is a user read for a list (listedColumns).
type listed struct {
	*user.User
	nameLower, lastLower, emailLower, usernameLower string
	roleIDs, groupIDs                               string
	catalogVersion                                  int64
}

func (l *listed) key(col string) string {
	switch col {
	case "name_lower":
		return l.nameLower
	case "last_lower":
		return l.lastLower
	case "email_lower":
		return l.emailLower
	case "username_lower":
		return l.usernameLower
	case "phone":
		return l.Phone
	case "created_at":
		return l.CreatedAt.Format(time.RFC3339Nano)
	case "updated_at":
		return l.UpdatedAt.Format(time.RFC3339Nano)
	}
	panic("store: no list key " + col)
}

// matchKey is the smallest of the searched values that starts with q: the user's place in a
// search listed in match order.
func (l *listed) matchKey(q string) string {
	key, found := "", false
	for _, col := range searchColumns {
		if v := l.key(col); hasPrefix(v, q) && (!found || v < key) {
			key, found = v, true
		}
	}
	return key
}

// listedDetails gives listed users their roles and groups, from the ids in their rows.
func (s *Store) listedDetails(ctx context.Context, rows []*listed) ([]*user.Detail, error) {
	if len(rows) == 0 {
		return []*user.Detail{}, nil
	}
	ids := make(map[string]grantIDs, len(rows))
	var version int64 // the newest the rows were read at: a page may take several queries
	var roleIDs, groupIDs []string
	for _, l := range rows {
		g := grantIDs{roleIDs: strings.Fields(l.roleIDs), groupIDs: strings.Fields(l.groupIDs)}
		ids[l.ID] = g
		version = max(version, l.catalogVersion)
		roleIDs = append(roleIDs, g.roleIDs...)
		groupIDs = append(groupIDs, g.groupIDs...)
	}
	cat, err := s.catalogAt(ctx, version, roleIDs, groupIDs)
	if err != nil {
		return nil, err
	}
	roles, groups := resolveGrants(ids, cat)
	out := make([]*user.Detail, len(rows))
	for i, l := range rows {
		out[i] = &user.Detail{User: l.User, Roles: roles[l.ID], Groups: groups[l.ID]}
	}
	return out, nil
}

// queryListed runs a query whose columns are listedColumns.
func (s *Store) queryListed(ctx context.Context, query string, args sqlArgs) ([]*listed, error) {
	rows, err := s.queryList(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	var out []*listed
	err = scanListed(rows, func(l *listed) { out = append(out, l) })
	return out, err
}

// scanListed reads rows of listedColumns, and closes them.
func scanListed(rows *sql.Rows, each func(*listed)) error {
	defer rows.Close()
	for rows.Next() {
		var l listed
		u, err := scanUser(scanExtra{rows, []any{&l.nameLower, &l.lastLower, &l.emailLower, &l.usernameLower, &l.roleIDs, &l.groupIDs, &l.catalogVersion}})
		if err != nil {
			return fmt.Errorf("store: list users: %w", err)
		}
		l.User = u
		each(&l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list users: %w", err)
	}
	return nil
}

// listByMatch lists a search in match order (see ListUsers). Each branch — the users whose
// column starts with q — is read as (column, id) keys in that order from the cursor, limit+1 at a
// time, from the branch's index alone. Merged, the first time an id appears is at its match key
// (its smallest matching value), and every key not yet read lies beyond the last key read from
// each unfinished branch: the keys up to the smallest of those are final. Only the page's users
// are then read whole. After the first page, a user whose match key lies before the cursor (shown
// already) can reappear in another branch; the whole row shows it, and it is skipped.
func (s *Store) listByMatch(ctx context.Context, scope pageScope, q string, where []string, args sqlArgs, c *cursor, limit int) ([]*listed, string, error) {
	type branch struct {
		keys  []cursor // read and not yet merged
		after *cursor  // the last key read, or the page's cursor
		done  bool
	}
	branches := make([]branch, len(searchColumns))
	for i := range branches {
		branches[i].after = c
	}
	read := func(which []int, n int) error {
		args := slices.Clone(args)
		// PostgreSQL refuses an argument no condition uses: add the lower bound when one does.
		var lo string
		hi := args.add(q + prefixEnd)
		var parts []string
		for _, b := range which {
			col := searchColumns[b]
			cond := fmt.Sprintf("%s < %s", col, hi)
			a := branches[b].after
			if a == nil || a.V < q {
				if lo == "" {
					lo = args.add(q)
				}
				cond += fmt.Sprintf(" AND %s >= %s", col, lo)
			}
			if a != nil {
				// Without the lower bound the row value starts the range: with both, SQLite
				// starts at the bound and skips every row up to the cursor.
				cond += " AND " + after(col, ">", args.add(a.V), args.add(a.ID))
			}
			parts = append(parts, fmt.Sprintf(`SELECT * FROM (SELECT %d AS branch, %s AS k, id FROM users WHERE %s%s ORDER BY %s LIMIT %s) AS b%d`,
				b, col, cond, and(where), orderKey(col), args.add(n), b))
		}
		rows, err := s.queryList(ctx, strings.Join(parts, " UNION ALL "), args)
		if err != nil {
			return fmt.Errorf("store: search: %w", err)
		}
		defer rows.Close()
		counts := make([]int, len(searchColumns))
		for rows.Next() {
			var b int
			var k cursor
			if err := rows.Scan(&b, &k.V, &k.ID); err != nil {
				return fmt.Errorf("store: search: %w", err)
			}
			counts[b]++
			branches[b].keys = append(branches[b].keys, k)
			branches[b].after = &k
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: search: %w", err)
		}
		for _, b := range which {
			branches[b].done = counts[b] < n
		}
		return nil
	}
	var page []*listed
	keys := map[string]string{} // id → match key, of every user placed or skipped
	var candidates []cursor
	if err := read([]int{0, 1, 2, 3, 4}, limit+1); err != nil {
		return nil, "", err
	}
	for n := limit + 1; ; n *= 2 {
		// bound: every key not yet read sorts after it.
		var bound *cursor
		next := -1
		for b, br := range branches {
			if !br.done && (bound == nil || compareCursor(*br.after, *bound) < 0) {
				bound, next = br.after, b
			}
		}
		for b := range branches {
			candidates = append(candidates, branches[b].keys...)
			branches[b].keys = nil
		}
		slices.SortFunc(candidates, compareCursor)
		var final []cursor
		for len(candidates) > 0 && (bound == nil || compareCursor(candidates[0], *bound) <= 0) {
			if k := candidates[0]; keys[k.ID] == "" {
				keys[k.ID] = k.V
				final = append(final, k)
			}
			candidates = candidates[1:]
		}
		if len(final) > 0 {
			ids := make([]string, len(final))
			for i, k := range final {
				ids[i] = k.ID
			}
			rows, err := s.usersByID(ctx, ids)
			if err != nil {
				return nil, "", err
			}
			for _, k := range final {
				r := rows[k.ID]
				if r == nil {
					continue // deleted since
				}
				if c != nil && r.matchKey(q) != k.V {
					continue // listed under a smaller key, before the cursor
				}
				page = append(page, r)
			}
		}
		if len(page) > limit || next < 0 {
			var nextCursor string
			if len(page) > limit {
				page = page[:limit]
				last := page[limit-1]
				nextCursor = scope.seal(cursor{V: keys[last.ID], ID: last.ID})
			}
			return page, nextCursor, nil
		}
		if err := read([]int{next}, n); err != nil {
			return nil, "", err
		}
	}
}

// usersByID reads users whole, with their list keys.
func (s *Store) usersByID(ctx context.Context, ids []string) (map[string]*listed, error) {
	padded := paddedIDs(ids)
	rows, err := s.query(ctx, `SELECT `+listedColumns+` FROM users WHERE id IN (`+
		placeholders(1, len(padded))+`)`, padded...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	out := make(map[string]*listed, len(ids))
	err = scanListed(rows, func(l *listed) { out[l.ID] = l })
	return out, err
}

// uniqueColumns hold no two equal values: ordering by one needs no id after it.
var uniqueColumns = map[string]bool{"email_lower": true, "username_lower": true}

// orderKey is the ORDER BY of an ascending read of col: PostgreSQL sorts each equal key by
// id again (an incremental sort) when the index has no id and no one told it the key is unique.
func orderKey(col string) string {
	if uniqueColumns[col] {
		return col
	}
	return col + ", id"
}

// after is the condition "(col, id) op (v, id)" of a cursor. On a unique column it also bounds
// the column alone, which PostgreSQL's index on that column can start its range at (a row
// comparison needs an index on both).
func after(col, op, v, id string) string {
	c := fmt.Sprintf("(%s, id) %s (%s, %s)", col, op, v, id)
	if uniqueColumns[col] {
		c = fmt.Sprintf("%s %s= %s AND %s", col, op, v, c)
	}
	return c
}

func compareCursor(a, b cursor) int {
	return cmp.Or(strings.Compare(a.V, b.V), strings.Compare(a.ID, b.ID))
}

// listSearchSorted lists a search in the order of a column: it finds the ids of the matches
// (at most MaxSortedMatches, each branch an index-only range read), then reads and sorts them.
func (s *Store) listSearchSorted(ctx context.Context, scope pageScope, q, sort string, where []string, args sqlArgs, c *cursor, limit int) ([]*listed, string, error) {
	desc := strings.HasPrefix(sort, "-")
	col := sortColumns[strings.TrimPrefix(sort, "-")]
	if col == "" {
		return nil, "", errs.Field("sort", "filter.sort_invalid", "Unknown sort order.")
	}
	var idArgs sqlArgs
	lo, hi := idArgs.add(q), idArgs.add(q+prefixEnd)
	var parts []string
	maxMatches := cmp.Or(s.maxSortedMatches, MaxSortedMatches)
	for b, col := range searchColumns {
		parts = append(parts, fmt.Sprintf("SELECT id FROM (SELECT id FROM users WHERE %s >= %s AND %s < %s LIMIT %d) AS b%d",
			col, lo, col, hi, maxMatches+1, b))
	}
	rows, err := s.queryList(ctx, strings.Join(parts, " UNION "), idArgs)
	if err != nil {
		return nil, "", fmt.Errorf("store: search: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("store: search: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: search: %w", err)
	}
	if len(ids) > maxMatches {
		return nil, "", errs.Field("q", "filter.search_too_broad", fmt.Sprintf(
			"The search matches more than %d users, too many to sort by %s. Type more of the text or add a filter, or leave out sort to list the matches in the order of the text that matched.",
			maxMatches, strings.TrimPrefix(sort, "-")))
	}
	if len(ids) == 0 {
		return nil, "", nil
	}
	padded := paddedIDs(ids)
	in := make([]string, len(padded))
	for i, id := range padded {
		in[i] = args.add(id)
	}
	where = append(where, "id IN ("+strings.Join(in, ", ")+")")
	found, err := s.queryListed(ctx, `SELECT `+listedColumns+` FROM users WHERE true`+and(where), args)
	if err != nil {
		return nil, "", err
	}
	compare := func(a, b *listed) int {
		var byCol int
		switch col {
		case "created_at":
			byCol = a.CreatedAt.Compare(b.CreatedAt)
		case "updated_at":
			byCol = a.UpdatedAt.Compare(b.UpdatedAt)
		default:
			byCol = strings.Compare(a.key(col), b.key(col))
		}
		if c := cmp.Or(byCol, strings.Compare(a.ID, b.ID)); desc {
			return -c
		} else {
			return c
		}
	}
	slices.SortFunc(found, compare)
	if c != nil {
		at := &listed{User: &user.User{ID: c.ID}, nameLower: c.V, emailLower: c.V, usernameLower: c.V}
		if strings.HasSuffix(col, "_at") {
			t, err := time.Parse(time.RFC3339Nano, c.V)
			if err != nil {
				return nil, "", invalidCursor()
			}
			at.CreatedAt, at.UpdatedAt = t, t
		}
		i, _ := slices.BinarySearchFunc(found, at, compare)
		if i < len(found) && found[i].ID == c.ID {
			i++
		}
		found = found[i:]
	}
	var next string
	if len(found) > limit {
		found = found[:limit]
		last := found[limit-1]
		next = scope.seal(cursor{V: last.key(col), ID: last.ID})
	}
	return found, next, nil
}

// textOK reports whether s is text PostgreSQL accepts: valid UTF-8 without NUL. Such input
// cannot match anything stored, and checking it here makes both databases answer the same.
func textOK(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

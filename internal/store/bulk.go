package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/usherhq/usher/internal/user"
)

// maxParams bounds the parameters of one multi-row INSERT on PostgreSQL, well under its limit
// of 65,535, so that a statement carries hundreds of rows (434 users, 5,000 role grants).
const maxParams = 10000

// userInsertColumns are the columns InsertUser writes, in the order userRow gives them.
var userInsertColumns = []string{"id", "username", "username_lower", "email", "email_lower",
	"first_name", "last_name", "name_lower", "last_lower", "phone", "department", "manager_id", "manager_name",
	"status", "source", "external_id", "default_admin", "password_hash", "created_at", "updated_at",
	"last_login_at", "activated_at", "version", "role_ids", "custom_values", "username_skeleton", "email_skeleton", "directory_id", "disabled_by_directory"}

// userRow is one user as InsertUser writes it, with the lower-case search keys, the direct
// roles roleIDs (as joinIDs gives them), the custom values and the look-alike keys.
func userRow(u *user.User, roleIDs string) []any {
	return []any{u.ID, u.Username, strings.ToLower(u.Username), u.Email, strings.ToLower(u.Email),
		u.FirstName, u.LastName, lowerName(u), strings.ToLower(u.LastName), u.Phone, u.Department,
		nullable(u.ManagerID), u.ManagerName, string(u.Status), string(u.Source), nullable(u.ExternalID),
		u.DefaultAdmin, u.PasswordHash, u.CreatedAt, u.UpdatedAt, timeOrNil(u.LastLoginAt),
		timeOrNil(u.ActivatedAt), u.Version, roleIDs, customJSON(u.Custom),
		nullable(user.Skeleton(u.Username)), nullable(user.Skeleton(u.Email)), nullable(u.DirectoryID), u.DisabledByDirectory}
}

// nullable is s, or NULL when empty; a plain nil also suits pgx's COPY encoder.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// Membership is one user in one group, for AddGroupMembersBulk.
type Membership struct {
	GroupID string
	UserID  string
}

// InsertUsers writes many new users at once, as InsertUser would write each, with their custom
// values, and grants each of them the direct roles roleIDs (the default role of an import).
// Alone it is one transaction: every user is written or none is. Called inside InTx it joins
// that transaction, and after an error the caller rolls back (InTx does when fn fails).
// PostgreSQL gets COPY in a transaction of its own, or multi-row INSERTs of hundreds of rows
// inside the caller's; SQLite a prepared statement run once a row (see insertEach). Give it
// thousands of users a call, not a million.
func (s *Store) InsertUsers(ctx context.Context, users []*user.User, roleIDs ...string) error {
	if len(users) == 0 {
		return nil
	}
	rows := bulkRows{users: users, roleIDs: roleIDs}
	if _, inTx := ctx.Value(txKey{}).(*sql.Tx); s.Dialect == Postgres && !inTx {
		return s.copyUsers(ctx, rows)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		w := s.writer(ctx)
		if err := s.insertMany(ctx, w, "users", userInsertColumns, len(users), func(i int) []any { return userRow(users[i], rows.roleList()) }, ""); err != nil {
			return fmt.Errorf("store: insert users: %w", mapError(err))
		}
		roles := rows.roles()
		if err := s.insertMany(ctx, w, "user_roles", []string{"user_id", "role_id"}, len(roles), func(i int) []any { return roles[i] }, ""); err != nil {
			return fmt.Errorf("store: grant roles: %w", mapError(err))
		}
		custom := rows.custom()
		if err := s.insertMany(ctx, w, "user_field_values", []string{"user_id", "field", "value"}, len(custom), func(i int) []any { return custom[i] }, ""); err != nil {
			return fmt.Errorf("store: custom values: %w", mapError(err))
		}
		return nil
	})
}

// bulkRows derives the role and custom value rows of a batch of users.
type bulkRows struct {
	users   []*user.User
	roleIDs []string
}

// roleList is the batch's roles as each user's role_ids holds them.
func (b bulkRows) roleList() string { return joinIDs(b.roleIDs) }

func (b bulkRows) roles() [][]any {
	out := make([][]any, 0, len(b.users)*len(b.roleIDs))
	for _, u := range b.users {
		for _, r := range b.roleIDs {
			out = append(out, []any{u.ID, r})
		}
	}
	return out
}

func (b bulkRows) custom() [][]any {
	var out [][]any
	for _, u := range b.users {
		names := make([]string, 0, len(u.Custom))
		for n := range u.Custom {
			names = append(names, n)
		}
		slices.Sort(names) // a stable order keeps runs of the same data identical
		for _, n := range names {
			out = append(out, []any{u.ID, n, u.Custom[n]})
		}
	}
	return out
}

// copyUsers writes a batch with PostgreSQL's COPY (rows streamed in binary, no statement to
// parse or plan) in one transaction on the pool: a million users in 41 s with two writers.
func (s *Store) copyUsers(ctx context.Context, b bulkRows) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, userInsertColumns,
		pgx.CopyFromSlice(len(b.users), func(i int) ([]any, error) { return userRow(b.users[i], b.roleList()), nil })); err != nil {
		return fmt.Errorf("store: insert users: %w", mapError(err))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"user_roles"}, []string{"user_id", "role_id"}, pgx.CopyFromRows(b.roles())); err != nil {
		return fmt.Errorf("store: grant roles: %w", mapError(err))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"user_field_values"}, []string{"user_id", "field", "value"}, pgx.CopyFromRows(b.custom())); err != nil {
		return fmt.Errorf("store: custom values: %w", mapError(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: commit: %w", mapError(err))
	}
	return nil
}

// AddGroupMembersBulk adds many memberships at once, in one transaction (or the caller's);
// existing memberships stay.
func (s *Store) AddGroupMembersBulk(ctx context.Context, members []Membership) error {
	if len(members) == 0 {
		return nil
	}
	groupIDs := make([]string, len(members))
	userIDs := make([]string, len(members))
	for i, m := range members {
		groupIDs[i], userIDs[i] = m.GroupID, m.UserID
	}
	slices.Sort(userIDs)
	userIDs = slices.Compact(userIDs)
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockParents(ctx, groupList, groupIDs); err != nil {
			return err
		}
		if err := s.lockUsers(ctx, userIDs); err != nil {
			return err
		}
		err := s.insertMany(ctx, s.writer(ctx), "group_members", []string{"group_id", "user_id"}, len(members),
			func(i int) []any { return []any{members[i].GroupID, members[i].UserID} }, " ON CONFLICT DO NOTHING")
		if err != nil {
			return fmt.Errorf("store: add members: %w", mapError(err))
		}
		return s.refreshList(ctx, groupList, userIDs)
	})
}

// insertMany writes n rows: on PostgreSQL with multi-row INSERT statements of as many rows as
// maxParams allows, on SQLite with insertEach.
func (s *Store) insertMany(ctx context.Context, w querier, table string, cols []string, n int, row func(i int) []any, suffix string) error {
	if s.Dialect == SQLite {
		return s.insertEach(ctx, w, table, cols, n, row, suffix)
	}
	per := max(1, maxParams/len(cols))
	var full string // the statement of a full chunk, built once
	args := make([]any, 0, min(n, per)*len(cols))
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		q := full
		if end-start < per || q == "" {
			q = insertStatement(s.Dialect, table, cols, end-start, suffix)
			if end-start == per {
				full = q
			}
		}
		if _, err := w.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// insertEach writes n rows on SQLite with one prepared single-row INSERT. SQLite keeps a
// statement journal (an undo copy of every page a statement touches) for a multi-row INSERT
// inside a transaction, in case a later row breaks a constraint; a single-row INSERT needs
// none. Measured on a million users with modernc.org/sqlite, multi-row statements spent a third
// of the load copying pages into that journal (and the system time doubled): one prepared
// statement per table, executed per row in the same one transaction, loads 1.5× as fast.
func (s *Store) insertEach(ctx context.Context, w querier, table string, cols []string, n int, row func(i int) []any, suffix string) error {
	if n == 0 {
		return nil
	}
	p, ok := w.(interface {
		PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	})
	if !ok {
		return fmt.Errorf("store: %T cannot prepare statements", w)
	}
	stmt, err := p.PrepareContext(ctx, insertStatement(s.Dialect, table, cols, 1, suffix))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			return err
		}
	}
	return nil
}

// insertStatement is "INSERT INTO table (cols) VALUES ($1, …), (…)" for rows rows. SQLite gets
// anonymous "?" parameters: it treats "$N" as a name, looked up in a list when the statement is
// prepared (quadratic for a statement of thousands) and fetched as a string at every bind.
func insertStatement(d Dialect, table string, cols []string, rows int, suffix string) string {
	var b strings.Builder
	b.Grow(len(table) + 32 + rows*len(cols)*8)
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if d == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			}
			p++
		}
		b.WriteByte(')')
	}
	b.WriteString(suffix)
	return b.String()
}

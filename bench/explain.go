package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/store"
)

// listColumns and the query shapes below copy what store.ListUsers builds (internal/store/list_users.go)
// so that its plans can be read: keep them in step when that query changes. A search in match order
// reads five branches, "col >= $1 AND col < $2 ORDER BY col, id LIMIT 51" for each searched column
// (in one UNION ALL); the cases below show each branch alone.
const listColumns = `id, username, email, first_name, last_name, phone, department, manager_id, manager_name,
	status, source, external_id, default_admin, password_hash, created_at, updated_at, last_login_at,
	activated_at, version`

// branch is the condition of one search branch, with the prefix bounds at $1 and $2.
func branch(col string) string { return col + " >= $1 AND " + col + " < $2" }

type explainCase struct {
	name  string
	where string // with $1.. for args
	order string // the sort column; "-" in front for descending
	args  func(c cursorAt) []any
}

// cursorAt gives the arguments of a deep page: args, then the key of the row at offset in the
// order of the filter where (the row a page of 50 starts after), read from the database.
type cursorAt func(order, where string, offset int, args ...any) []any

// runExplain prints the plan and the time of each ListUsers query shape of the P-SEARCH mix,
// with EXPLAIN QUERY PLAN on SQLite and EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.
func runExplain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	only := fs.String("only", "", "run only the cases whose name contains this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	q := st.DB()
	const pfxEnd = "\U0010FFFF"
	p := func(s string) []any { return []any{s, s + pfxEnd} }
	at := func(order, where string, offset int, args ...any) []any {
		col, dir := sortColumns(strings.TrimPrefix(order, "-")), "ASC"
		if strings.HasPrefix(order, "-") {
			dir = "DESC"
		}
		query := "SELECT " + col + ", id FROM users"
		if where != "" {
			query += " WHERE " + where
		}
		query += fmt.Sprintf(" ORDER BY %s %s, id %s LIMIT 1 OFFSET %d", col, dir, dir, offset)
		var v any
		var id string
		if err := q.QueryRowContext(ctx, query, args...).Scan(&v, &id); err != nil {
			panic(fmt.Sprintf("cursor for %s: %v", query, err))
		}
		if s, ok := v.(string); ok && strings.HasSuffix(col, "_at") {
			t, err := time.Parse("2006-01-02 15:04:05.999999999-07:00", s)
			if err == nil {
				v = t
			}
		}
		return append(append([]any{}, args...), v, id)
	}
	cases := []explainCase{
		{"list", "", "name", nil},
		{"status locked", "status = $1", "name", func(cursorAt) []any { return []any{"locked"} }},
		{"search 'ma' (common): name branch", branch("name_lower"), "name", func(cursorAt) []any { return p("ma") }},
		{"search 'ma': last name branch", branch("last_lower"), "last", func(cursorAt) []any { return p("ma") }},
		{"search 'ma': email branch", branch("email_lower"), "email", func(cursorAt) []any { return p("ma") }},
		{"search 'ma': username branch", branch("username_lower"), "username", func(cursorAt) []any { return p("ma") }},
		{"search 'ma': phone branch", branch("phone"), "phone", func(cursorAt) []any { return p("ma") }},
		{"search 'zs' (rare): last name branch", branch("last_lower"), "last", func(cursorAt) []any { return p("zs") }},
		{"search 'maria.g': email branch", branch("email_lower"), "email", func(cursorAt) []any { return p("maria.g") }},
		{"search 'ma', status locked: email branch", branch("email_lower") + " AND status = $3", "email", func(cursorAt) []any {
			return append(p("ma"), "locked")
		}},
		{"sort -created_at", "", "-created_at", nil},
		{"deep name", "(name_lower, id) > ($1, $2)", "name", func(c cursorAt) []any { return c("name", "", 1200) }},
		{"deep -created_at", "(created_at, id) < ($1, $2)", "-created_at", func(c cursorAt) []any { return c("-created_at", "", 1200) }},
		{"deep email", "(email_lower, id) > ($1, $2)", "email", func(c cursorAt) []any { return c("email", "", 1200) }},
		{"deep status active, name", "status = $1 AND (name_lower, id) > ($2, $3)", "name", func(c cursorAt) []any {
			return c("name", "status = $1", 1200, "active")
		}},
		{"deep search 'ma': email branch", "(email_lower, id) > ($2, $3) AND email_lower < $1", "email", func(c cursorAt) []any {
			return c("email", branch("email_lower"), 1200, p("ma")...)[1:] // the cursor replaces the lower bound
		}},
		{"deep search 'ma': last name branch", "(last_lower, id) > ($2, $3) AND last_lower < $1", "last", func(c cursorAt) []any {
			return c("last", branch("last_lower"), 1200, p("ma")...)[1:] // the cursor replaces the lower bound
		}},
		{"status active, sort -created_at", "status = $1", "-created_at", func(cursorAt) []any { return []any{"active"} }},
		{"status locked, sort -created_at", "status = $1", "-created_at", func(cursorAt) []any { return []any{"locked"} }},
	}
	for _, c := range cases {
		if *only != "" && !strings.Contains(c.name, *only) {
			continue
		}
		col := sortColumns(strings.TrimPrefix(c.order, "-"))
		dir := "ASC"
		if strings.HasPrefix(c.order, "-") {
			dir = "DESC"
		}
		query := "SELECT " + listColumns + ", " + col + " FROM users"
		where := c.where
		var args []any
		if c.args != nil {
			args = c.args(at)
		}
		if where != "" {
			query += " WHERE " + where
		}
		query += fmt.Sprintf(" ORDER BY %s %s, id %s LIMIT 51", col, dir, dir)
		if err := explainOne(ctx, st, q, c.name, query, args); err != nil {
			return err
		}
	}
	return nil
}

func sortColumns(name string) string {
	return map[string]string{"name": "name_lower", "username": "username_lower", "email": "email_lower",
		"created_at": "created_at", "updated_at": "updated_at", "last": "last_lower", "phone": "phone"}[name]
}

func explainOne(ctx context.Context, st *store.Store, db *sql.DB, name, query string, args []any) error {
	fmt.Printf("### %s\n\n```sql\n%s\n```\nargs: %q\n\n", name, query, args)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if st.Dialect == store.SQLite {
		if err := printPlan(ctx, conn, "EXPLAIN QUERY PLAN "+query, args, st.Dialect); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	} else {
		// The plan of the first executions (custom, for these values), then the generic plan that
		// PostgreSQL may switch to after five executions of the same prepared statement, which is
		// what pgx's statement cache makes of every ListUsers query.
		fmt.Println("custom plan:")
		if err := printPlan(ctx, conn, "EXPLAIN (ANALYZE, BUFFERS) "+query, args, st.Dialect); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// EXPLAIN of a query with parameters always plans it for their values: the generic plan
		// needs a prepared statement.
		types := make([]string, len(args))
		params := make([]string, len(args)) // EXECUTE takes no bind parameters: literals
		for i, a := range args {
			types[i], params[i] = "text", "'"+strings.ReplaceAll(fmt.Sprint(a), "'", "''")+"'"
			if t, ok := a.(time.Time); ok {
				types[i], params[i] = "timestamptz", "'"+t.Format(time.RFC3339Nano)+"'"
			}
		}
		sig, call := "", ""
		if len(args) > 0 {
			sig, call = "("+strings.Join(types, ", ")+")", "("+strings.Join(params, ", ")+")"
		}
		if _, err := conn.ExecContext(ctx, "PREPARE bench_q"+sig+" AS "+query); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
			return err
		}
		fmt.Println("generic plan:")
		err := printPlan(ctx, conn, "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q"+call, nil, st.Dialect)
		if _, rerr := conn.ExecContext(ctx, "RESET plan_cache_mode"); err == nil {
			err = rerr
		}
		if _, derr := conn.ExecContext(ctx, "DEALLOCATE bench_q"); err == nil {
			err = derr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	// The time of the query itself on this connection (warm: the best of three).
	best := time.Duration(1 << 62)
	n := 0
	for range 3 {
		start := time.Now()
		rows, err := conn.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n = 0
		for rows.Next() {
			n++
		}
		rows.Close()
		best = min(best, time.Since(start))
	}
	fmt.Printf("%d rows in %s (best of 3)\n\n", n, ms(best))
	return nil
}

func printPlan(ctx context.Context, conn *sql.Conn, query string, args []any, d store.Dialect) error {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	fmt.Println("```")
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if d == store.Postgres {
			fmt.Println(vals[0])
		} else {
			fmt.Printf("%v %v %v\n", vals[0], vals[1], vals[3]) // id, parent, detail
		}
	}
	fmt.Println("```")
	return rows.Err()
}

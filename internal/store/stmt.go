package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the hot, fixed statements prepared, so that SQLite parses each one once per
// connection rather than on every call: neither database/sql nor the SQLite driver caches
// statements on its own, and parsing was close to a third of the CPU of a user lookup.
// PostgreSQL does without it: pgx already prepares each statement once per connection.
//
// A *sql.Stmt of a pool is prepared again, by database/sql, on each connection it runs on, and
// kept there. A transaction can only borrow a statement of its own pool (the writer), and the
// writer's one connection is busy for as long as the transaction lasts, so a statement first
// needed inside a transaction runs unprepared there, and is prepared on the writer before the
// next transaction begins.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[stmtKey]*sql.Stmt
	wanted map[string]bool // statements a transaction ran unprepared, to prepare on the writer
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// stmt returns the statement prepared for query where ctx's reads go, or nil where it runs
// unprepared: on PostgreSQL, when preparing fails (the error then comes from running it), and
// the first time a transaction needs it.
func (s *Store) stmt(ctx context.Context, query string) *sql.Stmt {
	if s.Dialect != SQLite {
		return nil
	}
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		st := s.stmts.cached(s.write, query)
		if st == nil {
			s.stmts.want(query)
			return nil
		}
		return tx.StmtContext(ctx, st)
	}
	st, err := s.stmts.prepare(ctx, s.read, query)
	if err != nil {
		return nil
	}
	return st
}

// query runs a hot, fixed query with stmt's prepared statement, or unprepared where there is none.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.reader(ctx).QueryContext(ctx, query, args...)
}

// queryRow is query for a single row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.reader(ctx).QueryRowContext(ctx, query, args...)
}

func (c *stmtCache) cached(db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[stmtKey{db, query}]
}

func (c *stmtCache) want(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wanted == nil {
		c.wanted = map[string]bool{}
	}
	c.wanted[query] = true
}

// prepare returns query's statement on db, preparing it the first time. The lock is not held
// while preparing, which may wait for a connection; of two racing preparations one is kept.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st := c.cached(db, query); st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := stmtKey{db, query}
	if old := c.stmts[key]; old != nil {
		st.Close()
		return old, nil
	}
	if c.stmts == nil {
		c.stmts = map[stmtKey]*sql.Stmt{}
	}
	c.stmts[key] = st
	return st, nil
}

// prepareWanted prepares on db the statements transactions asked for. InTx calls it before it
// begins, when the writer's connection is not held by this goroutine.
func (c *stmtCache) prepareWanted(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	var queries []string
	for q := range c.wanted {
		queries = append(queries, q)
	}
	c.wanted = nil
	c.mu.Unlock()
	for _, q := range queries {
		// A statement that fails to prepare runs unprepared and says why there.
		c.prepare(ctx, db, q)
	}
}

// close closes every statement.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for k, st := range c.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.stmts, k)
	}
	return first
}

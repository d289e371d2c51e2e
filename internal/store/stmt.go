package store

import (
	"context"
	"database/sql"
	"strings"
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
		return s.txStmt(ctx, tx, query)
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

// maxStmts bounds the statements kept prepared: statements whose text varies (lists of ids of
// every length) would otherwise make a new one each.
const maxStmts = 1000

func (c *stmtCache) want(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stmts)+len(c.wanted) >= maxStmts {
		return
	}
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

// txStmtsKey carries, in a SQLite transaction's context, the statements it has borrowed from
// the writer's prepared ones (a *borrowed), so that a statement run a thousand times in one
// transaction (an import's batch) is borrowed once.
type txStmtsKey struct{}

type borrowed struct {
	mu    sync.Mutex // a transaction's context may be shared by goroutines
	stmts map[string]*sql.Stmt
}

// maxTxParams is the most parameters a statement kept prepared for transactions may have: a
// statement with a list of every length (IN ($1, …, $n)) would otherwise be kept once per
// length, each a few hundred KiB of SQLite's memory.
const maxTxParams = 32

// txStmt is query's prepared statement within tx, or nil where it runs unprepared: the first
// time any transaction needs it (it is then prepared before the next one begins), and for a
// statement of many parameters.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	b, _ := ctx.Value(txStmtsKey{}).(*borrowed)
	if b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if st := b.stmts[query]; st != nil {
			return st
		}
	}
	st := s.stmts.cached(s.write, query)
	if st == nil {
		if strings.Count(query, "$")+strings.Count(query, "?") <= maxTxParams {
			s.stmts.want(query)
		}
		return nil
	}
	// Borrowed for the whole transaction, whatever becomes of this call's context: a
	// statement borrowed with an ended one fails on every later use.
	st = tx.StmtContext(context.WithoutCancel(ctx), st)
	if b != nil {
		b.stmts[query] = st
	}
	return st
}

// preparedTx is a SQLite transaction that runs each statement through txStmt: prepared once,
// not parsed on every call. Writes inside transactions go through it (Store.writer).
type preparedTx struct {
	s  *Store
	tx *sql.Tx
}

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.s.txStmt(ctx, p.tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.s.txStmt(ctx, p.tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

// PrepareContext prepares a statement in the transaction, for a caller that runs it many times.
func (p preparedTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.tx.PrepareContext(ctx, query)
}

func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.s.txStmt(ctx, p.tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}

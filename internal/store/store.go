// Package store holds all of usher's SQL, for SQLite and PostgreSQL. It implements the
// persistence interfaces that the domain packages declare. Methods called with a context from
// InTx run inside that transaction; others read from the reader pool and write through the writer.
package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/usherhq/usher/internal/errs"
)

// Dialect names the database usher runs on.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is usher's database: SQLite (one writer connection beside a reader pool) or PostgreSQL
// (one pool for both).
type Store struct {
	Dialect Dialect
	write   *sql.DB       // SQLite: exactly one connection, so writes queue instead of failing busy
	read    *sql.DB       // SQLite: read-only pool; PostgreSQL: the same as write
	pool    *pgxpool.Pool // PostgreSQL only
	lock    *os.File      // SQLite only: the data directory lock
	now     func() time.Time
	stmts   stmtCache     // SQLite only: the hot statements, prepared
	catalog catalogCache  // the roles and groups that lists name
	lists   chan struct{} // the slots of list pages running at once: see ListUsers
	// cursorAEAD seals page cursors: see SetCursorKey.
	cursorAEAD cipher.AEAD

	maxSortedMatches int // MaxSortedMatches when 0; lowered by tests
}

// Options says which database to open.
type Options struct {
	DatabaseURL string // postgres://…; empty for SQLite
	DataDir     string // where the SQLite file and its lock live
	MaxReaders  int    // SQLite reader pool size; 0 for the default
}

// Open connects to the database. With SQLite it takes the data directory's lock first, so that
// a second process on the same directory fails at once with a clear message.
func Open(ctx context.Context, o Options) (*Store, error) {
	var s *Store
	var err error
	if o.DatabaseURL != "" {
		s, err = openPostgres(ctx, o.DatabaseURL)
	} else {
		s, err = openSQLite(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	s.SetCursorKey(newCursorKey()) // until usher sets the one from its secret key
	return s, nil
}

func openSQLite(ctx context.Context, o Options) (*Store, error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	lockPath := filepath.Join(o.DataDir, "usher.lock")
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, errs.E(errs.Unavailable, "store.locked", fmt.Sprintf(
			"Another usher process is already using the data directory %s. Only one process may use an SQLite database; stop the other one, or use PostgreSQL (--database-url) to run several.", o.DataDir))
	}
	path := filepath.Join(o.DataDir, "usher.db")
	// busy_timeout must come before journal_mode; _txlock=immediate takes the write lock at BEGIN
	// so read-then-write transactions queue rather than fail with SQLITE_BUSY. mmap_size lets every
	// connection read pages straight from the operating system's cache instead of copying each
	// into its own: at a million users it more than doubles the lists served per second.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
		"&_pragma=mmap_size(4294967296)&_pragma=journal_size_limit(200000000)&_pragma=wal_autocheckpoint(16384)&_time_format=sqlite&_txlock=immediate"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn+"&mode=ro&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		lock.Close()
		return nil, fmt.Errorf("store: open sqlite readers: %w", err)
	}
	n := o.MaxReaders
	if n <= 0 {
		// Two queries a core: more only queue inside SQLite and its allocator's locks, and
		// stretch the slowest lists (measured at 16: p99 138 ms; at 4: 76 ms).
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	s := &Store{Dialect: SQLite, write: write, read: read, lock: lock, now: utcNow, lists: make(chan struct{}, n)}
	if err := write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dbURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, errs.E(errs.Invalid, "config.database_url", "The database URL is not valid: "+err.Error())
	}
	if !strings.Contains(dbURL, "pool_max_conns") {
		// pgx's default (4 here) is too few beside River's listener. More than about five a core
		// only makes PostgreSQL's backends contend: measured at 64 clients on 2 cores, 10
		// connections served 5,870-6,361 lookups a second and 20 served 3,596-3,945.
		// pool_max_conns in the URL wins.
		cfg.MaxConns = 10
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, errs.E(errs.Unavailable, "store.unreachable", fmt.Sprintf(
			"Cannot reach PostgreSQL at %s:%d: %v", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err))
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql keeps 2 idle connections by default and would keep closing and reopening the
	// rest onto the pool; more idle than the pool holds would wait on each other.
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	// Lists run two a core (at least four, at most the pool), as SQLite's readers: at 16 workers
	// on 2 cores, 10 at once served as many pages as 4 but with p99 20-30 ms instead of 15 ms.
	slots := min(int(cfg.MaxConns), max(4, 2*runtime.GOMAXPROCS(0)))
	return &Store{Dialect: Postgres, write: db, read: db, pool: pool, now: utcNow, lists: make(chan struct{}, slots)}, nil
}

func utcNow() time.Time { return time.Now().UTC() }

// Close releases the connections and, for SQLite, the data directory lock.
func (s *Store) Close() error {
	errList := []error{s.stmts.close()}
	if s.read != nil && s.read != s.write {
		errList = append(errList, s.read.Close())
	}
	if s.write != nil {
		errList = append(errList, s.write.Close())
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.lock != nil {
		errList = append(errList, s.lock.Close())
	}
	return errors.Join(errList...)
}

// DB is the writer: for River on SQLite it must be the one connection everything writes through.
func (s *Store) DB() *sql.DB { return s.write }

// Pool is the PostgreSQL pool, nil on SQLite.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error { return s.read.PingContext(ctx) }

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type txKey struct{}

// InTx runs fn in one transaction, committed when fn returns nil. A nested call joins the
// outer transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(ctx)
	}
	if s.Dialect == SQLite {
		s.stmts.prepareWanted(ctx, s.write)
	}
	tx, txCtx, release, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer release()
	if err := fn(txCtx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapError(err))
	}
	return nil
}

// reader is where reads go: the transaction in ctx, or the reader pool.
func (s *Store) reader(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return s.inTx(tx)
	}
	return s.read
}

// writer is where writes go: the transaction in ctx, or the writer.
func (s *Store) writer(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return s.inTx(tx)
	}
	return s.write
}

// inTx is how statements run in a transaction: on SQLite through the prepared ones.
func (s *Store) inTx(tx *sql.Tx) querier {
	if s.Dialect == SQLite {
		return preparedTx{s: s, tx: tx}
	}
	return tx
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

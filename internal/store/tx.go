package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// TxFrom returns the transaction that InTx carries in ctx, for code outside the store that must
// write in it (River's SQLite driver inserts jobs through it).
func TxFrom(ctx context.Context) (*sql.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(*sql.Tx)
	return tx, ok
}

// connKey carries, on PostgreSQL, the connection InTx's transaction runs on.
type connKey struct{}

// begin starts InTx's transaction and returns the context that carries it, and a release func
// to call once the transaction is over, which rolls back a transaction that a panic left open.
// On PostgreSQL the transaction runs on a connection held for its whole life, so that PgxTx can
// reach the same transaction through pgx.
func (s *Store) begin(ctx context.Context) (*sql.Tx, context.Context, func(), error) {
	if s.Dialect != Postgres {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		// Rolling back is a no-op after Commit; after a panic in fn it frees the one writer.
		ctx = context.WithValue(context.WithValue(ctx, txKey{}, tx), txStmtsKey{}, &borrowed{stmts: map[string]*sql.Stmt{}})
		return tx, ctx, func() { tx.Rollback() }, nil
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	ctx = context.WithValue(context.WithValue(ctx, txKey{}, tx), connKey{}, conn)
	// Rollback first (a no-op after Commit): closing a Conn waits for its transaction to end.
	return tx, ctx, func() { tx.Rollback(); conn.Close() }, nil
}

// PgxTx calls fn with the PostgreSQL transaction that InTx carries in ctx, seen through pgx,
// for libraries that need a pgx.Tx (River's riverpgxv5 driver). What fn does commits or rolls
// back with that transaction. fn must not use the *sql.Tx meanwhile, nor keep tx after it
// returns; tx.Commit and tx.Rollback fail (the transaction belongs to InTx), while tx.Begin
// makes a savepoint as usual.
func PgxTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	conn, ok := ctx.Value(connKey{}).(*sql.Conn)
	if !ok {
		return errors.New("store: PgxTx needs a PostgreSQL transaction from InTx in the context")
	}
	var ferr error
	err := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: PgxTx: unexpected driver connection %T", dc)
		}
		ferr = fn(&pgxTx{conn: sc.Conn()})
		return nil // fn's error is not the connection's: database/sql would discard it on ErrBadConn
	})
	if err != nil {
		return err
	}
	return ferr
}

var errTxOwned = errors.New("store: this transaction belongs to store.InTx, which commits or rolls it back")

// pgxTx is a pgx.Tx over a connection whose transaction database/sql began. Depth 0 is that
// transaction; Begin nests savepoints, as pgx does.
type pgxTx struct {
	conn  *pgx.Conn
	depth int
	done  bool
}

var _ pgx.Tx = (*pgxTx)(nil)

func (t *pgxTx) savepoint() string { return fmt.Sprintf("usher_sp_%d", t.depth) }

func (t *pgxTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if t.done {
		return nil, pgx.ErrTxClosed
	}
	sp := &pgxTx{conn: t.conn, depth: t.depth + 1}
	if _, err := t.conn.Exec(ctx, "SAVEPOINT "+sp.savepoint()); err != nil {
		return nil, err
	}
	return sp, nil
}

func (t *pgxTx) Commit(ctx context.Context) error {
	return t.end(ctx, "RELEASE SAVEPOINT ")
}

func (t *pgxTx) Rollback(ctx context.Context) error {
	return t.end(ctx, "ROLLBACK TO SAVEPOINT ")
}

func (t *pgxTx) end(ctx context.Context, stmt string) error {
	if t.depth == 0 {
		return errTxOwned
	}
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	_, err := t.conn.Exec(ctx, stmt+t.savepoint())
	return err
}

func (t *pgxTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, columns, src)
}

func (t *pgxTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

// LargeObjects is not supported: pgx offers no way to build it over a foreign transaction.
func (t *pgxTx) LargeObjects() pgx.LargeObjects {
	panic("store: large objects are not supported through PgxTx")
}

func (t *pgxTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t *pgxTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t *pgxTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t *pgxTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *pgxTx) Conn() *pgx.Conn { return t.conn }

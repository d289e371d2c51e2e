package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

func auditRows(t *testing.T, s *store.Store, action string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_events WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const insertAudit = `INSERT INTO audit_events (time, actor_id, actor_name, action, target_type, target_id, target_name,
	outcome, details, request_id, client_ip) VALUES (now(), '', '', $1, '', '', '', 'success', '{}', '', '')`

// TestPgxTx: what runs through PgxTx is part of InTx's transaction, savepoints nest, and the
// transaction itself cannot be ended from pgx.
func TestPgxTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		if err := store.PgxTx(ctx, func(pgx.Tx) error { return nil }); err == nil {
			t.Fatal("PgxTx without a transaction succeeded")
		}
		if s.Dialect == store.SQLite {
			err := s.InTx(ctx, func(ctx context.Context) error {
				if _, ok := store.TxFrom(ctx); !ok {
					t.Error("TxFrom found no transaction inside InTx")
				}
				return store.PgxTx(ctx, func(pgx.Tx) error { return nil })
			})
			if err == nil {
				t.Fatal("PgxTx on SQLite succeeded")
			}
			return
		}
		boom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context) error {
			return store.PgxTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, insertAudit, "pgx.rolled_back"); err != nil {
					return err
				}
				return boom
			})
		})
		if !errors.Is(err, boom) || auditRows(t, s, "pgx.rolled_back") != 0 {
			t.Fatalf("rolled back: %v, %d rows", err, auditRows(t, s, "pgx.rolled_back"))
		}
		err = s.InTx(ctx, func(ctx context.Context) error {
			if _, err := s.DB().ExecContext(ctx, `SELECT 1`); err != nil { // the pool still serves others meanwhile
				return err
			}
			tx, _ := store.TxFrom(ctx)
			if _, err := tx.ExecContext(ctx, insertAudit, "sql.before"); err != nil {
				return err
			}
			err := store.PgxTx(ctx, func(tx pgx.Tx) error {
				// sees what database/sql wrote in the same transaction
				var n int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'sql.before'`).Scan(&n); err != nil || n != 1 {
					t.Errorf("pgx sees %d rows of the transaction, %v; want 1", n, err)
				}
				if _, err := tx.Exec(ctx, insertAudit, "pgx.kept"); err != nil {
					return err
				}
				sp, err := tx.Begin(ctx)
				if err != nil {
					return err
				}
				if _, err := sp.Exec(ctx, insertAudit, "pgx.savepoint_undone"); err != nil {
					return err
				}
				if err := sp.Rollback(ctx); err != nil {
					return err
				}
				if err := sp.Rollback(ctx); !errors.Is(err, pgx.ErrTxClosed) {
					t.Errorf("second rollback of a savepoint: %v", err)
				}
				sp, err = tx.Begin(ctx)
				if err != nil {
					return err
				}
				if _, err := sp.Exec(ctx, insertAudit, "pgx.savepoint_kept"); err != nil {
					return err
				}
				if err := sp.Commit(ctx); err != nil {
					return err
				}
				if err := tx.Commit(ctx); err == nil {
					t.Error("PgxTx let pgx commit InTx's transaction")
				}
				if err := tx.Rollback(ctx); err == nil {
					t.Error("PgxTx let pgx roll InTx's transaction back")
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, insertAudit, "sql.after")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for action, want := range map[string]int{"sql.before": 1, "pgx.kept": 1, "pgx.savepoint_undone": 0, "pgx.savepoint_kept": 1, "sql.after": 1} {
			if n := auditRows(t, s, action); n != want {
				t.Errorf("%s: %d rows, want %d", action, n, want)
			}
		}
	})
}

// TestInTxReleasesConnection: many transactions in a row, committed, failed and panicking,
// leave the pool usable (on PostgreSQL each holds a connection of its own).
func TestInTxReleasesConnection(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		for i := range 50 {
			func() {
				defer func() { recover() }()
				s.InTx(ctx, func(ctx context.Context) error {
					switch i % 3 {
					case 0:
						return nil
					case 1:
						return errors.New("fail")
					}
					panic("in a transaction")
				})
			}()
		}
		if err := s.InTx(ctx, func(ctx context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

var _ imports.Store = (*Store)(nil)

// Savepoint runs fn inside the transaction in ctx as one step that is undone alone when fn
// fails: an import's row.
func (s *Store) Savepoint(ctx context.Context, fn func(ctx context.Context) error) error {
	tx, ok := TxFrom(ctx)
	if !ok {
		return errors.New("store: Savepoint needs a transaction from InTx")
	}
	if _, err := s.inTx(tx).ExecContext(ctx, `SAVEPOINT usher_step`); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(ctx); err != nil {
		// Undone even when ctx has ended, so that the transaction is left as it was.
		uctx := context.WithoutCancel(ctx)
		if _, rerr := s.inTx(tx).ExecContext(uctx, `ROLLBACK TO SAVEPOINT usher_step`); rerr != nil {
			return errors.Join(err, fmt.Errorf("store: roll back to savepoint: %w", rerr))
		}
		if _, rerr := s.inTx(tx).ExecContext(uctx, `RELEASE SAVEPOINT usher_step`); rerr != nil {
			return errors.Join(err, fmt.Errorf("store: release savepoint: %w", rerr))
		}
		return err
	}
	if _, err := s.inTx(tx).ExecContext(ctx, `RELEASE SAVEPOINT usher_step`); err != nil {
		return fmt.Errorf("store: release savepoint: %w", mapError(err))
	}
	return nil
}

const importColumns = `id, file_name, format, header, columns, unknown, invitations, invite, status,
	rows_total, rows_done, plan_create, plan_update, plan_delete, plan_skip, plan_error,
	done_create, done_update, done_delete, done_skip, done_error,
	actor_id, actor_name, actor_perms, client_ip, created_at, started_at, finished_at, cancel_asked_at,
	cancelled_by, error`

// InsertImport adds a staged import.
func (s *Store) InsertImport(ctx context.Context, imp *imports.Import) error {
	header, _ := json.Marshal(cleanAll(imp.Header))
	columns, _ := json.Marshal(imp.Columns)
	unknown, _ := json.Marshal(cleanAll(imp.Unknown))
	perms, _ := json.Marshal(imp.ActorPermissions)
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO imports (id, file_name, format, header, columns, unknown,
		invitations, invite, status, actor_id, actor_name, actor_perms, client_ip, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		imp.ID, clean(imp.FileName), string(imp.Format), string(header), string(columns), string(unknown),
		imp.Invitations, imp.Invite, string(imp.Status), nullString(imp.ActorID), imp.ActorName, string(perms),
		imp.ClientIP, imp.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: insert import: %w", mapError(err))
	}
	return nil
}

// clean is text as the database takes it: PostgreSQL refuses NUL and invalid UTF-8.
func clean(v string) string {
	if textOK(v) {
		return v
	}
	return strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "")
}

func cleanAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = clean(v)
	}
	return out
}

// InsertImportRows adds staged rows, many to a statement, and their plans to the import's counts.
func (s *Store) InsertImportRows(ctx context.Context, importID string, rows []imports.Row) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		var c imports.Counts
		cells := make([]string, len(rows))
		for i, r := range rows {
			b, err := json.Marshal(r.Cells)
			if err != nil {
				return err
			}
			cells[i] = string(b)
			c.Add(r.Plan)
		}
		cols := []string{"import_id", "row_no", "cells", "plan", "field", "value", "reason"}
		err := s.insertMany(ctx, s.writer(ctx), "import_rows", cols, len(rows), func(i int) []any {
			r := rows[i]
			// The user a planned row would have made was rolled back: it is not kept.
			return []any{importID, r.No, cells[i], string(r.Plan), clean(r.Field), clean(r.Value), clean(r.Reason)}
		}, "")
		if err != nil {
			return fmt.Errorf("store: insert import rows: %w", mapError(err))
		}
		_, err = s.writer(ctx).ExecContext(ctx, `UPDATE imports SET rows_total = rows_total + $2,
			plan_create = plan_create + $3, plan_update = plan_update + $4, plan_delete = plan_delete + $5,
			plan_skip = plan_skip + $6, plan_error = plan_error + $7 WHERE id = $1`,
			importID, c.Sum(), c.Create, c.Update, c.Delete, c.Skip, c.Error)
		if err != nil {
			return fmt.Errorf("store: count import rows: %w", err)
		}
		return nil
	})
}

// DeleteImport forgets an import and its rows.
func (s *Store) DeleteImport(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM import_rows WHERE import_id = $1`, id); err != nil {
			return fmt.Errorf("store: delete import rows: %w", err)
		}
		if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM imports WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete import: %w", err)
		}
		return nil
	})
}

func scanImport(row interface{ Scan(...any) error }) (*imports.Import, error) {
	var imp imports.Import
	var format, status, header, columns, unknown, perms string
	var actor sql.NullString
	var started, finished, cancel sql.Null[time.Time]
	err := row.Scan(&imp.ID, &imp.FileName, &format, &header, &columns, &unknown, &imp.Invitations, &imp.Invite, &status,
		&imp.Rows, &imp.Done, &imp.Plan.Create, &imp.Plan.Update, &imp.Plan.Delete, &imp.Plan.Skip, &imp.Plan.Error,
		&imp.Result.Create, &imp.Result.Update, &imp.Result.Delete, &imp.Result.Skip, &imp.Result.Error,
		&actor, &imp.ActorName, &perms, &imp.ClientIP, &imp.CreatedAt, &started, &finished, &cancel,
		&imp.CancelledBy, &imp.Error)
	if err != nil {
		return nil, err
	}
	imp.Format, imp.Status, imp.ActorID = sheet.Format(format), imports.Status(status), actor.String
	imp.CreatedAt = imp.CreatedAt.UTC()
	for _, j := range []struct {
		src string
		dst any
	}{{header, &imp.Header}, {columns, &imp.Columns}, {unknown, &imp.Unknown}, {perms, &imp.ActorPermissions}} {
		if err := json.Unmarshal([]byte(j.src), j.dst); err != nil {
			return nil, fmt.Errorf("store: import %s: %w", imp.ID, err)
		}
	}
	imp.ActorPermissions = user.NewPermissions(imp.ActorPermissions...)
	for _, t := range []struct {
		src sql.Null[time.Time]
		dst **time.Time
	}{{started, &imp.StartedAt}, {finished, &imp.FinishedAt}, {cancel, &imp.CancelAskedAt}} {
		if t.src.Valid {
			v := t.src.V.UTC()
			*t.dst = &v
		}
	}
	return &imp, nil
}

// Import returns one import; NotFound when there is none.
func (s *Store) Import(ctx context.Context, id string) (*imports.Import, error) {
	imp, err := scanImport(s.reader(ctx).QueryRowContext(ctx, `SELECT `+importColumns+` FROM imports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("import")
	} else if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	return imp, nil
}

// LockImport reads an import in the transaction in ctx and holds it to the transaction's end
// (on SQLite the one writer does already).
func (s *Store) LockImport(ctx context.Context, id string) (*imports.Import, error) {
	if _, ok := TxFrom(ctx); !ok {
		return nil, errors.New("store: LockImport needs a transaction from InTx")
	}
	q := `SELECT ` + importColumns + ` FROM imports WHERE id = $1`
	if s.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	imp, err := scanImport(s.writer(ctx).QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("import")
	} else if err != nil {
		return nil, fmt.Errorf("store: lock import: %w", err)
	}
	return imp, nil
}

type importCursor struct {
	At time.Time `json:"a"`
	ID string    `json:"i"`
}

// Imports lists imports newest first.
func (s *Store) Imports(ctx context.Context, f imports.Filter) ([]imports.Import, string, error) {
	like := ""
	if q := strings.ToLower(strings.TrimSpace(f.Q)); q != "" {
		like = "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(clean(q)) + "%"
	}
	scope := s.scope("imports", string(f.Status), like)
	q := `SELECT ` + importColumns + ` FROM imports WHERE ($1 = '' AND status <> 'staging' OR status = $1)
		AND ($2 = '' OR lower(file_name) LIKE $2 ESCAPE '\')`
	args := []any{string(f.Status), like}
	if f.Cursor != "" {
		var c importCursor
		if err := scope.open(f.Cursor, &c); err != nil {
			return nil, "", err
		}
		q += ` AND (created_at < $3 OR created_at = $3 AND id < $4)`
		args = append(args, c.At, c.ID)
	}
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, f.Limit+1)
	rs, err := s.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: imports: %w", err)
	}
	defer rs.Close()
	var out []imports.Import
	for rs.Next() {
		imp, err := scanImport(rs)
		if err != nil {
			return nil, "", fmt.Errorf("store: imports: %w", err)
		}
		out = append(out, *imp)
	}
	if err := rs.Err(); err != nil {
		return nil, "", fmt.Errorf("store: imports: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = scope.seal(importCursor{At: last.CreatedAt, ID: last.ID})
	}
	return out, next, nil
}

// SetImportStatus moves an import from one of the statuses from to to, and reports whether it did.
func (s *Store) SetImportStatus(ctx context.Context, id string, from []imports.Status, to imports.Status, at time.Time, failure string) (bool, error) {
	args := []any{id, string(to), at, failure, to.Final()}
	for _, f := range from {
		args = append(args, string(f))
	}
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET status = $2,
		started_at = CASE WHEN $2 = 'processing' AND started_at IS NULL THEN $3 ELSE started_at END,
		finished_at = CASE WHEN $5 THEN $3 ELSE finished_at END,
		error = $4
		WHERE id = $1 AND status IN (`+placeholders(6, len(from))+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("store: set import status: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AskCancelImport records the first request to cancel an import.
func (s *Store) AskCancelImport(ctx context.Context, id, by string, at time.Time) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET cancel_asked_at = $2, cancelled_by = $3
		WHERE id = $1 AND cancel_asked_at IS NULL`, id, at, by)
	if err != nil {
		return fmt.Errorf("store: cancel import: %w", err)
	}
	return nil
}

// ClaimImport takes or renews the lease on a queued or processing import.
func (s *Store) ClaimImport(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	now, until = now.UTC(), until.UTC() // SQLite compares the times as text
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET lease_owner = $2, lease_until = $4
		WHERE id = $1 AND status IN ('queued', 'processing')
		AND (lease_owner = $2 OR lease_until IS NULL OR lease_until < $3)`, id, owner, now, until)
	if err != nil {
		return false, fmt.Errorf("store: claim import: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseImport gives up owner's lease on an import.
func (s *Store) ReleaseImport(ctx context.Context, id, owner string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET lease_owner = '', lease_until = NULL
		WHERE id = $1 AND lease_owner = $2`, id, owner)
	if err != nil {
		return fmt.Errorf("store: release import: %w", err)
	}
	return nil
}

// ForgetImportLeases ends the leases of unfinished imports whose owner does not start with keep.
func (s *Store) ForgetImportLeases(ctx context.Context, keep string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET lease_owner = '', lease_until = NULL
		WHERE status IN ('queued', 'processing') AND lease_until IS NOT NULL AND substr(lease_owner, 1, $2) <> $1`,
		keep, len(keep))
	if err != nil {
		return fmt.Errorf("store: forget import leases: %w", err)
	}
	return nil
}

// StrayImports are the queued or processing imports whose lease ran out or that have none.
func (s *Store) StrayImports(ctx context.Context, now time.Time) ([]string, error) {
	now = now.UTC() // SQLite compares the times as text
	rs, err := s.reader(ctx).QueryContext(ctx, `SELECT id FROM imports WHERE status IN ('queued', 'processing')
		AND (lease_until IS NULL OR lease_until < $1) ORDER BY created_at`, now)
	if err != nil {
		return nil, fmt.Errorf("store: stray imports: %w", err)
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

const importRowColumns = `row_no, cells, plan, outcome, field, value, reason, user_id`

func scanImportRows(rs *sql.Rows) ([]imports.Row, error) {
	defer rs.Close()
	var out []imports.Row
	for rs.Next() {
		var r imports.Row
		var cells string
		var outcome, userID sql.NullString
		if err := rs.Scan(&r.No, &cells, &r.Plan, &outcome, &r.Field, &r.Value, &r.Reason, &userID); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(cells), &r.Cells); err != nil {
			return nil, fmt.Errorf("store: import row %d: %w", r.No, err)
		}
		r.Result, r.UserID = imports.Outcome(outcome.String), userID.String
		out = append(out, r)
	}
	return out, rs.Err()
}

// PendingImportRows returns up to n rows after row number after without a result.
func (s *Store) PendingImportRows(ctx context.Context, id string, after int64, n int) ([]imports.Row, error) {
	rs, err := s.writer(ctx).QueryContext(ctx, `SELECT `+importRowColumns+` FROM import_rows
		WHERE import_id = $1 AND row_no > $2 AND outcome IS NULL ORDER BY row_no LIMIT $3`, id, after, n)
	if err != nil {
		return nil, fmt.Errorf("store: pending import rows: %w", err)
	}
	rows, err := scanImportRows(rs)
	if err != nil {
		return nil, fmt.Errorf("store: pending import rows: %w", err)
	}
	return rows, nil
}

// AnalyzeImportRows refreshes PostgreSQL's statistics of import_rows, so that the job's updates
// of a batch by key are planned as key lookups (SQLite plans them so without statistics).
func (s *Store) AnalyzeImportRows(ctx context.Context) error {
	if s.Dialect != Postgres {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE import_rows`); err != nil {
		return fmt.Errorf("store: analyze import rows: %w", err)
	}
	return nil
}

// RecordImportRows stores the results of applied rows and counts them on the import.
func (s *Store) RecordImportRows(ctx context.Context, id string, rows []imports.Row) error {
	var c imports.Counts
	for _, r := range rows {
		c.Add(r.Result)
	}
	if s.Dialect == Postgres {
		// One statement for many rows: a round trip a row was most of a batch's time.
		const per, chunk = 6, 1000
		for start := 0; start < len(rows); start += chunk {
			part := rows[start:min(start+chunk, len(rows))]
			var b strings.Builder
			args := make([]any, 1, 1+len(part)*per)
			args[0] = id
			for i, r := range part {
				if i > 0 {
					b.WriteString(", ")
				}
				n := 2 + i*per
				fmt.Fprintf(&b, "($%d::bigint, $%d, $%d, $%d, $%d, $%d)", n, n+1, n+2, n+3, n+4, n+5)
				args = append(args, r.No, string(r.Result), clean(r.Field), clean(r.Value), clean(r.Reason), nullString(r.UserID))
			}
			_, err := s.writer(ctx).ExecContext(ctx, `UPDATE import_rows AS r SET outcome = v.outcome, field = v.field,
				value = v.value, reason = v.reason, user_id = v.user_id
				FROM (VALUES `+b.String()+`) AS v (row_no, outcome, field, value, reason, user_id)
				WHERE r.import_id = $1 AND r.row_no = v.row_no AND r.outcome IS NULL`, args...)
			if err != nil {
				return fmt.Errorf("store: record import rows: %w", err)
			}
		}
	} else {
		for _, r := range rows { // a prepared statement a row: SQLite parses long ones slowly
			_, err := s.writer(ctx).ExecContext(ctx, `UPDATE import_rows SET outcome = $3, field = $4, value = $5,
				reason = $6, user_id = $7 WHERE import_id = $1 AND row_no = $2 AND outcome IS NULL`,
				id, r.No, string(r.Result), clean(r.Field), clean(r.Value), clean(r.Reason), nullString(r.UserID))
			if err != nil {
				return fmt.Errorf("store: record import row: %w", err)
			}
		}
	}
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET rows_done = rows_done + $2,
		done_create = done_create + $3, done_update = done_update + $4, done_delete = done_delete + $5,
		done_skip = done_skip + $6, done_error = done_error + $7 WHERE id = $1`,
		id, c.Sum(), c.Create, c.Update, c.Delete, c.Skip, c.Error)
	if err != nil {
		return fmt.Errorf("store: count import results: %w", err)
	}
	return nil
}

// SkipPendingImportRows skips every row without a result, with the reason, and counts them.
func (s *Store) SkipPendingImportRows(ctx context.Context, id, reason string) error {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE import_rows SET outcome = 'skip', field = '', value = '', reason = $2
		WHERE import_id = $1 AND outcome IS NULL`, id, reason)
	if err != nil {
		return fmt.Errorf("store: skip import rows: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.writer(ctx).ExecContext(ctx, `UPDATE imports SET rows_done = rows_done + $2, done_skip = done_skip + $2
		WHERE id = $1`, id, n); err != nil {
		return fmt.Errorf("store: count skipped import rows: %w", err)
	}
	return nil
}

// ImportRows returns up to n rows after row number after, those whose outcome (result, else
// plan) is one of outcomes, or all when outcomes is empty.
func (s *Store) ImportRows(ctx context.Context, id string, outcomes []imports.Outcome, after int64, n int) ([]imports.Row, error) {
	q := `SELECT ` + importRowColumns + ` FROM import_rows WHERE import_id = $1 AND row_no > $2`
	args := []any{id, after}
	if len(outcomes) > 0 {
		q += ` AND COALESCE(outcome, plan) IN (` + placeholders(3, len(outcomes)) + `)`
		for _, o := range outcomes {
			args = append(args, string(o))
		}
	}
	q += fmt.Sprintf(` ORDER BY row_no LIMIT %d`, n)
	rs, err := s.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: import rows: %w", err)
	}
	rows, err := scanImportRows(rs)
	if err != nil {
		return nil, fmt.Errorf("store: import rows: %w", err)
	}
	return rows, nil
}

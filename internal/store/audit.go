package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/audit"
)

// AppendAudit writes one audit event; with a context from InTx it commits or rolls back with
// the change it records.
func (s *Store) AppendAudit(ctx context.Context, e audit.Event) error {
	args, err := s.auditRow(e)
	if err != nil {
		return err
	}
	_, err = s.writer(ctx).ExecContext(ctx, `INSERT INTO audit_events (time, actor_id, actor_name, action,
		target_type, target_id, target_name, outcome, details, request_id, client_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...)
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

// auditRow is an event as audit_events holds it, in the order of auditColumns.
func (s *Store) auditRow(e audit.Event) ([]any, error) {
	details := "{}"
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return nil, fmt.Errorf("store: audit details: %w", err)
		}
		details = string(b)
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return []any{e.Time.UTC(), e.ActorID, e.ActorName, e.Action, e.TargetType, e.TargetID, e.TargetName, e.Outcome,
		details, e.RequestID, e.ClientIP}, nil
}

// AuditEvents reads a page of the log, newest first, and the cursor of the next page ("" on
// the last).
func (s *Store) AuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, string, error) {
	f.Limit = f.PageSize()
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if f.TargetID != "" {
		where = append(where, "target_id = "+arg(f.TargetID))
	}
	if f.TargetType != "" {
		where = append(where, "target_type = "+arg(f.TargetType))
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			where = append(where, "action >= "+arg(f.Action)+" AND action < "+arg(f.Action+prefixEnd))
		} else {
			where = append(where, "action = "+arg(f.Action))
		}
	}
	if f.Outcome != "" {
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	if !f.From.IsZero() {
		where = append(where, "time >= "+arg(f.From.UTC()))
	}
	if !f.To.IsZero() {
		where = append(where, "time < "+arg(f.To.UTC()))
	}
	scope := s.scope(auditList, auditQuery(f)...)
	if f.Cursor != "" {
		var before int64
		if err := scope.open(f.Cursor, &before); err != nil {
			return nil, "", err
		}
		where = append(where, "id < "+arg(before))
	}
	q := `SELECT id, time, actor_id, actor_name, action, target_type, target_id, target_name, outcome, details,
		request_id, client_ip FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit+1)
	rows, err := s.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: audit events: %w", err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		var details string
		if err := rows.Scan(&e.ID, &e.Time, &e.ActorID, &e.ActorName, &e.Action, &e.TargetType, &e.TargetID,
			&e.TargetName, &e.Outcome, &details, &e.RequestID, &e.ClientIP); err != nil {
			return nil, "", err
		}
		e.Time = e.Time.UTC()
		if details != "" && details != "{}" {
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return nil, "", fmt.Errorf("store: audit event %d details: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: audit events: %w", err)
	}
	var next string
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = scope.seal(out[f.Limit-1].ID)
	}
	return out, next, nil
}

// auditQuery is what a read of the log asks for, the scope of its cursors; the per-user view is
// the target user's id with target type user.
func auditQuery(f audit.Filter) []string {
	instant := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return []string{f.ActorID, f.TargetID, f.TargetType, f.Action, f.Outcome, instant(f.From), instant(f.To)}
}

// auditColumns are the columns AppendAudits writes, in the order auditRow gives them.
var auditColumns = []string{"time", "actor_id", "actor_name", "action", "target_type", "target_id", "target_name",
	"outcome", "details", "request_id", "client_ip"}

// AppendAudits writes many audit events, as AppendAudit writes each, in few statements.
func (s *Store) AppendAudits(ctx context.Context, events []audit.Event) error {
	rows := make([][]any, len(events))
	for i, e := range events {
		row, err := s.auditRow(e)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.insertMany(ctx, s.writer(ctx), "audit_events", auditColumns, len(rows), func(i int) []any { return rows[i] }, ""); err != nil {
			return fmt.Errorf("store: append audit: %w", err)
		}
		return nil
	})
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/usherhq/usher/internal/mail"
)

const outboxColumns = `id, kind, user_id, to_address, subject, body, status, attempts, last_error, created_at,
	updated_at, sent_at`

func scanOutbox(row interface{ Scan(...any) error }) (*mail.Entry, error) {
	var e mail.Entry
	var userID sql.NullString
	var status string
	if err := row.Scan(&e.ID, &e.Kind, &userID, &e.To, &e.Subject, &e.Body, &status, &e.Attempts, &e.LastError,
		&e.CreatedAt, &e.UpdatedAt, &e.SentAt); err != nil {
		return nil, err
	}
	e.UserID, e.Status = userID.String, mail.Status(status)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if e.SentAt != nil {
		t := e.SentAt.UTC()
		e.SentAt = &t
	}
	return &e, nil
}

// InsertOutbox writes a message to the outbox; with a context from InTx it commits or rolls
// back with the change that causes it.
func (s *Store) InsertOutbox(ctx context.Context, e *mail.Entry) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = e.CreatedAt
	}
	if e.Status == "" {
		e.Status = mail.Queued
	}
	var userID any
	if e.UserID != "" {
		userID = e.UserID
	}
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO outbox (`+outboxColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.Kind, userID, e.To, e.Subject, e.Body, string(e.Status), e.Attempts, e.LastError,
		e.CreatedAt.UTC(), e.UpdatedAt.UTC(), e.SentAt)
	if err != nil {
		return fmt.Errorf("store: insert outbox entry: %w", mapError(err))
	}
	return nil
}

// OutboxEntry returns one outbox entry.
func (s *Store) OutboxEntry(ctx context.Context, id string) (*mail.Entry, error) {
	e, err := scanOutbox(s.reader(ctx).QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("message")
	} else if err != nil {
		return nil, fmt.Errorf("store: outbox entry: %w", err)
	}
	return e, nil
}

// RecordOutboxAttempt stores the outcome of one attempt at sending an entry. A sent entry keeps
// its headers for the listing but loses its body, which may hold a single-use link.
func (s *Store) RecordOutboxAttempt(ctx context.Context, id string, a mail.Attempt) error {
	var sentAt any
	if a.Status == mail.Sent {
		sentAt = a.At.UTC()
	}
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE outbox SET status = $1, attempts = $2, last_error = $3,
		updated_at = $4, sent_at = $5, body = CASE WHEN $1 = 'sent' THEN '' ELSE body END WHERE id = $6`,
		string(a.Status), a.Number, a.Error, a.At.UTC(), sentAt, id)
	if err != nil {
		return fmt.Errorf("store: record outbox attempt: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("message")
	}
	return nil
}

// Outbox lists a page of outbox entries, newest first, and the cursor of the next page ("" on
// the last).
func (s *Store) Outbox(ctx context.Context, f mail.Filter) ([]mail.Entry, string, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.UserID != "" {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	scope := s.scope(outboxList, string(f.Status), f.UserID, f.Kind)
	if f.Cursor != "" {
		var before string
		if err := scope.open(f.Cursor, &before); err != nil {
			return nil, "", err
		}
		where = append(where, "id < "+arg(before))
	}
	limit := f.PageSize()
	q := `SELECT ` + outboxColumns + ` FROM outbox`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit+1)
	rows, err := s.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var out []mail.Entry
	for rows.Next() {
		e, err := scanOutbox(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: outbox: %w", err)
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: outbox: %w", err)
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		next = scope.seal(out[limit-1].ID)
	}
	return out, next, nil
}

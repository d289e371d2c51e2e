package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/usherhq/usher/internal/auth"
)

// PutInvitation records who vouches for a user's invitation: a new row for a new invitation,
// a new inviter for a renewed one (its creation time and last email stay).
func (s *Store) PutInvitation(ctx context.Context, inv *auth.Invitation) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO invitations (user_id, inviter_id, inviter_name, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET inviter_id = excluded.inviter_id, inviter_name = excluded.inviter_name`,
		inv.UserID, nullString(inv.InviterID), inv.InviterName, inv.CreatedAt, inv.SentAt)
	if err != nil {
		return fmt.Errorf("store: put invitation: %w", mapError(err))
	}
	return nil
}

// Invitation returns a user's invitation; NotFound when they have none.
func (s *Store) Invitation(ctx context.Context, userID string) (*auth.Invitation, error) {
	inv := auth.Invitation{UserID: userID}
	var inviter sql.NullString
	var sent sql.Null[time.Time]
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT inviter_id, inviter_name, created_at, sent_at
		FROM invitations WHERE user_id = $1`, userID).Scan(&inviter, &inv.InviterName, &inv.CreatedAt, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("invitation")
	}
	if err != nil {
		return nil, fmt.Errorf("store: invitation: %w", err)
	}
	inv.InviterID, inv.CreatedAt = inviter.String, inv.CreatedAt.UTC()
	if sent.Valid {
		t := sent.V.UTC()
		inv.SentAt = &t
	}
	return &inv, nil
}

// ClaimInvitationEmail records that an invitation email goes to the user now, unless one went
// since the given time, and reports whether it did: of two resends racing, one sends. A user
// without an invitation row has none to resend (false).
func (s *Store) ClaimInvitationEmail(ctx context.Context, userID string, now, since time.Time) (bool, error) {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE invitations SET sent_at = $2
		WHERE user_id = $1 AND (sent_at IS NULL OR sent_at <= $3)`, userID, now, since)
	if err != nil {
		return false, fmt.Errorf("store: claim invitation email: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteInvitation forgets a user's invitation (it was accepted).
func (s *Store) DeleteInvitation(ctx context.Context, userID string) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM invitations WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: delete invitation: %w", err)
	}
	return nil
}

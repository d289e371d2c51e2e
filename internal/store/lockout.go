package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReserveLoginAttempt counts a sign-in attempt against a user before the password is checked,
// in one conditional UPDATE: however many attempts race, at most max of them get a reservation,
// so at most max password hashes are checked before the account locks. It returns the attempt's
// number, or ok=false when the user has no attempts left. A counter that has stood at the
// threshold since before staleBefore without locking the account (an attempt that never
// finished, or a disabled or administrator-locked account) starts again from one.
func (s *Store) ReserveLoginAttempt(ctx context.Context, userID string, max int, now, staleBefore time.Time) (n int, ok bool, err error) {
	err = s.writer(ctx).QueryRowContext(ctx, `UPDATE users
		SET failed_logins = CASE WHEN failed_logins < $2 THEN failed_logins + 1 ELSE 1 END, login_attempt_at = $3
		WHERE id = $1 AND (failed_logins < $2 OR login_attempt_at < $4 AND locked_at IS NULL)
		RETURNING failed_logins`, userID, max, now, staleBefore).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: reserve sign-in attempt: %w", err)
	}
	return n, true, nil
}

// ResetLoginAttempts clears the failed sign-in counter after a successful sign-in.
func (s *Store) ResetLoginAttempts(ctx context.Context, userID string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET failed_logins = 0 WHERE id = $1 AND failed_logins > 0`, userID)
	if err != nil {
		return fmt.Errorf("store: reset sign-in attempts: %w", err)
	}
	return nil
}

// LockUser moves an active user to locked and reports whether this call did it: when attempts
// race, exactly one of them locks.
func (s *Store) LockUser(ctx context.Context, userID string, at time.Time) (bool, error) {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET status = 'locked', locked_at = $2, updated_at = $2,
		version = version + 1 WHERE id = $1 AND status = 'active'`, userID, at)
	if err != nil {
		return false, fmt.Errorf("store: lock user: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UnlockUserLockedBefore unlocks a user who has been locked since before cutoff, clearing the
// counter, and reports whether this call did it.
func (s *Store) UnlockUserLockedBefore(ctx context.Context, userID string, cutoff, at time.Time) (bool, error) {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET status = 'active', failed_logins = 0, locked_at = NULL,
		updated_at = $3, version = version + 1 WHERE id = $1 AND status = 'locked' AND locked_at <= $2`, userID, cutoff, at)
	if err != nil {
		return false, fmt.Errorf("store: unlock user: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	return true, s.clearLoginFailures(ctx, userID)
}

// LockedAt returns when a locked user was locked; nil when they are not locked.
func (s *Store) LockedAt(ctx context.Context, userID string) (*time.Time, error) {
	var t sql.Null[time.Time]
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT locked_at FROM users WHERE id = $1`, userID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	if err != nil {
		return nil, fmt.Errorf("store: locked at: %w", err)
	}
	if !t.Valid {
		return nil, nil
	}
	return &t.V, nil
}

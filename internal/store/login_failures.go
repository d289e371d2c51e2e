package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReserveLoginFailure counts an attempt against a login as typed (lower case), whether or not
// it names an account, before its password is checked: it returns the attempt's number, or
// ok=false when the login has used up its attempts. The count is forgotten when its last
// attempt was before expireBefore, or when it reached the limit at or before unlockBefore (a
// zero unlockBefore never does), as an account's lock ends with the auto-unlock delay.
func (s *Store) ReserveLoginFailure(ctx context.Context, login string, max int, now, expireBefore, unlockBefore time.Time) (n int, ok bool, err error) {
	var unlock, lockedFirst any // lockedFirst: the first attempt reaches the limit only when the limit is one
	if !unlockBefore.IsZero() {
		unlock = unlockBefore
	}
	if max <= 1 {
		lockedFirst = now
	}
	// One statement: a count that expired or whose "lock" ended starts again from one.
	const restart = `(login_failures.last_at < $5 OR login_failures.locked_at <= $6)`
	err = s.writer(ctx).QueryRowContext(ctx, `INSERT INTO login_failures (login, failures, last_at, locked_at)
		VALUES ($1, 1, $2, $4)
		ON CONFLICT (login) DO UPDATE SET
			failures = CASE WHEN `+restart+` THEN 1 ELSE login_failures.failures + 1 END,
			last_at = excluded.last_at,
			locked_at = CASE WHEN (CASE WHEN `+restart+` THEN 1 ELSE login_failures.failures + 1 END) >= $3
				THEN excluded.last_at END
		WHERE login_failures.failures < $3 OR `+restart+`
		RETURNING failures`, login, now, max, lockedFirst, expireBefore, unlock).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: count sign-in attempt: %w", err)
	}
	return n, true, nil
}

// clearLoginFailures forgets the counts of a user's username and email, when they sign in,
// are unlocked or enabled, or set a new password.
func (s *Store) clearLoginFailures(ctx context.Context, userID string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM login_failures WHERE login IN
		(SELECT username_lower FROM users WHERE id = $1 UNION ALL SELECT email_lower FROM users WHERE id = $1)`, userID)
	if err != nil {
		return fmt.Errorf("store: clear sign-in failures: %w", err)
	}
	return nil
}

// PruneLoginFailures forgets counts last moved before cutoff, then, beyond keep in all, the
// oldest of those below the limit, and only then the oldest at the limit: a login's "locked"
// answer is the last thing a flood of made-up logins can push out.
func (s *Store) PruneLoginFailures(ctx context.Context, cutoff time.Time, keep int) error {
	w := s.writer(ctx)
	if _, err := w.ExecContext(ctx, `DELETE FROM login_failures WHERE last_at < $1`, cutoff); err != nil {
		return fmt.Errorf("store: prune sign-in failures: %w", err)
	}
	var atLimit int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE locked_at IS NOT NULL`).Scan(&atLimit); err != nil {
		return fmt.Errorf("store: prune sign-in failures: %w", err)
	}
	for _, c := range []struct {
		where string
		keep  int
	}{{"locked_at IS NULL", keep - atLimit}, {"locked_at IS NOT NULL", keep}} {
		var err error
		if c.keep <= 0 {
			_, err = w.ExecContext(ctx, `DELETE FROM login_failures WHERE `+c.where)
		} else {
			_, err = w.ExecContext(ctx, `DELETE FROM login_failures WHERE `+c.where+` AND last_at <
				(SELECT last_at FROM login_failures WHERE `+c.where+` ORDER BY last_at DESC LIMIT 1 OFFSET $1)`, c.keep-1)
		}
		if err != nil {
			return fmt.Errorf("store: cap sign-in failures: %w", err)
		}
	}
	return nil
}

// ClaimResetEmail records that an anonymous request sends the user a reset email now, unless
// one was sent after since; it reports whether this call may send. Called in the transaction
// that queues the email, so a rollback gives the claim back.
func (s *Store) ClaimResetEmail(ctx context.Context, userID string, now, since time.Time) (bool, error) {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET reset_requested_at = $2
		WHERE id = $1 AND (reset_requested_at IS NULL OR reset_requested_at <= $3)`, userID, now, since)
	if err != nil {
		return false, fmt.Errorf("store: claim reset email: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// InsertOneTimeToken stores the hash of a single-use secret (a password reset link) for a user.
func (s *Store) InsertOneTimeToken(ctx context.Context, hash, purpose, userID string, created, expires time.Time) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO one_time_tokens (hash, purpose, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, hash, purpose, userID, created, expires)
	if err != nil {
		return fmt.Errorf("store: insert one-time token: %w", err)
	}
	return nil
}

// UseOneTimeToken marks a token used and returns its user, in one conditional UPDATE that also
// checks its purpose and expiry: of any number of parallel uses exactly one succeeds. A token
// that is unknown, of another purpose, used or expired is NotFound.
func (s *Store) UseOneTimeToken(ctx context.Context, hash, purpose string, now time.Time) (string, error) {
	var userID string
	err := s.writer(ctx).QueryRowContext(ctx, `UPDATE one_time_tokens SET used_at = $3
		WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id`,
		hash, purpose, now).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("token")
	}
	if err != nil {
		return "", fmt.Errorf("store: use one-time token: %w", err)
	}
	return userID, nil
}

// OneTimeTokenUser returns the user of a token that UseOneTimeToken would accept now, without
// using it: the page a link opens says at once whether the link still works.
func (s *Store) OneTimeTokenUser(ctx context.Context, hash, purpose string, now time.Time) (string, error) {
	var userID string
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT user_id FROM one_time_tokens
		WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3`, hash, purpose, now).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("token")
	}
	if err != nil {
		return "", fmt.Errorf("store: read one-time token: %w", err)
	}
	return userID, nil
}

// DeleteOneTimeTokens removes a user's tokens of one purpose (a new password makes older reset
// links useless) and any expired ones.
func (s *Store) DeleteOneTimeTokens(ctx context.Context, userID, purpose string, now time.Time) error {
	_, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM one_time_tokens WHERE (user_id = $1 AND purpose = $2) OR expires_at < $3`,
		userID, purpose, now)
	if err != nil {
		return fmt.Errorf("store: delete one-time tokens: %w", err)
	}
	return nil
}

// SetPassword replaces a user's password hash; what was typed at their logins before is forgotten.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET password_hash = $2, updated_at = $3, version = version + 1
		WHERE id = $1`, userID, hash, at)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("user")
	}
	return s.clearLoginFailures(ctx, userID)
}

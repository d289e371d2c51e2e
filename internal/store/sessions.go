package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

// InsertSession writes a new session.
func (s *Store) InsertSession(ctx context.Context, ss *auth.Session) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at,
		client_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ss.ID, ss.UserID, ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt, ss.ClientIP, ss.UserAgent)
	if err != nil {
		return fmt.Errorf("store: insert session: %w", err)
	}
	return nil
}

const sessionColumns = `id, user_id, created_at, last_seen_at, expires_at, client_ip, user_agent`

func scanSession(row interface{ Scan(...any) error }) (*auth.Session, error) {
	var ss auth.Session
	err := row.Scan(&ss.ID, &ss.UserID, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt, &ss.ClientIP, &ss.UserAgent)
	return &ss, err
}

// Session returns the session with the given id (the hash of its cookie).
func (s *Store) Session(ctx context.Context, id string) (*auth.Session, error) {
	ss, err := scanSession(s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("session")
	} else if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	return ss, nil
}

// withOwner runs query, whose columns are a session's or token's (scanned by scan) followed by
// its owner (u) and the permissions of every role they hold, directly or through a group: a
// request's credentials resolve in one query. userID names the session's or token's user_id
// column, which the permissions are matched on (see permissionsOf). A credential whose user is
// gone is not found.
func withOwner[T any](ctx context.Context, s *Store, what, columns, userID, from, arg string,
	scan func(interface{ Scan(...any) error }) (T, error)) (T, *auth.Owner, error) {
	var o auth.Owner
	var perms string
	v, err := scan(scanExtra{s.queryRow(ctx, `SELECT `+columns+`, u.id, u.username, u.status, `+permissionsOf(userID)+
		` FROM `+from, arg), []any{&o.ID, &o.Username, &o.Status, &perms}})
	if err == sql.ErrNoRows {
		return v, nil, notFound(what)
	} else if err != nil {
		return v, nil, fmt.Errorf("store: %s owner: %w", what, err)
	}
	o.Permissions = user.ParsePermissions(perms)
	return v, &o, nil
}

// SessionOwner returns the session with the given id and its owner with their permissions.
func (s *Store) SessionOwner(ctx context.Context, id string) (*auth.Session, *auth.Owner, error) {
	return withOwner(ctx, s, "session", prefixed("ss", sessionColumns), "ss.user_id",
		`sessions ss JOIN users u ON u.id = ss.user_id WHERE ss.id = $1`, id, scanSession)
}

// TouchSession records a session's use.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, at, id); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// RevokeSessions ends every session of a user.
func (s *Store) RevokeSessions(ctx context.Context, userID string) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: revoke sessions: %w", err)
	}
	return nil
}

const tokenColumns = `id, user_id, name, hash, scopes, created_at, last_used_at, expires_at`

// scanExtra lets the scan func of a table's columns read a row that has more: they go to extra.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (r scanExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

func scanToken(row interface{ Scan(...any) error }) (*auth.Token, error) {
	var t auth.Token
	var scopes string
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, &t.CreatedAt, &t.LastUsedAt, &t.ExpiresAt); err != nil {
		return nil, err
	}
	t.Scopes = user.ParsePermissions(scopes)
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// InsertToken writes a new API token.
func (s *Store) InsertToken(ctx context.Context, t *auth.Token) error {
	_, err := s.writer(ctx).ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.UserID, t.Name, t.Hash, t.Scopes.String(), t.CreatedAt, t.LastUsedAt, t.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: insert token: %w", mapError(err))
	}
	return nil
}

func (s *Store) tokenWhere(ctx context.Context, where string, arg any) (*auth.Token, error) {
	t, err := scanToken(s.reader(ctx).QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE `+where, arg))
	if err == sql.ErrNoRows {
		return nil, notFound("token")
	} else if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

// TokenOwner finds a token by the hash of its secret, with its owner and their permissions.
func (s *Store) TokenOwner(ctx context.Context, hash string) (*auth.Token, *auth.Owner, error) {
	return withOwner(ctx, s, "token", prefixed("t", tokenColumns), "t.user_id",
		`api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash, scanToken)
}

// Token returns one token by id.
func (s *Store) Token(ctx context.Context, id string) (*auth.Token, error) {
	return s.tokenWhere(ctx, "id = $1", id)
}

// Tokens lists a user's tokens, newest first.
func (s *Store) Tokens(ctx context.Context, userID string) ([]auth.Token, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []auth.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// TouchToken records a token's use.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, at, id); err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}

// DeleteToken revokes a token.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	return nil
}

// Sessions lists a user's sessions, newest first.
func (s *Store) Sessions(ctx context.Context, userID string) ([]auth.Session, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	defer rows.Close()
	var out []auth.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: sessions: %w", err)
		}
		out = append(out, *ss)
	}
	return out, rows.Err()
}

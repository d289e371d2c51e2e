package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/user"
)

// userColumns are a user's columns, custom values included (see userList).
const userColumns = `id, username, email, first_name, last_name, phone, department, manager_id, manager_name,
	status, source, external_id, default_admin, password_hash, created_at, updated_at, last_login_at,
	activated_at, version, custom_values, directory_id, disabled_by_directory`

func scanUser(row interface{ Scan(...any) error }) (*user.User, error) {
	var u user.User
	var managerID, externalID, directoryID sql.NullString
	var custom string
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &u.Department,
		&managerID, &u.ManagerName, &u.Status, &u.Source, &externalID, &u.DefaultAdmin, &u.PasswordHash,
		&u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &u.ActivatedAt, &u.Version, &custom, &directoryID, &u.DisabledByDirectory)
	if err != nil {
		return nil, err
	}
	u.ManagerID, u.ExternalID, u.DirectoryID = managerID.String, externalID.String, directoryID.String
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if u.Custom, err = parseCustom(custom); err != nil {
		return nil, err
	}
	return &u, nil
}

// User returns one user with their custom field values.
func (s *Store) User(ctx context.Context, id string) (*user.User, error) {
	u, err := scanUser(s.reader(ctx).QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("user")
	} else if err != nil {
		return nil, fmt.Errorf("store: user %s: %w", id, err)
	}
	return u, nil
}

// UserByLogin finds a user by username or email, case-insensitively.
func (s *Store) UserByLogin(ctx context.Context, login string) (*user.User, error) {
	l := strings.ToLower(login)
	if !textOK(l) {
		return nil, notFound("user") // PostgreSQL refuses such text; no login can contain it
	}
	u, err := scanUser(s.reader(ctx).QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username_lower = $1
		 UNION ALL SELECT `+userColumns+` FROM users WHERE email_lower = $1 AND username_lower <> $1 LIMIT 1`, l))
	if err == sql.ErrNoRows {
		return nil, notFound("user")
	} else if err != nil {
		return nil, fmt.Errorf("store: user by login: %w", err)
	}
	return u, nil
}

// countRowsToFold is how many rows of differences user_counts may hold on PostgreSQL before
// CountUsers folds them into one (migration 00011); reading that many costs well under a
// millisecond.
const countRowsToFold = 500

// CountUsers counts users by status, from the counts that triggers keep (migration 00011).
func (s *Store) CountUsers(ctx context.Context) (user.Counts, error) {
	var c user.Counts
	var rows int
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT coalesce(sum(total), 0), coalesce(sum(active), 0),
		coalesce(sum(invited), 0), coalesce(sum(locked), 0), coalesce(sum(disabled), 0), count(*) FROM user_counts`).
		Scan(&c.Total, &c.Active, &c.Invited, &c.Locked, &c.Disabled, &rows)
	if err != nil {
		return c, fmt.Errorf("store: count users: %w", err)
	}
	if _, inTx := ctx.Value(txKey{}).(*sql.Tx); rows > countRowsToFold && s.Dialect == Postgres && !inTx {
		// The counts are read; a fold that fails is tried again by the next read, and must not
		// cost this one its answer. Outside any transaction, so that it cannot spoil one.
		_ = s.foldUserCounts(ctx)
	}
	return c, nil
}

// foldUserCounts replaces the committed rows of user_counts by their sum, in one statement:
// rows that concurrent transactions append meanwhile are not seen and stay, and of two folds at
// once the second finds the rows gone and adds a row of zeros.
func (s *Store) foldUserCounts(ctx context.Context) error {
	_, err := s.write.ExecContext(ctx, `WITH folded AS (DELETE FROM user_counts RETURNING *)
		INSERT INTO user_counts (total, active, invited, locked, disabled)
		SELECT coalesce(sum(total), 0), coalesce(sum(active), 0), coalesce(sum(invited), 0),
			coalesce(sum(locked), 0), coalesce(sum(disabled), 0) FROM folded`)
	if err != nil {
		return fmt.Errorf("store: fold user counts: %w", err)
	}
	return nil
}

func lowerName(u *user.User) string {
	return strings.ToLower(strings.TrimSpace(u.FirstName + " " + u.LastName))
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// InsertUser writes a new user and their custom values.
func (s *Store) InsertUser(ctx context.Context, u *user.User) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockParents(ctx, customList, slices.Collect(maps.Keys(u.Custom))); err != nil {
			return err
		}
		_, err := s.writer(ctx).ExecContext(ctx, insertStatement(s.Dialect, "users", userInsertColumns, 1, ""), userRow(u, "")...)
		if err != nil {
			return fmt.Errorf("store: insert user: %w", mapError(err))
		}
		return s.writeCustom(ctx, u, false)
	})
}

func (s *Store) writeCustom(ctx context.Context, u *user.User, replace bool) error {
	w := s.writer(ctx)
	if replace {
		if _, err := w.ExecContext(ctx, `DELETE FROM user_field_values WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("store: clear custom values: %w", err)
		}
	}
	for name, value := range u.Custom {
		if _, err := w.ExecContext(ctx, `INSERT INTO user_field_values (user_id, field, value) VALUES ($1, $2, $3)`,
			u.ID, name, value); err != nil {
			return fmt.Errorf("store: custom value %s: %w", name, err)
		}
	}
	return nil
}

// UpdateUser writes u if its stored version is still prevVersion. A username or email that
// stays keeps its look-alike key, even none: a look-alike from before that rule stays writable.
// A change of status clears the failed sign-in counter, and leaving the locked status clears
// the lockout time (an administrator's lock has none, so the auto-unlock delay never ends it).
func (s *Store) UpdateUser(ctx context.Context, u *user.User, prevVersion int64) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockParents(ctx, customList, slices.Collect(maps.Keys(u.Custom))); err != nil {
			return err
		}
		return s.updateUser(ctx, u, prevVersion)
	})
}

func (s *Store) updateUser(ctx context.Context, u *user.User, prevVersion int64) error {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE users SET username = $1, username_lower = $2, email = $3,
		email_lower = $4, first_name = $5, last_name = $6, name_lower = $7, last_lower = $8, phone = $9,
		department = $10, manager_id = $11, manager_name = $12, status = $13, source = $14, external_id = $15,
		password_hash = $16, updated_at = $17, last_login_at = $18, activated_at = $19, version = $20,
		failed_logins = CASE WHEN status <> $13 THEN 0 ELSE failed_logins END,
		locked_at = CASE WHEN $13 <> 'locked' THEN NULL ELSE locked_at END, custom_values = $23,
		username_skeleton = CASE WHEN username = $1 THEN username_skeleton ELSE $24 END,
		email_skeleton = CASE WHEN email = $3 THEN email_skeleton ELSE $25 END, disabled_by_directory = $26
		WHERE id = $21 AND version = $22`,
		u.Username, strings.ToLower(u.Username), u.Email, strings.ToLower(u.Email), u.FirstName, u.LastName,
		lowerName(u), strings.ToLower(u.LastName), u.Phone, u.Department, nullString(u.ManagerID), u.ManagerName,
		string(u.Status), string(u.Source), nullString(u.ExternalID), u.PasswordHash, u.UpdatedAt, u.LastLoginAt,
		u.ActivatedAt, u.Version, u.ID, prevVersion, customJSON(u.Custom),
		nullable(user.Skeleton(u.Username)), nullable(user.Skeleton(u.Email)), u.DisabledByDirectory)
	if err != nil {
		return fmt.Errorf("store: update user: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stale("user")
	}
	if u.Status == user.Active {
		// An unlocked or enabled user may sign in at once, whatever was typed at their logins.
		if err := s.clearLoginFailures(ctx, u.ID); err != nil {
			return err
		}
	}
	return s.writeCustom(ctx, u, true)
}

// DeleteUser deletes a user; their roles, memberships, sessions and tokens go with them.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if _, err := s.writer(ctx).ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	return nil
}

// DefaultAdmin returns the Default Administrator.
func (s *Store) DefaultAdmin(ctx context.Context) (*user.User, error) {
	var id string
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT id FROM users WHERE default_admin`).Scan(&id)
	if err == sql.ErrNoRows {
		return nil, notFound("user")
	} else if err != nil {
		return nil, fmt.Errorf("store: default admin: %w", err)
	}
	return s.User(ctx, id)
}

// RecordLogin notes a successful sign-in, which clears the failed sign-in counters, and, when
// the hash parameters changed, the new hash.
func (s *Store) RecordLogin(ctx context.Context, userID string, at time.Time, rehash string) error {
	q := `UPDATE users SET last_login_at = $1, failed_logins = 0 WHERE id = $2`
	args := []any{at, userID}
	if rehash != "" {
		q = `UPDATE users SET last_login_at = $1, failed_logins = 0, password_hash = $3 WHERE id = $2`
		args = append(args, rehash)
	}
	if _, err := s.writer(ctx).ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	return s.clearLoginFailures(ctx, userID)
}

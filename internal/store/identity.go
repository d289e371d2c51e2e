package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/usherhq/usher/internal/user"
)

// Each user's row holds the look-alike keys (user.Skeleton) of their username and email, in
// unique columns (migration 00009): two users cannot hold look-alike identities, whatever path
// writes them. user.Service checks first, to tell a taken name from a look-alike and to compare
// usernames with emails; the unique indexes are the guard when two changes race.

// Advisory lock classes (the first key of PostgreSQL's two-key advisory locks).
const (
	identityLock     = 0x75736b6c // "uskl": one identity skeleton, keyed by its hash
	identityFillLock = 0x7573666c // "usfl": the filling of skeletons after a migration
)

// UsersLike returns the users whose username or email has one of the skeletons. Inside a
// transaction on PostgreSQL it first locks each skeleton until the transaction ends, so that
// two changes to look-alike identities run one after the other and the second sees the first
// (SQLite runs one write transaction at a time anyway).
func (s *Store) UsersLike(ctx context.Context, skeletons []string) ([]*user.User, error) {
	sk := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(skeletons))), func(k string) bool { return k == "" || !textOK(k) })
	if len(sk) == 0 {
		return nil, nil
	}
	if _, inTx := TxFrom(ctx); inTx && s.Dialect == Postgres {
		// In order, so that two changes never wait for each other in a circle; sent together,
		// so that a batch of a thousand names costs one round trip, not a thousand.
		err := PgxTx(ctx, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			for _, k := range sk {
				b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, identityLock, k)
			}
			return tx.SendBatch(ctx, b).Close()
		})
		if err != nil {
			return nil, fmt.Errorf("store: lock identity: %w", mapError(err))
		}
	}
	var rows *sql.Rows
	var err error
	if s.Dialect == Postgres {
		// Each name an index probe, whatever the table's size: with a batch's thousand names in
		// IN lists PostgreSQL read the whole table of tens of thousands of users instead, and
		// with a join it did too whenever the table's statistics were older than its growth (an
		// import's own users). A LATERAL subquery can only be run per name, on the unique index.
		rows, err = s.reader(ctx).QueryContext(ctx, `SELECT `+prefixed("u", userColumns)+`
			FROM unnest($1::text[]) AS k (s), LATERAL (SELECT * FROM users WHERE username_skeleton = k.s LIMIT 1) u
			UNION SELECT `+prefixed("u", userColumns)+`
			FROM unnest($1::text[]) AS k (s), LATERAL (SELECT * FROM users WHERE email_skeleton = k.s LIMIT 1) u`, sk)
	} else {
		in := placeholders(1, len(sk))
		rows, err = s.reader(ctx).QueryContext(ctx, `SELECT `+userColumns+` FROM users
			WHERE username_skeleton IN (`+in+`) OR email_skeleton IN (`+in+`)`, anys(sk)...)
	}
	if err != nil {
		return nil, fmt.Errorf("store: users like: %w", err)
	}
	defer rows.Close()
	var out []*user.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users like: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// fillBatch is how many users fillIdentities writes in one transaction.
const fillBatch = 1000

// identitiesWalked is the setting that records when fillIdentities last walked every user.
const identitiesWalked = "identity_skeletons_walked"

// fillIdentities gives every user without look-alike keys theirs: those from before migration
// 00009, and any an older usher wrote since. An email or username stored in another form than
// NFC (before usher normalised them) is stored in NFC too, so that it signs in as typed today.
// Users come oldest first (by id: usher's ids are UUIDv7, in creation order): when a key, or
// the NFC form, is another user's already, this user keeps NULL (and the form they had), so
// that look-alikes made before the rule stay as they are and the older one keeps the name.
// Migrate calls it; when nothing is missing it is two index lookups, and after the first walk of
// the whole table (minutes at a million users: run usher migrate before starting the new
// version) at most one batch.
func (s *Store) fillIdentities(ctx context.Context) error {
	ids, err := s.userIDs(ctx, `SELECT id FROM users WHERE username_skeleton IS NULL
		UNION SELECT id FROM users WHERE email_skeleton IS NULL LIMIT $1`, fillBatch+1)
	if err != nil || len(ids) == 0 {
		return err
	}
	walked, _, err := s.Setting(ctx, identitiesWalked)
	if err != nil {
		return err
	}
	if len(ids) <= fillBatch || walked != "" {
		// The usual case: the look-alikes that stay without keys, and a few users an older usher
		// wrote. Once the whole table was walked, a start looks at one batch at most, so that
		// many look-alikes from before the rule do not make every start walk it again.
		return s.fillIdentityBatch(ctx, ids[:min(len(ids), fillBatch)])
	}
	// Many (the first start after the migration): walk the users once in id order. SQLite must
	// not read the NULLs from the skeleton indexes here (+ keeps it off them): it would sort
	// them all again for every batch.
	missing := "username_skeleton IS NULL OR email_skeleton IS NULL"
	if s.Dialect == SQLite {
		missing = "+username_skeleton IS NULL OR +email_skeleton IS NULL"
	}
	for after := ""; ; {
		ids, err := s.userIDs(ctx, `SELECT id FROM users WHERE id > $1 AND (`+missing+`) ORDER BY id LIMIT $2`, after, fillBatch)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			if err := s.SetSetting(ctx, identitiesWalked, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
			if s.Dialect == Postgres {
				// Tell the planner the keys are there now, so that the next start finds the few
				// users without them through the indexes at once.
				if _, err := s.write.ExecContext(ctx, `ANALYZE users`); err != nil {
					return fmt.Errorf("store: analyze users: %w", err)
				}
			}
			return nil
		}
		if err := s.fillIdentityBatch(ctx, ids); err != nil {
			return err
		}
		after = ids[len(ids)-1]
	}
}

func (s *Store) userIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: users without identity skeletons: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// identityRow is one user's identities as fillIdentityBatch reads and writes them.
type identityRow struct {
	id, username, email                  string
	usernameSkeleton, emailSkeleton      sql.NullString
	newUsername, newEmail                string
	newUsernameSkel, newEmailSkel        sql.NullString
	usernameChanged, emailChanged, dirty bool
}

// fillIdentityBatch fills the users with the given ids in one transaction, reading them again
// there: on PostgreSQL another process may be filling them too, or changing them.
func (s *Store) fillIdentityBatch(ctx context.Context, ids []string) error {
	err := s.InTx(ctx, func(ctx context.Context) error {
		lock := ""
		if s.Dialect == Postgres { // replicas starting together fill one after the other
			if _, err := s.writer(ctx).ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, identityFillLock); err != nil {
				return err
			}
			lock = " FOR UPDATE"
		}
		rows, err := s.reader(ctx).QueryContext(ctx, `SELECT id, username, email, username_skeleton, email_skeleton
			FROM users WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY created_at, id`+lock, anys(ids)...)
		if err != nil {
			return err
		}
		var batch []*identityRow
		for rows.Next() {
			r := &identityRow{}
			if err := rows.Scan(&r.id, &r.username, &r.email, &r.usernameSkeleton, &r.emailSkeleton); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		held, err := s.heldIdentities(ctx, batch)
		if err != nil {
			return err
		}
		for _, r := range batch {
			r.newUsername, r.usernameChanged = claimNFC(held, "username_lower", r.username)
			r.newEmail, r.emailChanged = claimNFC(held, "email_lower", r.email)
			r.newUsernameSkel = claimSkeleton(held, "username_skeleton", r.usernameSkeleton, r.newUsername)
			r.newEmailSkel = claimSkeleton(held, "email_skeleton", r.emailSkeleton, r.newEmail)
			r.dirty = r.usernameChanged || r.emailChanged || r.newUsernameSkel != r.usernameSkeleton || r.newEmailSkel != r.emailSkeleton
		}
		return s.writeIdentities(ctx, slices.DeleteFunc(batch, func(r *identityRow) bool { return !r.dirty }))
	})
	if err != nil {
		return fmt.Errorf("store: fill identity skeletons: %w", err)
	}
	return nil
}

// heldIdentities returns, by column, the keys the batch could want that users hold already.
func (s *Store) heldIdentities(ctx context.Context, batch []*identityRow) (map[string]map[string]bool, error) {
	want := map[string][]string{}
	for _, r := range batch {
		for _, v := range []struct{ col, value string }{{"username", r.username}, {"email", r.email}} {
			nfc := norm.NFC.String(v.value)
			if nfc != v.value {
				want[v.col+"_lower"] = append(want[v.col+"_lower"], strings.ToLower(nfc))
			}
			want[v.col+"_skeleton"] = append(want[v.col+"_skeleton"], user.Skeleton(nfc))
		}
	}
	held := map[string]map[string]bool{}
	for col, keys := range want {
		held[col] = map[string]bool{}
		keys = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(keys))), func(k string) bool { return !textOK(k) })
		for start := 0; start < len(keys); start += 500 {
			part := keys[start:min(len(keys), start+500)]
			rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+col+` FROM users WHERE `+col+` IN (`+placeholders(1, len(part))+`)`, anys(part)...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return nil, err
				}
				held[col][k] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return held, nil
}

// claimNFC returns value in NFC, and true, when no user holds that form (in col) yet; then it
// is this user's. Otherwise value as it is.
func claimNFC(held map[string]map[string]bool, col, value string) (string, bool) {
	nfc := norm.NFC.String(value)
	if nfc == value || held[col][strings.ToLower(nfc)] {
		return value, false
	}
	held[col][strings.ToLower(nfc)] = true
	return nfc, true
}

// claimSkeleton returns the skeleton the user holds in col: the one they have, or value's when
// no user holds it yet (then it is this user's), or none.
func claimSkeleton(held map[string]map[string]bool, col string, have sql.NullString, value string) sql.NullString {
	if have.Valid {
		return have
	}
	k := user.Skeleton(value)
	if k == "" || !textOK(k) || held[col][k] {
		return sql.NullString{}
	}
	held[col][k] = true
	return sql.NullString{String: k, Valid: true}
}

// writeIdentities writes the batch's new identities. PostgreSQL gets one statement for the
// batch. SQLite gets one prepared UPDATE a user, of the look-alike keys alone unless the text
// changes too: it writes the index entries of every column set (PostgreSQL writes all of a
// row's anyway when an indexed column changes).
func (s *Store) writeIdentities(ctx context.Context, batch []*identityRow) error {
	if len(batch) == 0 {
		return nil
	}
	if s.Dialect == Postgres {
		ids := make([]string, len(batch))
		cols := make([][]*string, 6) // username_skeleton, email_skeleton, then the text when it changes
		for i := range cols {
			cols[i] = make([]*string, len(batch))
		}
		for i, r := range batch {
			ids[i] = r.id
			if r.newUsernameSkel.Valid {
				cols[0][i] = &r.newUsernameSkel.String
			}
			if r.newEmailSkel.Valid {
				cols[1][i] = &r.newEmailSkel.String
			}
			if r.usernameChanged {
				cols[2][i], cols[3][i] = &r.newUsername, ptr(strings.ToLower(r.newUsername))
			}
			if r.emailChanged {
				cols[4][i], cols[5][i] = &r.newEmail, ptr(strings.ToLower(r.newEmail))
			}
		}
		return PgxTx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE users u SET username_skeleton = v.us, email_skeleton = v.es,
				username = coalesce(v.un, u.username), username_lower = coalesce(v.unl, u.username_lower),
				email = coalesce(v.em, u.email), email_lower = coalesce(v.eml, u.email_lower)
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
				AS v(id, us, es, un, unl, em, eml) WHERE u.id = v.id`,
				ids, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])
			return mapError(err)
		})
	}
	const (
		keys = `UPDATE users SET username_skeleton = $2, email_skeleton = $3 WHERE id = $1`
		all  = `UPDATE users SET username_skeleton = $2, email_skeleton = $3, username = $4, username_lower = $5,
			email = $6, email_lower = $7 WHERE id = $1`
	)
	tx, _ := TxFrom(ctx)
	stmts := map[string]*sql.Stmt{}
	for _, r := range batch {
		q, args := keys, []any{r.id, r.newUsernameSkel, r.newEmailSkel}
		if r.usernameChanged || r.emailChanged {
			q, args = all, append(args, r.newUsername, strings.ToLower(r.newUsername), r.newEmail, strings.ToLower(r.newEmail))
		}
		if stmts[q] == nil {
			stmt, err := tx.PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			defer stmt.Close()
			stmts[q] = stmt
		}
		if _, err := stmts[q].ExecContext(ctx, args...); err != nil {
			return mapError(err)
		}
	}
	return nil
}

func ptr(s string) *string { return &s }

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/user"
)

const directoryColumns = `id, name, kind, host, port, security, ca_cert, base_dn, bind_dn, bind_password, config, version, created_at, updated_at, sync_state, next_sync_at`

func scanDirectory(row interface{ Scan(...any) error }) (*directory.Directory, error) {
	var d directory.Directory
	var kind, security, config, state string
	var next sql.Null[time.Time]
	if err := row.Scan(&d.ID, &d.Name, &kind, &d.Host, &d.Port, &security, &d.CACert, &d.BaseDN, &d.BindDN,
		&d.SealedPassword, &config, &d.Version, &d.CreatedAt, &d.UpdatedAt, &state, &next); err != nil {
		return nil, err
	}
	if next.Valid {
		v := next.V.UTC()
		d.NextSyncAt = &v
	}
	if err := json.Unmarshal([]byte(state), &d.State); err != nil {
		return nil, fmt.Errorf("store: directory %s: sync state: %w", d.ID, err)
	}
	d.Kind, d.Security = directory.Kind(kind), directory.Security(security)
	if err := json.Unmarshal([]byte(config), &d.Config); err != nil {
		return nil, fmt.Errorf("store: directory %s: config: %w", d.ID, err)
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// InsertDirectory adds a directory.
func (s *Store) InsertDirectory(ctx context.Context, d *directory.Directory) error {
	config, err := json.Marshal(d.Config)
	if err != nil {
		return err
	}
	_, err = s.writer(ctx).ExecContext(ctx, `INSERT INTO directories (`+directoryColumns+`, name_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '{}', $15, $16)`,
		d.ID, d.Name, string(d.Kind), d.Host, d.Port, string(d.Security), d.CACert, d.BaseDN, d.BindDN,
		d.SealedPassword, string(config), d.Version, d.CreatedAt, d.UpdatedAt, d.NextSyncAt, strings.ToLower(d.Name))
	if err != nil {
		return fmt.Errorf("store: insert directory: %w", mapError(err))
	}
	return nil
}

// UpdateDirectory writes a directory read in the same transaction and bumps its version.
func (s *Store) UpdateDirectory(ctx context.Context, d *directory.Directory) error {
	config, err := json.Marshal(d.Config)
	if err != nil {
		return err
	}
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE directories SET name = $1, name_key = $2, host = $3,
		port = $4, security = $5, ca_cert = $6, base_dn = $7, bind_dn = $8, bind_password = $9, config = $10,
		version = version + 1, updated_at = $11, next_sync_at = $14 WHERE id = $12 AND version = $13`,
		d.Name, strings.ToLower(d.Name), d.Host, d.Port, string(d.Security), d.CACert, d.BaseDN, d.BindDN,
		d.SealedPassword, string(config), d.UpdatedAt, d.ID, d.Version, d.NextSyncAt)
	if err != nil {
		return fmt.Errorf("store: update directory: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stale("directory")
	}
	d.Version++
	return nil
}

// SetSyncState records where a completed sync left off. It is not a change of the directory's
// settings: the version stays.
func (s *Store) SetSyncState(ctx context.Context, id string, st directory.SyncState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := s.writer(ctx).ExecContext(ctx, `UPDATE directories SET sync_state = $2 WHERE id = $1`, id, string(b)); err != nil {
		return fmt.Errorf("store: directory sync state: %w", err)
	}
	return nil
}

// DeleteDirectory forgets a directory. Its users stay, as local users: what the directory
// owned of them can be edited again.
func (s *Store) DeleteDirectory(ctx context.Context, id string) error {
	w := s.writer(ctx)
	if _, err := w.ExecContext(ctx, `UPDATE groups SET source = 'local', external_id = NULL, directory_id = NULL,
		version = version + 1, updated_at = $2 WHERE directory_id = $1`, id, time.Now().UTC()); err != nil {
		return fmt.Errorf("store: release directory groups: %w", mapError(err))
	}
	// A user the directory disabled stays disabled, now as if by an administrator: no sync
	// enables them again.
	if _, err := w.ExecContext(ctx, `UPDATE users SET source = 'local', external_id = NULL, directory_id = NULL,
		disabled_by_directory = FALSE, version = version + 1, updated_at = $2 WHERE directory_id = $1`, id, time.Now().UTC()); err != nil {
		return fmt.Errorf("store: release directory users: %w", mapError(err))
	}
	res, err := w.ExecContext(ctx, `DELETE FROM directories WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: delete directory: %w", mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("directory")
	}
	return nil
}

// Directory reads a directory.
func (s *Store) Directory(ctx context.Context, id string) (*directory.Directory, error) {
	d, err := scanDirectory(s.reader(ctx).QueryRowContext(ctx, `SELECT `+directoryColumns+` FROM directories WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("directory")
	} else if err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	return d, nil
}

// LockDirectory reads a directory in the transaction in ctx and holds it to the transaction's
// end (on SQLite the one writer does already).
func (s *Store) LockDirectory(ctx context.Context, id string) (*directory.Directory, error) {
	if _, ok := TxFrom(ctx); !ok {
		return nil, errors.New("store: LockDirectory needs a transaction from InTx")
	}
	q := `SELECT ` + directoryColumns + ` FROM directories WHERE id = $1`
	if s.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	d, err := scanDirectory(s.writer(ctx).QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("directory")
	} else if err != nil {
		return nil, fmt.Errorf("store: lock directory: %w", err)
	}
	return d, nil
}

// Directories lists every directory by name.
func (s *Store) Directories(ctx context.Context) ([]directory.Directory, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+directoryColumns+` FROM directories ORDER BY name_key, id`)
	if err != nil {
		return nil, fmt.Errorf("store: directories: %w", err)
	}
	defer rows.Close()
	var out []directory.Directory
	for rows.Next() {
		d, err := scanDirectory(rows)
		if err != nil {
			return nil, fmt.Errorf("store: directories: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// CountDirectoryUsers counts the users of a directory.
func (s *Store) CountDirectoryUsers(ctx context.Context, id string) (int64, error) {
	var n int64
	if err := s.reader(ctx).QueryRowContext(ctx, `SELECT count(*) FROM users WHERE directory_id = $1`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count directory users: %w", err)
	}
	return n, nil
}

// CountDirectoryGroups counts the groups of a directory.
func (s *Store) CountDirectoryGroups(ctx context.Context, id string) (int64, error) {
	var n int64
	if err := s.reader(ctx).QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE directory_id = $1`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count directory groups: %w", err)
	}
	return n, nil
}

// DirectoryUsers reads every user of a directory.
func (s *Store) DirectoryUsers(ctx context.Context, id string) ([]*user.User, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE directory_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("store: directory users: %w", err)
	}
	defer rows.Close()
	var out []*user.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: directory users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

const runColumns = `id, directory_id, status, full_sync, confirmed, actor_id, actor_name, actor_perms, client_ip,
	seen, created, updated, disabled, enabled, deleted, failed, plan, errors, reason, created_at, started_at, finished_at,
	confirmed_plan, confirmed_version, groups_created, groups_updated, groups_deleted, members_added, members_removed`

func scanRun(row interface{ Scan(...any) error }) (*directory.Run, error) {
	var r directory.Run
	var status, perms, plan, errList, confirmedPlan string
	var actor sql.NullString
	var started, finished sql.Null[time.Time]
	c := &r.Done
	if err := row.Scan(&r.ID, &r.DirectoryID, &status, &r.Full, &r.Confirmed, &actor, &r.ActorName, &perms, &r.ClientIP,
		&c.Seen, &c.Created, &c.Updated, &c.Disabled, &c.Enabled, &c.Deleted, &c.Failed, &plan, &errList, &r.Reason,
		&r.CreatedAt, &started, &finished, &confirmedPlan, &r.ConfirmedVersion,
		&c.GroupsCreated, &c.GroupsUpdated, &c.GroupsDeleted, &c.MembersAdded, &c.MembersRemoved); err != nil {
		return nil, err
	}
	if confirmedPlan != "" {
		r.ConfirmedPlan = &directory.Confirmation{}
		if err := json.Unmarshal([]byte(confirmedPlan), r.ConfirmedPlan); err != nil {
			return nil, fmt.Errorf("store: sync %s: %w", r.ID, err)
		}
	}
	r.Status, r.ActorID, r.CreatedAt = directory.RunStatus(status), actor.String, r.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(perms), &r.ActorPermissions); err != nil {
		return nil, fmt.Errorf("store: sync %s: %w", r.ID, err)
	}
	r.ActorPermissions = user.NewPermissions(r.ActorPermissions...)
	if err := json.Unmarshal([]byte(errList), &r.Errors); err != nil {
		return nil, fmt.Errorf("store: sync %s: %w", r.ID, err)
	}
	if plan != "" {
		r.Plan = &directory.Plan{}
		if err := json.Unmarshal([]byte(plan), r.Plan); err != nil {
			return nil, fmt.Errorf("store: sync %s: %w", r.ID, err)
		}
	}
	if started.Valid {
		v := started.V.UTC()
		r.StartedAt = &v
	}
	if finished.Valid {
		v := finished.V.UTC()
		r.FinishedAt = &v
	}
	return &r, nil
}

// InsertRun adds a queued sync; a second queued or running one of the directory is refused.
func (s *Store) InsertRun(ctx context.Context, r *directory.Run) error {
	perms, err := json.Marshal(r.ActorPermissions)
	if err != nil {
		return err
	}
	confirmed := ""
	if r.ConfirmedPlan != nil {
		b, err := json.Marshal(r.ConfirmedPlan)
		if err != nil {
			return err
		}
		confirmed = string(b)
	}
	_, err = s.writer(ctx).ExecContext(ctx, `INSERT INTO directory_runs (id, directory_id, status, full_sync, confirmed,
		actor_id, actor_name, actor_perms, client_ip, created_at, confirmed_plan, confirmed_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		r.ID, r.DirectoryID, string(r.Status), r.Full, r.Confirmed, nullable(r.ActorID), r.ActorName, string(perms), r.ClientIP,
		r.CreatedAt, confirmed, r.ConfirmedVersion)
	if err != nil {
		return fmt.Errorf("store: insert sync: %w", mapError(err))
	}
	return nil
}

// Run reads one sync.
func (s *Store) Run(ctx context.Context, id string) (*directory.Run, error) {
	r, err := scanRun(s.reader(ctx).QueryRowContext(ctx, `SELECT `+runColumns+` FROM directory_runs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("sync")
	} else if err != nil {
		return nil, fmt.Errorf("store: sync: %w", err)
	}
	return r, nil
}

// Runs lists a directory's syncs, newest first.
func (s *Store) Runs(ctx context.Context, directoryID string, limit int) ([]directory.Run, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+runColumns+` FROM directory_runs WHERE directory_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, directoryID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: syncs: %w", err)
	}
	defer rows.Close()
	var out []directory.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: syncs: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// StartRun moves a queued (or, run again, a running) sync to running.
func (s *Store) StartRun(ctx context.Context, id string, at time.Time) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE directory_runs SET status = 'running',
		started_at = COALESCE(started_at, $2), heartbeat_at = $2 WHERE id = $1 AND status IN ('queued', 'running')`, id, at)
	if err != nil {
		return fmt.Errorf("store: start sync: %w", err)
	}
	return nil
}

// RecordRun writes what a running sync did so far.
func (s *Store) RecordRun(ctx context.Context, id string, c directory.Counts, errList []directory.EntryError) error {
	if errList == nil {
		errList = []directory.EntryError{}
	}
	b, err := json.Marshal(errList)
	if err != nil {
		return err
	}
	_, err = s.writer(ctx).ExecContext(ctx, `UPDATE directory_runs SET seen = $2, created = $3, updated = $4, disabled = $5,
		enabled = $6, deleted = $7, failed = $8, errors = $9, heartbeat_at = $10, groups_created = $11, groups_updated = $12,
		groups_deleted = $13, members_added = $14, members_removed = $15 WHERE id = $1`,
		id, c.Seen, c.Created, c.Updated, c.Disabled, c.Enabled, c.Deleted, c.Failed, string(b), time.Now().UTC(),
		c.GroupsCreated, c.GroupsUpdated, c.GroupsDeleted, c.MembersAdded, c.MembersRemoved)
	if err != nil {
		return fmt.Errorf("store: record sync: %w", err)
	}
	return nil
}

// RecordPlan writes the plan a running sync applies, with what reading found: the entries seen
// and those refused.
func (s *Store) RecordPlan(ctx context.Context, id string, plan *directory.Plan) error {
	b, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	errList, err := json.Marshal(plan.Errors)
	if err != nil {
		return err
	}
	_, err = s.writer(ctx).ExecContext(ctx, `UPDATE directory_runs SET plan = $2, seen = $3, failed = $4, errors = $5
		WHERE id = $1 AND status = 'running'`, id, string(b), plan.Counts.Seen, plan.Counts.Failed, string(errList))
	if err != nil {
		return fmt.Errorf("store: record sync plan: %w", err)
	}
	return nil
}

// HoldRun stops a running sync on the safety rules, with its plan.
func (s *Store) HoldRun(ctx context.Context, id string, plan *directory.Plan, reason string, at time.Time) error {
	if err := s.RecordPlan(ctx, id, plan); err != nil {
		return err
	}
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE directory_runs SET status = 'needs_confirmation', reason = $2,
		finished_at = $3 WHERE id = $1 AND status = 'running'`, id, reason, at)
	if err != nil {
		return fmt.Errorf("store: hold sync: %w", err)
	}
	return nil
}

// FinishRun moves a sync from one status to a final one.
func (s *Store) FinishRun(ctx context.Context, id string, from, to directory.RunStatus, at time.Time, reason string) (bool, error) {
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE directory_runs SET status = $3, finished_at = $4, reason = $5
		WHERE id = $1 AND status = $2`, id, string(from), string(to), at, reason)
	if err != nil {
		return false, fmt.Errorf("store: finish sync: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: finish sync: %w", err)
	}
	return n == 1, nil
}

// FailStaleRuns ends the queued or running syncs of a directory with no sign of life since
// before: their job died with its process (or was given up), and would otherwise keep every
// later sync of the directory from starting.
func (s *Store) FailStaleRuns(ctx context.Context, directoryID string, before, now time.Time, reason string) error {
	_, err := s.writer(ctx).ExecContext(ctx, `UPDATE directory_runs SET status = 'failed', finished_at = $3, reason = $4
		WHERE directory_id = $1 AND status IN ('queued', 'running') AND COALESCE(heartbeat_at, created_at) < $2`,
		directoryID, before, now, reason)
	if err != nil {
		return fmt.Errorf("store: fail stale syncs: %w", err)
	}
	return nil
}

// DueDirectories lists the directories whose next scheduled sync is at or before now, the
// longest due first.
func (s *Store) DueDirectories(ctx context.Context, now time.Time, limit int) ([]directory.Directory, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+directoryColumns+` FROM directories
		WHERE next_sync_at IS NOT NULL AND next_sync_at <= $1 ORDER BY next_sync_at, id LIMIT $2`, now.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due directories: %w", err)
	}
	defer rows.Close()
	var out []directory.Directory
	for rows.Next() {
		d, err := scanDirectory(rows)
		if err != nil {
			return nil, fmt.Errorf("store: due directories: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// ClaimScheduledSync moves a directory's next scheduled sync from seen to next, only if it is
// still seen: of several schedulers that read the same due occurrence, the one whose statement
// changes the row starts it (on PostgreSQL the others wait for its row lock, then find the row
// changed; on SQLite the one writer serialises them). It is not a change of the directory's
// settings: the version stays.
func (s *Store) ClaimScheduledSync(ctx context.Context, id string, seen time.Time, next *time.Time) (bool, error) {
	var n *time.Time
	if next != nil {
		v := next.UTC()
		n = &v
	}
	res, err := s.writer(ctx).ExecContext(ctx, `UPDATE directories SET next_sync_at = $3 WHERE id = $1 AND next_sync_at = $2`,
		id, seen.UTC(), n)
	if err != nil {
		return false, fmt.Errorf("store: claim scheduled sync: %w", err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim scheduled sync: %w", err)
	}
	return rows == 1, nil
}

// ActiveRun is the queued or running sync of a directory, or nil.
func (s *Store) ActiveRun(ctx context.Context, directoryID string) (*directory.Run, error) {
	r, err := scanRun(s.reader(ctx).QueryRowContext(ctx, `SELECT `+runColumns+` FROM directory_runs
		WHERE directory_id = $1 AND status IN ('queued', 'running')`, directoryID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: active sync: %w", err)
	}
	return r, nil
}

// UsersWithPermission lists the active users with an email address who hold p, directly or
// through a group, oldest first: whom to tell about what needs p.
func (s *Store) UsersWithPermission(ctx context.Context, p user.Permission, limit int) ([]*user.User, error) {
	holds := `(' ' || r.permissions || ' ') LIKE $1`
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE id IN (
			SELECT ur.user_id FROM roles r JOIN user_roles ur ON ur.role_id = r.id WHERE `+holds+`
			UNION SELECT gm.user_id FROM roles r JOIN group_roles gr ON gr.role_id = r.id
			JOIN group_members gm ON gm.group_id = gr.group_id WHERE `+holds+`)
		AND status = 'active' AND email <> '' ORDER BY created_at, id LIMIT $2`, "% "+string(p)+" %", limit)
	if err != nil {
		return nil, fmt.Errorf("store: users with %s: %w", p, err)
	}
	defer rows.Close()
	var out []*user.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users with %s: %w", p, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountDirectoryUsersByStatus counts the users of a directory by status.
func (s *Store) CountDirectoryUsersByStatus(ctx context.Context, id string) (map[user.Status]int64, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT status, count(*) FROM users WHERE directory_id = $1 GROUP BY status`, id)
	if err != nil {
		return nil, fmt.Errorf("store: count directory users: %w", err)
	}
	defer rows.Close()
	out := map[user.Status]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: count directory users: %w", err)
		}
		out[user.Status(st)] = n
	}
	return out, rows.Err()
}

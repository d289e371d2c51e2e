package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// exportBatch is how many users EachUser reads and hands over at a time.
const exportBatch = 1000

// exportColumns are the columns of a user that an export writes (see imports.WriteUsers), and
// what resolves their roles and groups: no timestamps, no password hash, no status.
const exportColumns = `id, username, email, first_name, last_name, phone, department, manager_id, manager_name,
	custom_values, role_ids, group_ids, (SELECT version FROM catalog_version)`

// EachUser calls fn with every user f selects, in f's order, a thousand at a time, as an export
// needs them: exportColumns only (the rest of each user is left empty). A list query reads pages
// of whole users; at a million users, reading each row's four timestamps alone cost the export
// a sixth of its time. Each batch is one index range read from where the last ended, and its
// rows are closed before its roles and groups are resolved and before fn runs: an export holds
// no connection, and no snapshot, while it waits for a slow download or for another read (one
// that waits for a second connection while holding the first can starve the pool). A search
// (f.Q) is refused: it is paged through ListUsers, whose match order no range read gives.
func (s *Store) EachUser(ctx context.Context, f user.Filter, fn func([]*user.Detail) error) error {
	if strings.TrimSpace(f.Q) != "" {
		return errs.E(errs.Internal, "store.each_search", "EachUser does not search; page through ListUsers")
	}
	sort := f.SortOrder()
	col := sortColumns[strings.TrimPrefix(sort, "-")]
	if col == "" {
		return errs.Field("sort", "filter.sort_invalid", "Unknown sort order.")
	}
	op, dir := ">", "ASC"
	if strings.HasPrefix(sort, "-") {
		op, dir = "<", "DESC"
	}
	key := col
	if s.Dialect != Postgres && strings.HasSuffix(col, "_at") {
		// The time as the text it is stored as: modernc would parse every row's into a time.Time
		// (a tenth of the export's time), and the next batch compares it as text again.
		key = col + " || ''"
	}
	var last *exportKey
	for {
		var args sqlArgs
		where, err := userConditions(f, &args)
		if err != nil {
			return err
		}
		if last != nil {
			where = append(where, after(col, op, args.add(last.v), args.add(last.id)))
		}
		query := `SELECT ` + exportColumns + `, ` + key + ` FROM users WHERE true` + and(where) +
			fmt.Sprintf(" ORDER BY %s %s, id %s LIMIT %d", col, dir, dir, exportBatch)
		batch, key, err := s.exportBatch(ctx, query, args)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		details, err := s.listedDetails(ctx, batch)
		if err != nil {
			return err
		}
		if err := fn(details); err != nil {
			return err
		}
		if len(batch) < exportBatch {
			return nil
		}
		last = key
	}
}

// exportKey is where a batch of an export ended: the sort column's value and the id of its
// last row.
type exportKey struct {
	v  any
	id string
}

// exportBatch reads one batch and closes its rows.
func (s *Store) exportBatch(ctx context.Context, query string, args sqlArgs) ([]*listed, *exportKey, error) {
	rows, err := s.queryList(ctx, query, args)
	if err != nil {
		return nil, nil, fmt.Errorf("store: export users: %w", err)
	}
	defer rows.Close()
	batch := make([]*listed, 0, exportBatch)
	var key exportKey
	for rows.Next() {
		l, err := scanExported(rows, &key.v)
		if err != nil {
			return nil, nil, err
		}
		if b, ok := key.v.([]byte); ok {
			key.v = string(b) // compared as text, not as a blob, in the next batch's condition
		}
		key.id = l.ID
		batch = append(batch, l)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: export users: %w", err)
	}
	return batch, &key, nil
}

// scanExported reads a row of exportColumns and the sort column's value into key.
func scanExported(rows *sql.Rows, key *any) (*listed, error) {
	var u user.User
	var l listed
	var managerID sql.NullString
	var custom string
	if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &u.Department,
		&managerID, &u.ManagerName, &custom, &l.roleIDs, &l.groupIDs, &l.catalogVersion, key); err != nil {
		return nil, fmt.Errorf("store: export users: %w", err)
	}
	u.ManagerID = managerID.String
	var err error
	if u.Custom, err = parseCustom(custom); err != nil {
		return nil, err
	}
	l.User = &u
	return &l, nil
}

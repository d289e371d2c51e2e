package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// exportBatch is how many users EachUser hands over at a time.
const exportBatch = 1000

// exportColumns are the columns of a user that an export writes (see imports.WriteUsers), and
// what resolves their roles and groups: no timestamps, no password hash, no status.
const exportColumns = `id, username, email, first_name, last_name, phone, department, manager_id, manager_name,
	custom_values, role_ids, group_ids, (SELECT version FROM catalog_version)`

// EachUser calls fn with every user f selects, in f's order, a thousand at a time, as an export
// needs them: one query and so one snapshot of the database, whatever the number, reading only
// exportColumns (the rest of each user is left empty). A list query reads pages of whole users;
// at a million users, reading each row's four timestamps alone cost the export a sixth of its
// time. A search (f.Q) is refused: it is paged through ListUsers, whose match order no single
// query gives.
func (s *Store) EachUser(ctx context.Context, f user.Filter, fn func([]*user.Detail) error) error {
	if strings.TrimSpace(f.Q) != "" {
		return errs.E(errs.Internal, "store.each_search", "EachUser does not search; page through ListUsers")
	}
	var args sqlArgs
	where, err := userConditions(f, &args)
	if err != nil {
		return err
	}
	sort := f.SortOrder()
	col := sortColumns[strings.TrimPrefix(sort, "-")]
	if col == "" {
		return errs.Field("sort", "filter.sort_invalid", "Unknown sort order.")
	}
	dir := "ASC"
	if strings.HasPrefix(sort, "-") {
		dir = "DESC"
	}
	rows, err := s.queryList(ctx, `SELECT `+exportColumns+` FROM users WHERE true`+and(where)+
		fmt.Sprintf(" ORDER BY %s %s, id %s", col, dir, dir), args)
	if err != nil {
		return fmt.Errorf("store: export users: %w", err)
	}
	defer rows.Close()
	batch := make([]*listed, 0, exportBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		details, err := s.listedDetails(ctx, batch)
		if err != nil {
			return err
		}
		batch = batch[:0]
		return fn(details)
	}
	for rows.Next() {
		l, err := scanExported(rows)
		if err != nil {
			return err
		}
		if batch = append(batch, l); len(batch) == exportBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: export users: %w", err)
	}
	return flush()
}

func scanExported(rows *sql.Rows) (*listed, error) {
	var u user.User
	var l listed
	var managerID sql.NullString
	var custom string
	if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &u.Department,
		&managerID, &u.ManagerName, &custom, &l.roleIDs, &l.groupIDs, &l.catalogVersion); err != nil {
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

package user

import (
	"context"
	"fmt"
	"strings"

	"github.com/usherhq/usher/internal/errs"
)

// ExportSort is the order of an export that names none and searches nothing.
const ExportSort = "created_at"

// MaxXLSXUsers is how many users an XLSX export can hold: a sheet's rows, less the header.
const MaxXLSXUsers = 1<<20 - 1

// UserExport is an export of users that ExportUsers checked and recorded, ready to be read.
type UserExport struct {
	s        *Service
	filter   Filter
	first    []*Detail
	next     string
	Fields   []Field // the custom fields, in their order
	managers map[string]string
	total    int64 // how many users it holds; -1 when a filter narrows it (not counted)
}

// Total is how many users the export holds, for a progress bar, when it is known without
// counting: every user (no filter). ok is false when a filter narrows the export.
func (x *UserExport) Total() (n int64, ok bool) { return x.total, x.total >= 0 }

// ExportUsers prepares an export of every user f selects (its Limit and Cursor are ignored), in
// f's order, as "csv" or "xlsx". Before a user is handed out it checks that the actor may read
// and export users (users.read and export.run) and the filter,
// and records the export in the audit log (who, with which filter), so that a refusal is still
// an error the caller can answer with, and every export is audited. A search is read a page at
// a time and shows the first page's errors before that record; every other export is read by
// one query (store EachUser).
func (s *Service) ExportUsers(ctx context.Context, a Actor, f Filter, format string) (*UserExport, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	if err := a.Require(ExportRun); err != nil {
		return nil, err
	}
	if format != "csv" && format != "xlsx" {
		return nil, errs.Field("format", "user.export_format", "The format must be csv or xlsx.")
	}
	f.Limit, f.Cursor = MaxPage, ""
	if f.Sort == "" && strings.TrimSpace(f.Q) == "" {
		// A file's rows in the order the users were made, new ones last: the table's own order,
		// which a million users are read in fastest. A spreadsheet sorts them otherwise.
		f.Sort = ExportSort
	}
	if err := s.normaliseFilter(ctx, &f); err != nil {
		return nil, err
	}
	x := &UserExport{s: s, filter: f, managers: map[string]string{}, total: -1}
	if len(userExportQuery(f)) == 0 {
		c, err := s.store.CountUsers(ctx) // kept, not counted: cheap
		if err != nil {
			return nil, err
		}
		x.total = c.Total
		if format == "xlsx" && c.Total > MaxXLSXUsers {
			return nil, errs.Field("format", "user.export_too_large",
				fmt.Sprintf("An XLSX sheet holds at most %d users, and there are %d: export CSV, or narrow the export with a filter.", MaxXLSXUsers, c.Total))
		}
	}
	var err error
	if x.Fields, err = s.store.Fields(ctx); err != nil {
		return nil, err
	}
	if x.search() {
		if x.first, x.next, err = s.store.ListUsers(ctx, f); err != nil {
			return nil, err
		}
	}
	details := map[string]any{"format": format}
	if q := userExportQuery(f); len(q) > 0 {
		details["filter"] = q
	}
	if err := s.audit(ctx, a, "user.export", "user", "", "", details); err != nil {
		return nil, err
	}
	return x, nil
}

// search reports whether the export is of a search, read a page at a time.
func (x *UserExport) search() bool { return strings.TrimSpace(x.filter.Q) != "" }

// userExportQuery is the filter as the export's audit record shows it: what narrowed it.
func userExportQuery(f Filter) map[string]any {
	q := map[string]any{}
	for k, v := range map[string]string{"q": f.Q, "status": string(f.Status), "source": string(f.Source),
		"role": f.RoleID, "group": f.GroupID} {
		if v != "" {
			q[k] = v
		}
	}
	if len(f.Custom) > 0 {
		q["field"] = f.Custom
	}
	return q
}

// Each calls fn with each user the export selects and returns how many it handed out. It
// stops at fn's first error.
func (x *UserExport) Each(ctx context.Context, fn func(*Detail) error) (int, error) {
	n := 0
	each := func(users []*Detail) error {
		for _, d := range users {
			if err := fn(d); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	if !x.search() {
		return n, x.s.store.EachUser(ctx, x.filter, each)
	}
	page, next := x.first, x.next
	x.first = nil
	for {
		if err := each(page); err != nil {
			return n, err
		}
		if next == "" {
			return n, nil
		}
		f := x.filter
		f.Cursor = next
		var err error
		if page, next, err = x.s.store.ListUsers(ctx, f); err != nil {
			return n, fmt.Errorf("user export: %w", err)
		}
	}
}

// maxManagers bounds the managers' emails an export keeps at once.
const maxManagers = 10_000

// ManagerEmail is the email of a user's manager when the manager is a user of usher, as the
// import reads the Manager column back; empty otherwise (a directory's free-text name is not
// a user the import could find).
func (x *UserExport) ManagerEmail(ctx context.Context, d *Detail) (string, error) {
	if d.ManagerID == "" {
		return "", nil
	}
	if email, ok := x.managers[d.ManagerID]; ok {
		return email, nil
	}
	m, err := x.s.store.User(ctx, d.ManagerID)
	if errs.Is(errs.NotFound, err) {
		return "", nil // deleted since the page was read: the user has no manager now
	} else if err != nil {
		return "", fmt.Errorf("user export: manager of %s: %w", d.ID, err)
	}
	if len(x.managers) >= maxManagers {
		clear(x.managers)
	}
	x.managers[d.ManagerID] = m.Email
	return m.Email, nil
}

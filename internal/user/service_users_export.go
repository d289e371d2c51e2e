package user

import (
	"context"
	"fmt"

	"github.com/usherhq/usher/internal/errs"
)

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
}

// ExportUsers prepares an export of every user f selects (its Limit and Cursor are ignored), in
// f's order. Before a user is handed out it checks that the actor may read users, reads the
// first page and records the export in the audit log (who, with which filter), so that a
// refusal is still an error the caller can answer with, and every export is audited.
func (s *Service) ExportUsers(ctx context.Context, a Actor, f Filter, format string) (*UserExport, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	f.Limit, f.Cursor = MaxPage, ""
	if err := s.normaliseFilter(ctx, &f); err != nil {
		return nil, err
	}
	if format == "xlsx" && len(userExportQuery(f)) == 0 {
		c, err := s.store.CountUsers(ctx)
		if err != nil {
			return nil, err
		}
		if c.Total > MaxXLSXUsers {
			return nil, errs.Field("format", "user.export_too_large",
				fmt.Sprintf("An XLSX sheet holds at most %d users, and there are %d: export CSV, or narrow the export with a filter.", MaxXLSXUsers, c.Total))
		}
	}
	x := &UserExport{s: s, filter: f, managers: map[string]string{}}
	var err error
	if x.Fields, err = s.store.Fields(ctx); err != nil {
		return nil, err
	}
	if x.first, x.next, err = s.store.ListUsers(ctx, f); err != nil {
		return nil, err
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

// Each calls fn with each user the export selects, a page at a time, and returns how many it
// handed out. It stops at fn's first error.
func (x *UserExport) Each(ctx context.Context, fn func(*Detail) error) (int, error) {
	n := 0
	page, next := x.first, x.next
	x.first = nil
	for {
		for _, d := range page {
			if err := fn(d); err != nil {
				return n, err
			}
			n++
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
// import reads the Manager column back; the free-text name from a directory otherwise.
func (x *UserExport) ManagerEmail(ctx context.Context, d *Detail) (string, error) {
	if d.ManagerID == "" {
		return d.ManagerName, nil
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

package imports

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

// ActionUpdate is the action an exported row carries, so that the file, edited and imported
// again, changes the users it lists.
const ActionUpdate = "Update"

// WriteUsers writes the users of an export in the import format (Headers): a user's direct
// roles (roles through groups come with the groups), groups, manager by email (empty when a
// directory gives the manager only as a name, which the import could not find) and custom
// values, each row marked Update. It returns how many users it wrote. The file is whole only
// when it returns no error and w is closed.
func WriteUsers(ctx context.Context, x *user.UserExport, w sheet.Writer) (int, error) {
	if err := w.Write(Headers(x.Fields)); err != nil {
		return 0, err
	}
	row := make([]string, 0, len(headers)+len(x.Fields))
	var roles, groups []string
	return x.Each(ctx, func(d *user.Detail) error {
		roles, groups = roles[:0], groups[:0]
		for _, g := range d.Roles {
			if g.Direct {
				roles = append(roles, g.Name)
			}
		}
		for _, g := range d.Groups {
			groups = append(groups, g.Name)
		}
		manager, err := x.ManagerEmail(ctx, d)
		if err != nil {
			return err
		}
		row = append(row[:0], d.Username, d.Email, d.FirstName, d.LastName, ActionUpdate,
			strings.Join(roles, ListSeparator), strings.Join(groups, ListSeparator), d.Phone, d.Department, manager)
		for _, f := range x.Fields {
			row = append(row, d.Custom[f.Name])
		}
		return w.Write(row)
	})
}

// Export writes the users of an export to w as a whole file of the format (WriteUsers), and
// returns how many it wrote.
func Export(ctx context.Context, x *user.UserExport, format sheet.Format, w io.Writer) (int, error) {
	sw, err := sheet.NewWriter(w, format)
	if err != nil {
		return 0, err
	}
	n, err := WriteUsers(ctx, x, sw)
	// Closed also after an error, which frees the XLSX writer's temporary files; what it then
	// writes goes to a response that breaks off.
	if cerr := sw.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// FileName is the name an export of the format is saved under, dated with the day.
func FileName(format sheet.Format, at time.Time) string {
	return "usher-users-" + at.UTC().Format(time.DateOnly) + "." + string(format)
}

// ListSeparator separates the roles and the groups in a cell.
const ListSeparator = "; "

// Template is the header row of an empty import file for this installation: the built-in
// columns and its custom fields, a * on what a new user must have. It needs the right to import.
func Template(ctx context.Context, users *user.Service, a user.Actor) ([]string, error) {
	if err := a.Require(user.ImportRun); err != nil {
		return nil, err
	}
	fields, err := users.Fields(ctx, a)
	if err != nil {
		return nil, err
	}
	return Headers(fields), nil
}

// WriteTemplate writes an import file of the format holding the header row alone.
func WriteTemplate(header []string, format sheet.Format, w io.Writer) error {
	sw, err := sheet.NewWriter(w, format)
	if err != nil {
		return err
	}
	err = sw.Write(header)
	if cerr := sw.Close(); err == nil {
		err = cerr
	}
	return err
}

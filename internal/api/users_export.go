package api

import (
	"context"
	"io"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

// userExportInput is the filter of a users export: GET /api/v1/users's, without paging.
type userExportInput struct {
	Format string   `query:"format" required:"true" enum:"csv,xlsx" doc:"csv: UTF-8 with a byte order mark, commas, cells a spreadsheet would run as a formula prefixed with an apostrophe (the import takes it away). xlsx: one sheet, every cell text."`
	Q      string   `query:"q" doc:"As list-users."`
	Status string   `query:"status" enum:"invited,active,locked,disabled," doc:"Only users in this status."`
	Source string   `query:"source" enum:"local,directory,scim," doc:"Only users from this source."`
	Role   string   `query:"role" doc:"Only users holding this role, directly or through a group (role id)."`
	Group  string   `query:"group" doc:"Only members of this group (group id)."`
	Field  []string `query:"field,explode" doc:"Custom field filter NAME=VALUE; repeat for several (all must match)."`
	Sort   string   `query:"sort" doc:"As list-users, but created_at (the order users were made, new ones last) by default; match order with q."`
}

// exportUsers streams the users the filter selects in the import format. The service checks
// the permission and records the export before the first byte.
func (s *Server) exportUsers(ctx context.Context, in *userExportInput) (*huma.StreamResponse, error) {
	f := user.Filter{Q: in.Q, Status: user.Status(in.Status), Source: user.Source(in.Source), RoleID: in.Role,
		GroupID: in.Group, Sort: in.Sort}
	if err := customFilter(&f, in.Field); err != nil {
		return nil, err
	}
	x, err := s.deps.Users.ExportUsers(ctx, actorFrom(ctx), f, in.Format)
	if err != nil {
		return nil, err
	}
	format := sheet.Format(in.Format)
	return fileResponse(format.ContentType(), imports.FileName(format, time.Now()), func(ctx context.Context, w io.Writer) error {
		_, err := imports.Export(ctx, x, format, w)
		return err
	}), nil
}

// usersExportResponse documents the export's answer: a file in either format.
func usersExportResponse(o huma.Operation) huma.Operation {
	return sheetResponse(o, "The file in the import format, sent as it is read (Content-Disposition: attachment; filename=usher-users-YYYY-MM-DD.csv or .xlsx). Each row's Action is Update, so the file, edited, can be imported as it is.",
		"attachment, with a file name dated with the day of the export.")
}

package api

import (
	"context"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/sheet"
)

type importTemplateInput struct {
	Format string `query:"format" required:"true" enum:"csv,xlsx" doc:"csv: UTF-8 with a byte order mark and commas. xlsx: one sheet."`
}

// importTemplate is an empty import file: the header row, with this installation's custom
// fields and a * on each column a new user must have.
func (s *Server) importTemplate(ctx context.Context, in *importTemplateInput) (*huma.StreamResponse, error) {
	header, err := imports.Template(ctx, s.deps.Users, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	format := sheet.Format(in.Format)
	return fileResponse(format.ContentType(), "usher-import-template."+in.Format, func(_ context.Context, w io.Writer) error {
		return imports.WriteTemplate(header, format, w)
	}), nil
}

// templateResponse documents the template's answer: a file in either format.
func templateResponse(o huma.Operation) huma.Operation {
	o.DefaultStatus = http.StatusOK
	text := &huma.Schema{Type: huma.TypeString}
	o.Responses = map[string]*huma.Response{"200": {
		Description: "The header row of an import file: Username, Email*, First name*, Last name*, Action, Roles, Groups, Phone, Department, Manager, then each custom field by its label (* when it is required). Content-Disposition: attachment; filename=usher-import-template.csv or .xlsx.",
		Headers:     map[string]*huma.Param{"Content-Disposition": {Description: "attachment, with the file name.", Schema: text}},
		Content: map[string]*huma.MediaType{
			"text/csv":               {Schema: text},
			sheet.XLSX.ContentType(): {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}},
		}}}
	return o
}

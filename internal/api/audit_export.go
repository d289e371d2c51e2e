package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/audit"
)

// auditExportInput is the filter of an audit export: GET /api/v1/audit's, without paging.
type auditExportInput struct {
	Format  string    `query:"format" required:"true" enum:"csv,json" doc:"csv: a header row and one row per event, details as compact JSON in one cell, cells a spreadsheet would run as a formula prefixed with an apostrophe. json: one array of events."`
	Actor   string    `query:"actor" doc:"Only events by this user: their id, or the username or email of a user who exists."`
	Target  string    `query:"target" doc:"Only events about this id."`
	Action  string    `query:"action" doc:"An action (user.lock) or a prefix ending in a dot (user.)."`
	Outcome string    `query:"outcome" enum:"success,failure,"`
	From    time.Time `query:"from" doc:"Only events at or after this time (RFC 3339)."`
	To      time.Time `query:"to" doc:"Only events before this time (RFC 3339)."`
}

// exportAudit streams the events the filter selects, newest first, as a file to save. The
// service checks the permission and records the export before the first byte.
func (s *Server) exportAudit(ctx context.Context, in *auditExportInput) (*huma.StreamResponse, error) {
	x, err := s.deps.Users.ExportAudit(ctx, actorFrom(ctx), audit.Filter{ActorID: in.Actor, TargetID: in.Target,
		Action: in.Action, Outcome: in.Outcome, From: in.From, To: in.To}, in.Format)
	if err != nil {
		return nil, err
	}
	return fileResponse(x.ContentType(), x.FileName(), func(ctx context.Context, w io.Writer) error {
		_, err := x.Write(ctx, w)
		return err
	}), nil
}

// fileResponse streams a file to save as it is made. An error part way breaks the connection
// rather than ending the response: a cut file must not look whole.
func fileResponse(contentType, name string, write func(ctx context.Context, w io.Writer) error) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", contentType)
		hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		hctx.SetHeader("X-Content-Type-Options", "nosniff")
		hctx.SetStatus(http.StatusOK)
		if err := write(hctx.Context(), hctx.BodyWriter()); err != nil {
			logError(hctx.Context(), "download of "+name+" broke off", err)
			panic(http.ErrAbortHandler)
		}
	}}
}

// exportResponse documents the export's answer: a file in either format.
func exportResponse(o huma.Operation) huma.Operation {
	o.DefaultStatus = http.StatusOK
	text := &huma.Schema{Type: huma.TypeString}
	o.Responses = map[string]*huma.Response{"200": {
		Description: "The file, newest event first, sent as it is read (Content-Disposition: attachment; filename=usher-audit-YYYY-MM-DD.csv or .json).",
		Headers: map[string]*huma.Param{"Content-Disposition": {Description: "attachment, with a file name dated with the day of the export.",
			Schema: text}},
		Content: map[string]*huma.MediaType{
			"text/csv":         {Schema: text},
			"application/json": {Schema: &huma.Schema{Type: huma.TypeArray, Items: &huma.Schema{Ref: "#/components/schemas/AuditBody"}}},
		}}}
	return o
}

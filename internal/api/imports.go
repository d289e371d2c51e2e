package api

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/errs"
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
	return sheetResponse(o, "The header row of an import file: Username, Email*, First name*, Last name*, Action, Roles, Groups, Phone, Department, Manager, then each custom field by its label (* when it is required). Content-Disposition: attachment; filename=usher-import-template.csv or .xlsx.",
		"attachment, with the file name.")
}

// sheetResponse documents an answer that is a file of users, CSV or XLSX.
func sheetResponse(o huma.Operation, description, disposition string) huma.Operation {
	o.DefaultStatus = http.StatusOK
	text := &huma.Schema{Type: huma.TypeString}
	o.Responses = map[string]*huma.Response{"200": {
		Description: description,
		Headers:     map[string]*huma.Param{"Content-Disposition": {Description: disposition, Schema: text}},
		Content: map[string]*huma.MediaType{
			"text/csv":               {Schema: text},
			sheet.XLSX.ContentType(): {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}},
		}}}
	return o
}

// importBody is an import: its file, where it stands, and its counts.
type importBody struct {
	ID          string      `json:"id"`
	FileName    string      `json:"file_name"`
	Format      string      `json:"format" enum:"csv,txt,xlsx"`
	Status      string      `json:"status" enum:"staging,staged,queued,processing,completed,failed,cancelled" doc:"staging: the file is being read. staged: previewed, waiting for start-import. queued, processing: being applied (rows_done of rows). completed, failed, cancelled: final; the rows applied stay."`
	Invitations bool        `json:"invitations" doc:"The file holds addresses only (with roles or groups at most): each new row invites a person."`
	Invite      bool        `json:"invite" doc:"New users are invited by email (the send-invitations option, or an invitation file); otherwise they are created active without a password."`
	Rows        int64       `json:"rows" doc:"Rows in the file, the header not counted."`
	RowsDone    int64       `json:"rows_done" doc:"Rows applied so far, each with its outcome."`
	Plan        countsBody  `json:"plan" doc:"What the preview found each row would do."`
	Result      countsBody  `json:"result" doc:"What applying did so far."`
	Columns     []string    `json:"columns" doc:"The header row as the file has it."`
	Unknown     []string    `json:"unknown_columns" doc:"Headers usher does not know: those columns are read past."`
	CreatedBy   string      `json:"created_by"`
	CreatedAt   time.Time   `json:"created_at"`
	StartedAt   *time.Time  `json:"started_at,omitempty"`
	FinishedAt  *time.Time  `json:"finished_at,omitempty"`
	CancelledBy string      `json:"cancelled_by,omitempty"`
	Error       string      `json:"error,omitempty" doc:"Why a failed import stopped."`
	Links       importLinks `json:"links"`
}

type importLinks struct {
	Report     string `json:"report"`
	FailedRows string `json:"failed_rows"`
}

// countsBody is how many rows have each outcome.
type countsBody struct {
	Create int64 `json:"create"`
	Update int64 `json:"update"`
	Delete int64 `json:"delete"`
	Skip   int64 `json:"skip"`
	Error  int64 `json:"error"`
}

func toImportBody(imp *imports.Import) importBody {
	counts := func(c imports.Counts) countsBody {
		return countsBody{Create: c.Create, Update: c.Update, Delete: c.Delete, Skip: c.Skip, Error: c.Error}
	}
	unknown := imp.Unknown
	if unknown == nil {
		unknown = []string{}
	}
	base := "/api/v1/imports/" + imp.ID
	return importBody{ID: imp.ID, FileName: imp.FileName, Format: string(imp.Format), Status: string(imp.Status),
		Invitations: imp.Invitations, Invite: imp.Invite, Rows: imp.Rows, RowsDone: imp.Done, Plan: counts(imp.Plan),
		Result: counts(imp.Result), Columns: imp.Header, Unknown: unknown, CreatedBy: imp.ActorName, CreatedAt: imp.CreatedAt,
		StartedAt: imp.StartedAt, FinishedAt: imp.FinishedAt, CancelledBy: imp.CancelledBy, Error: imp.Error,
		Links: importLinks{Report: base + "/report", FailedRows: base + "/failed-rows"}}
}

// importRowBody is one row of an import file and what it does or did.
type importRowBody struct {
	Row     int64  `json:"row" doc:"The row number a spreadsheet shows: the header is row 1."`
	Outcome string `json:"outcome" enum:"create,update,delete,skip,error"`
	Column  string `json:"column,omitempty" doc:"The column a problem is about, as the file heads it."`
	Value   string `json:"value,omitempty" doc:"That cell's value."`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty" doc:"The problem as a person reads it: Row 17, Email: Enter a valid email address, like name@example.com."`
	UserID  string `json:"user_id,omitempty" doc:"The user the row made or changed, once applied."`
}

func toImportRows(rows []imports.Row) []importRowBody {
	out := make([]importRowBody, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = importRowBody{Row: r.No, Outcome: string(r.Outcome()), Column: r.Field, Value: r.Value, Reason: r.Reason,
			Message: r.Message(), UserID: r.UserID}
	}
	return out
}

type stageImportInput struct {
	RawBody multipart.Form
}

type previewOutput struct {
	Location string `header:"Location"`
	Body     struct {
		importBody
		Preview map[string][]importRowBody `json:"preview" doc:"The first rows of each planned outcome (up to 10 each), keyed by outcome."`
	}
}

// stageImport reads an uploaded file into a staged import and answers with its preview. The
// body's size was checked from its length before a byte was read (uploadLimit).
func (s *Server) stageImport(ctx context.Context, in *stageImportInput) (*previewOutput, error) {
	files := in.RawBody.File["file"]
	if len(files) != 1 {
		return nil, errs.Field("file", "import.file_missing", "Send one file in the form field \"file\": a "+sheet.Formats+" file of users.")
	}
	invite := false
	if v := in.RawBody.Value["invite"]; len(v) > 0 {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			return nil, errs.Field("invite", "import.invite_invalid", "invite is true or false.")
		}
		invite = b
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := s.deps.Imports.Stage(ctx, actorFrom(ctx), imports.Upload{Name: files[0].Filename, File: f, Size: files[0].Size, Invite: invite})
	if err != nil {
		return nil, err
	}
	out := &previewOutput{Location: "/api/v1/imports/" + p.ID}
	out.Body.importBody = toImportBody(p.Import)
	out.Body.Preview = map[string][]importRowBody{}
	for _, o := range imports.Outcomes {
		out.Body.Preview[string(o)] = toImportRows(p.First[o])
	}
	return out, nil
}

// uploadLimit refuses an upload over the limit from its Content-Length, before reading it, and
// one that does not say its length.
func (s *Server) uploadLimit(hctx huma.Context, next func(huma.Context)) {
	max := s.deps.ImportMaxSize
	switch n := contentLength(hctx); {
	case n < 0:
		huma.WriteErr(s.api, hctx, http.StatusLengthRequired, "Send the file with its length (a Content-Length header), as browsers and curl do.")
		return
	case imports.CheckUploadSize(n, max) != nil:
		writeProblem(s.api, hctx, imports.CheckUploadSize(n, max))
		return
	default:
		_ = hctx.SetReadDeadline(time.Now().Add(imports.UploadTime(n)))
	}
	next(hctx)
}

// stageImportOp documents the upload: a multipart form with the file and the option.
func (s *Server) stageImportOp(o huma.Operation) huma.Operation {
	o.MaxBodyBytes = s.deps.ImportMaxSize + imports.FormOverhead
	o.DefaultStatus = http.StatusCreated
	o.Middlewares = append(o.Middlewares, s.uploadLimit)
	o.RequestBody = &huma.RequestBody{Required: true, Description: "A multipart form: the file, and whether to invite.",
		Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: &huma.Schema{Type: huma.TypeObject,
			Required: []string{"file"},
			Properties: map[string]*huma.Schema{
				"file":   {Type: huma.TypeString, Format: "binary", Description: "The file of users: .csv or .txt (comma, semicolon, pipe or tab; UTF-8) or .xlsx, with a header row (download-import-template shows the columns)."},
				"invite": {Type: huma.TypeBoolean, Description: "Invite new users by email instead of creating them active without a password. Users who exist get no invitation."},
			}}}}}
	return o
}

type importIDInput struct {
	ID string `path:"id"`
}

type importOutput struct {
	Body importBody
}

func (s *Server) getImport(ctx context.Context, in *importIDInput) (*importOutput, error) {
	imp, err := s.deps.Imports.Get(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &importOutput{Body: toImportBody(imp)}, nil
}

func (s *Server) startImport(ctx context.Context, in *importIDInput) (*importOutput, error) {
	imp, err := s.deps.Imports.Start(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &importOutput{Body: toImportBody(imp)}, nil
}

func (s *Server) cancelImport(ctx context.Context, in *importIDInput) (*importOutput, error) {
	imp, err := s.deps.Imports.Cancel(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &importOutput{Body: toImportBody(imp)}, nil
}

type listImportsInput struct {
	Q      string `query:"q" doc:"Only imports whose file name contains this, in any letter case."`
	Status string `query:"status" enum:"staged,queued,processing,completed,failed,cancelled," doc:"Only imports in this status."`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many (50 unless set)."`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page."`
}

type listImportsOutput struct {
	Body struct {
		Items      []importBody `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

// listImports is the import history, newest first.
func (s *Server) listImports(ctx context.Context, in *listImportsInput) (*listImportsOutput, error) {
	list, next, err := s.deps.Imports.List(ctx, actorFrom(ctx), imports.Filter{Status: imports.Status(in.Status), Q: in.Q, Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return nil, err
	}
	out := &listImportsOutput{}
	out.Body.Items = make([]importBody, len(list))
	for i := range list {
		out.Body.Items[i] = toImportBody(&list[i])
	}
	out.Body.NextCursor = next
	return out, nil
}

type importReportInput struct {
	ID    string `path:"id"`
	After int64  `query:"after" minimum:"0" doc:"next_after of the previous page: rows after this row number."`
	Limit int    `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many rows (1000 unless set)."`
}

type importReportOutput struct {
	Body struct {
		importBody
		Rows      []importRowBody `json:"rows" doc:"Each row that failed or was skipped (before the import runs: each the preview plans as an error), in file order."`
		NextAfter int64           `json:"next_after,omitempty" doc:"Pass as after for the next page; absent on the last."`
	}
}

// importReport is an import's totals and its failed and skipped rows.
func (s *Server) importReport(ctx context.Context, in *importReportInput) (*importReportOutput, error) {
	rep, err := s.deps.Imports.Problems(ctx, actorFrom(ctx), in.ID, in.After, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &importReportOutput{}
	out.Body.importBody = toImportBody(rep.Import)
	out.Body.Rows = toImportRows(rep.Rows)
	out.Body.NextAfter = rep.Next
	return out, nil
}

// importFailedRows is the failed rows as a file to correct and upload again.
func (s *Server) importFailedRows(ctx context.Context, in *importIDInput) (*huma.StreamResponse, error) {
	a := actorFrom(ctx)
	imp, err := s.deps.Imports.Get(ctx, a, in.ID)
	if err != nil {
		return nil, err
	}
	return fileResponse(imp.Format.ContentType(), imports.FailedRowsName(imp), func(ctx context.Context, w io.Writer) error {
		return s.deps.Imports.FailedRows(ctx, a, in.ID, w)
	}), nil
}

// failedRowsResponse documents the failed rows' answer: a file in the import's format.
func failedRowsResponse(o huma.Operation) huma.Operation {
	return sheetResponse(o, "The rows that were not imported (refused, or left by a cancel or a failure), in the uploaded file's format, with its columns and a Reason column: correct them and upload the file as it is (the import reads past Reason).",
		"attachment; filename=NAME-failed-rows.csv (or .txt, .xlsx).")
}

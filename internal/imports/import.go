package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

// Status is where an import stands.
type Status string

const (
	Staging    Status = "staging"    // being read from its file: not listed, cannot start
	Staged     Status = "staged"     // read and previewed; waiting for someone to start it
	Queued     Status = "queued"     // started; waiting for a worker
	Processing Status = "processing" // rows are being applied
	Completed  Status = "completed"  // every row has its outcome
	Failed     Status = "failed"     // stopped by an error that was not a row's (Import.Error)
	Cancelled  Status = "cancelled"  // stopped on request; the rows applied before stay
)

// Final reports whether the import will change no more.
func (s Status) Final() bool { return s == Completed || s == Failed || s == Cancelled }

// Outcome is what a row does (the preview's plan) or did (once applied).
type Outcome string

const (
	Create Outcome = "create" // a new user (invited when the import invites)
	Update Outcome = "update"
	Delete Outcome = "delete"
	Skip   Outcome = "skip"  // nothing to do: an empty row, no change, already a user, or cancelled
	Error  Outcome = "error" // refused, with the reason
)

// Outcomes are every outcome, in the order counts are shown.
var Outcomes = []Outcome{Create, Update, Delete, Skip, Error}

// Counts is how many rows have each outcome.
type Counts struct {
	Create, Update, Delete, Skip, Error int64
}

// Add counts one row of outcome o.
func (c *Counts) Add(o Outcome) {
	switch o {
	case Create:
		c.Create++
	case Update:
		c.Update++
	case Delete:
		c.Delete++
	case Skip:
		c.Skip++
	case Error:
		c.Error++
	}
}

// Sum is how many rows the counts hold.
func (c Counts) Sum() int64 { return c.Create + c.Update + c.Delete + c.Skip + c.Error }

// Import is a file of users being imported: what it holds, what its preview planned and what
// applying it did so far.
type Import struct {
	ID       string
	FileName string
	Format   sheet.Format
	Header   []string // the header row as the file has it
	Columns  []Column // what each header cell gives; "" for a column read past
	Unknown  []string // the headers read past
	// Invitations is set for a file of addresses only: each new row invites a person.
	Invitations bool
	// Invite is the "send invitations" option: new users are invited rather than created active.
	Invite bool
	Status Status
	Rows   int64  // rows in the file, the header not counted
	Done   int64  // rows with an outcome
	Plan   Counts // the preview's plan
	Result Counts // the outcomes so far
	// Who started it: the import acts with these permissions at most, narrowed to what the
	// user still holds whenever a batch is applied.
	ActorID, ActorName string
	ActorPermissions   user.Permissions
	ClientIP           string
	CreatedAt          time.Time
	StartedAt          *time.Time
	FinishedAt         *time.Time
	CancelAskedAt      *time.Time
	CancelledBy        string
	Error              string // why a Failed import stopped
}

// Row is one row of an import file.
type Row struct {
	No     int64    // the row number a spreadsheet shows: the header is row 1
	Cells  []string // as the file has them
	Plan   Outcome
	Result Outcome // "" until the row is applied
	// Problem says why a row is an error or a skip: the column (as the file heads it), its
	// value, and the reason in words a person can act on.
	Field, Value, Reason string
	UserID               string
}

// Outcome is the row's result once applied, its plan before.
func (r *Row) Outcome() Outcome {
	if r.Result != "" {
		return r.Result
	}
	return r.Plan
}

// Store is the persistence the import needs; the store package implements it. Methods called
// with a context from InTx run in that transaction.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// Savepoint runs fn inside the transaction in ctx; when fn fails, what it wrote is undone
	// and the transaction goes on.
	Savepoint(ctx context.Context, fn func(ctx context.Context) error) error
	Fields(ctx context.Context) ([]user.Field, error)
	Roles(ctx context.Context) ([]user.Role, error)
	GroupNames(ctx context.Context) ([]user.GroupRef, error)
	AppendAudit(ctx context.Context, e audit.Event) error

	InsertImport(ctx context.Context, imp *Import) error
	// DeleteImport forgets an import and its rows.
	DeleteImport(ctx context.Context, id string) error
	// InsertImportRows adds staged rows, and their plans to the import's counts.
	InsertImportRows(ctx context.Context, importID string, rows []Row) error
	// AnalyzeImportRows refreshes the database's statistics of the import rows (PostgreSQL).
	AnalyzeImportRows(ctx context.Context) error
	Import(ctx context.Context, id string) (*Import, error)
	// LockImport reads an import in the transaction in ctx, which then holds it until it ends:
	// a cancel waits for the batch being applied.
	LockImport(ctx context.Context, id string) (*Import, error)
	Imports(ctx context.Context, f Filter) ([]Import, string, error)
	// SetImportStatus moves an import from one status to another and reports whether it was in
	// from. It sets started_at on the first move to Processing and finished_at on a final one.
	SetImportStatus(ctx context.Context, id string, from []Status, to Status, at time.Time, failure string) (bool, error)
	// AskCancelImport records a request to cancel, once.
	AskCancelImport(ctx context.Context, id, by string, at time.Time) error
	// ClaimImport takes or renews the lease on a queued or processing import for owner until
	// until, unless another owner holds it past now.
	ClaimImport(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	ReleaseImport(ctx context.Context, id, owner string) error
	// ForgetImportLeases ends every lease whose owner does not start with keep.
	ForgetImportLeases(ctx context.Context, keep string) error
	// StrayImports are the queued or processing imports whose lease ran out (or that never had
	// one) at now: their job died.
	StrayImports(ctx context.Context, now time.Time) ([]string, error)
	// PendingImportRows returns up to n rows after row number after that have no result yet.
	PendingImportRows(ctx context.Context, id string, after int64, n int) ([]Row, error)
	// RecordImportRows stores the results of rows and adds them to the import's counts.
	RecordImportRows(ctx context.Context, id string, rows []Row) error
	// SkipPendingImportRows gives every row without a result the result skip with the reason,
	// and counts them.
	SkipPendingImportRows(ctx context.Context, id, reason string) error
	// ImportRows returns up to n rows after row number after, all of them or only those whose
	// outcome (their result, else their plan) is one of outcomes.
	ImportRows(ctx context.Context, id string, outcomes []Outcome, after int64, n int) ([]Row, error)
}

// Inviter invites a person by email: the invitation service. The email goes out when the
// caller's transaction commits.
type Inviter interface {
	InviteOne(ctx context.Context, a user.Actor, in user.InviteInput) (*user.Detail, error)
}

// Jobs inserts background jobs in the caller's transaction (job.Runner does).
type Jobs interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Options tune the service. The zero value is what usher serve uses.
type Options struct {
	Limits    sheet.Limits  // zero for sheet.DefaultLimits
	BatchSize int           // rows a transaction applies; 0 for 500
	Lease     time.Duration // how long a job holds an import between batches; 0 for 10 s
	Logger    *slog.Logger
}

// Service stages, previews, applies and reports imports, every row through user.Service.
type Service struct {
	store   Store
	users   *user.Service
	invites Inviter
	jobs    Jobs
	opts    Options
	logger  *slog.Logger
	owner   string // this process, as lease owner
	now     func() time.Time
}

// NewService returns the import service. Register Worker with the job runner before it starts.
func NewService(st Store, users *user.Service, invites Inviter, jobs Jobs, o Options) (*Service, error) {
	if st == nil || users == nil || invites == nil || jobs == nil {
		return nil, errors.New("imports: NewService needs a store, the user service, the invitation service and the jobs")
	}
	if o.Limits == (sheet.Limits{}) {
		o.Limits = sheet.DefaultLimits
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Second
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, users: users, invites: invites, jobs: jobs, opts: o,
		logger: logger.With("component", "imports"), owner: uuid.NewString(),
		now: func() time.Time { return time.Now().UTC() }}, nil
}

// Upload is a file to stage.
type Upload struct {
	Name string     // as the person's computer named it: its extension gives the format
	File sheet.File // kept on disk by the caller until Stage returns
	Size int64
	// Invite is the "send invitations" option: new users are invited by email instead of
	// being created active without a password (they can use "forgot password").
	Invite bool
}

// Preview is what an import will do, before it starts: its counts, and the first rows of each
// outcome.
type Preview struct {
	*Import
	First map[Outcome][]Row // up to PreviewRows rows of each outcome, in file order
}

// maxBatchBytes bounds the cells a batch of the preview holds, whatever the rows' number.
const maxBatchBytes = 16 << 20

// PreviewRows is how many rows of each outcome a preview shows.
const PreviewRows = 10

// Stage reads an uploaded file into a staged import, row by row, and plans each row by
// applying it through user.Service in a transaction that is then rolled back: the preview says
// what starting the import would do, with the rules the import will apply. A file usher
// cannot read is refused whole with the reason (nothing is staged); a bad row is planned as an
// error and the rest go on.
func (s *Service) Stage(ctx context.Context, a user.Actor, up Upload) (*Preview, error) {
	if err := a.Require(user.ImportRun); err != nil {
		return nil, err
	}
	format, err := sheet.FormatOf(up.Name)
	if err != nil {
		return nil, fileError(err)
	}
	r, err := sheet.Open(up.File, up.Size, format, s.opts.Limits)
	if err != nil {
		return nil, fileError(err)
	}
	defer r.Close()
	fields, err := s.store.Fields(ctx)
	if err != nil {
		return nil, err
	}
	cells, _, err := r.Next()
	if errors.Is(err, io.EOF) {
		return nil, errs.E(errs.Invalid, "file.empty", "The file is empty: it needs a header row (the template shows it) and a row for each person.")
	} else if err != nil {
		return nil, fileError(err)
	}
	header := append([]string(nil), cells...)
	h, err := ReadHeader(header, fields)
	if err != nil {
		return nil, err
	}
	now := s.now()
	imp := &Import{ID: uuid.Must(uuid.NewV7()).String(), FileName: baseName(up.Name), Format: format, Header: header,
		Columns: h.Columns, Unknown: h.Unknown, Invitations: h.Invitations, Invite: up.Invite || h.Invitations,
		Status: Staging, ActorID: a.ID, ActorName: a.Name, ActorPermissions: a.Permissions, ClientIP: a.ClientIP, CreatedAt: now}
	if err := s.store.InsertImport(ctx, imp); err != nil {
		return nil, err
	}
	staged := false
	defer func() {
		// A file refused part way, or a read that broke off, leaves nothing behind.
		if !staged {
			if err := s.store.DeleteImport(context.WithoutCancel(ctx), imp.ID); err != nil {
				s.logger.Warn("could not forget an import that was not staged", "import_id", imp.ID, "error", err)
			}
		}
	}()
	p := &Preview{Import: imp, First: map[Outcome][]Row{}}
	plan := newRows(s, imp, true)
	batch := make([]Row, 0, s.opts.BatchSize)
	var held int // bytes the batch holds: a batch of long rows is planned sooner
	flush := func() error {
		held = 0
		if len(batch) == 0 {
			return nil
		}
		if err := plan.plan(ctx, a, batch); err != nil {
			return err
		}
		for _, row := range batch {
			imp.Rows++
			imp.Plan.Add(row.Plan)
			if rows := p.First[row.Plan]; len(rows) < PreviewRows {
				p.First[row.Plan] = append(rows, row)
			}
		}
		batch = batch[:0]
		return nil
	}
	for {
		cells, line, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *sheet.RowError
		switch {
		case errors.As(err, &rowErr):
			batch = append(batch, Row{No: int64(line), Cells: []string{}, Plan: Error, Reason: rowErr.Message})
		case err != nil:
			return nil, fileError(err)
		default:
			batch = append(batch, Row{No: int64(line), Cells: append([]string(nil), cells...)})
			for _, c := range cells {
				held += len(c)
			}
		}
		if len(batch) == cap(batch) || held > maxBatchBytes {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if imp.Rows == 0 {
		return nil, errs.E(errs.Invalid, "file.no_rows", "The file has a header row but no rows below it: add a row for each person and upload it again.")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.SetImportStatus(ctx, imp.ID, []Status{Staging}, Staged, s.now(), ""); err != nil {
			return err
		}
		return s.audit(ctx, a, "import.stage", imp, map[string]any{"file": imp.FileName, "rows": imp.Rows})
	})
	if err != nil {
		return nil, err
	}
	staged, imp.Status = true, Staged
	// The job looks its rows up by key, a batch at a time: with the statistics of a table that
	// had few rows when it was last measured, PostgreSQL read all of them for each batch (an
	// import of 100,000 rows took four times as long). A large file is measured once staged.
	if imp.Rows >= analyzeRows {
		if err := s.store.AnalyzeImportRows(ctx); err != nil {
			s.logger.Warn("import rows not analysed", "import_id", imp.ID, "err", err)
		}
	}
	return p, nil
}

// analyzeRows is the size from which a staged file has the import rows' statistics refreshed.
const analyzeRows = 5000

// fileError is a reader's refusal of a file as the API answers it.
func fileError(err error) error {
	var fe *sheet.Error
	if errors.As(err, &fe) {
		return &errs.Error{Kind: errs.Invalid, Code: fe.Code, Message: fe.Message, Err: err}
	}
	return err
}

// baseName is a file name without the folders a browser or a client may send with it.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		return "import"
	}
	return name
}

func (s *Service) audit(ctx context.Context, a user.Actor, action string, imp *Import, details map[string]any) error {
	return s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorID: a.ID, ActorName: a.Name, Action: action,
		TargetType: "import", TargetID: imp.ID, TargetName: imp.FileName, Outcome: audit.Success, Details: details,
		RequestID: a.RequestID, ClientIP: a.ClientIP})
}

// Get returns an import, with its live progress.
func (s *Service) Get(ctx context.Context, a user.Actor, id string) (*Import, error) {
	if err := a.Require(user.ImportRun); err != nil {
		return nil, err
	}
	return s.store.Import(ctx, id)
}

// Filter narrows the import history.
type Filter struct {
	Status Status
	Q      string // a part of the file name, in any letter case
	Limit  int    // 0 for user.DefaultPage, at most user.MaxPage
	Cursor string
}

// List returns the import history, newest first.
func (s *Service) List(ctx context.Context, a user.Actor, f Filter) ([]Import, string, error) {
	if err := a.Require(user.ImportRun); err != nil {
		return nil, "", err
	}
	if f.Limit < 0 || f.Limit > user.MaxPage {
		return nil, "", errs.Field("limit", "filter.limit_invalid", "The limit must be between 1 and 1000.")
	}
	if f.Limit == 0 {
		f.Limit = user.DefaultPage
	}
	switch f.Status {
	case "", Staged, Queued, Processing, Completed, Failed, Cancelled:
	default:
		return nil, "", errs.Field("status", "filter.status_invalid", "The status must be one of staged, queued, processing, completed, failed or cancelled.")
	}
	return s.store.Imports(ctx, f)
}

// Start queues the job that applies a staged import, and returns it. Starting an import that
// has started already changes nothing: one job applies it.
func (s *Service) Start(ctx context.Context, a user.Actor, id string) (*Import, error) {
	if err := a.Require(user.ImportRun); err != nil {
		return nil, err
	}
	var out *Import
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		imp, err := s.store.LockImport(ctx, id)
		if err != nil {
			return err
		}
		if imp.ActorID != a.ID {
			return errs.E(errs.Forbidden, "import.not_yours", "Only the person who uploaded this file can start its import: its preview was made with their rights.")
		}
		if imp.Status == Staging {
			return errs.E(errs.Conflict, "import.staging", "This file is still being read: start the import once its preview is ready.")
		}
		if imp.Status != Staged {
			if imp.Status == Cancelled && imp.StartedAt == nil {
				return errs.E(errs.Conflict, "import.cancelled", "This import was cancelled before it started: upload the file again.")
			}
			out = imp
			return nil // started already: the one job goes on
		}
		now := s.now()
		if _, err := s.store.SetImportStatus(ctx, id, []Status{Staged}, Queued, now, ""); err != nil {
			return err
		}
		if _, err := s.jobs.Insert(ctx, ApplyArgs{ImportID: id}, nil); err != nil {
			return err
		}
		if err := s.audit(ctx, a, "import.start", imp, map[string]any{"file": imp.FileName, "rows": imp.Rows,
			"invite": imp.Invite, "plan": countsMap(imp.Plan)}); err != nil {
			return err
		}
		out, err = s.store.Import(ctx, id)
		return err
	})
	return out, err
}

// Cancel stops an import. A staged one is dropped; a running one stops before its next batch,
// and the rows applied so far stay. When Cancel returns, the import writes nothing more.
func (s *Service) Cancel(ctx context.Context, a user.Actor, id string) (*Import, error) {
	if err := a.Require(user.ImportRun); err != nil {
		return nil, err
	}
	var out *Import
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		// Locked: a batch being applied holds the import until it commits, so that once this
		// commits no batch is under way and the next one sees the request.
		imp, err := s.store.LockImport(ctx, id)
		if err != nil {
			return err
		}
		if imp.Status.Final() {
			return errs.E(errs.Conflict, "import.finished", "This import has "+string(imp.Status)+" already: there is nothing to cancel.")
		}
		if imp.Status == Staging {
			return errs.E(errs.Conflict, "import.staging", "This file is still being read: cancel the import once its preview is ready.")
		}
		if imp.CancelAskedAt != nil {
			out = imp // asked already: once is enough
			return nil
		}
		now := s.now()
		if err := s.store.AskCancelImport(ctx, id, a.Name, now); err != nil {
			return err
		}
		if imp.Status == Staged {
			if _, err := s.store.SetImportStatus(ctx, id, []Status{Staged}, Cancelled, now, ""); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, a, "import.cancel", imp, map[string]any{"file": imp.FileName, "status": string(imp.Status),
			"rows_done": imp.Done}); err != nil {
			return err
		}
		out, err = s.store.Import(ctx, id)
		return err
	})
	return out, err
}

// Report is an import's totals and one entry per row that failed or was skipped.
type Report struct {
	*Import
	Rows []Row
	Next int64 // the row number to read on from; 0 after the last
}

// Problems returns up to n rows that failed or were skipped (or, before the import ran, that
// the preview plans as errors), after row number after, in file order.
func (s *Service) Problems(ctx context.Context, a user.Actor, id string, after int64, n int) (*Report, error) {
	if err := a.Require(user.UsersRead); err != nil { // the rows show people's data
		return nil, err
	}
	imp, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > user.MaxPage {
		n = user.MaxPage
	}
	rows, err := s.store.ImportRows(ctx, id, []Outcome{Error, Skip}, after, n+1)
	if err != nil {
		return nil, err
	}
	rep := &Report{Import: imp, Rows: rows}
	if len(rows) > n {
		rep.Rows, rep.Next = rows[:n], rows[n-1].No
	}
	return rep, nil
}

// ReasonHeader heads the failed-rows file's column of reasons; an import reads past it.
const ReasonHeader = "Reason"

// FailedRows writes the rows that were not imported as a file in the import's format: those
// refused, and those a cancel or a failure left (not those with nothing to do: an empty row, a
// person invited who is a user already). It has the file's own columns and a Reason column, so
// that a person corrects the rows and uploads the file again as it is.
func (s *Service) FailedRows(ctx context.Context, a user.Actor, id string, w io.Writer) error {
	if err := a.Require(user.UsersRead); err != nil { // the rows show people's data
		return err
	}
	imp, err := s.Get(ctx, a, id)
	if err != nil {
		return err
	}
	format := imp.Format
	sw, err := sheet.NewWriter(w, format)
	if err != nil {
		return err
	}
	reasonAt := -1
	for i, c := range imp.Columns {
		if c == Reason {
			reasonAt = i
		}
	}
	header := imp.Header
	if reasonAt < 0 {
		header = append(append([]string(nil), header...), ReasonHeader)
	}
	err = sw.Write(header)
	var after int64
	for err == nil {
		var rows []Row
		rows, err = s.store.ImportRows(ctx, id, []Outcome{Error, Skip}, after, 1000)
		if err != nil || len(rows) == 0 {
			break
		}
		for _, r := range rows {
			after = r.No
			if r.Outcome() == Skip && (r.Plan == Skip || r.UserID != "") {
				continue // nothing was left undone
			}
			cells := make([]string, len(header))
			copy(cells, r.Cells)
			reason := r.Reason
			if r.Field != "" {
				reason = r.Field + ": " + reason
			}
			if reasonAt >= 0 {
				cells[reasonAt] = reason
			} else {
				cells[len(cells)-1] = reason
			}
			if err = sw.Write(cells); err != nil {
				break
			}
		}
	}
	if cerr := sw.Close(); err == nil {
		err = cerr
	}
	return err
}

// FailedRowsName is the name the failed rows of an import are saved under.
func FailedRowsName(imp *Import) string {
	name := strings.TrimSuffix(imp.FileName, "."+string(imp.Format))
	name = strings.TrimSuffix(name, "."+strings.ToUpper(string(imp.Format)))
	return fmt.Sprintf("%s-failed-rows.%s", name, imp.Format)
}

func countsMap(c Counts) map[string]any {
	return map[string]any{"create": c.Create, "update": c.Update, "delete": c.Delete, "skip": c.Skip, "error": c.Error}
}

// Message is a row's problem as a person reads it: "Row 17, Email: Enter a valid email address,
// like name@example.com." It is empty for a row without one.
func (r *Row) Message() string {
	if r.Reason == "" {
		return ""
	}
	if col := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(r.Field), "*")); col != "" {
		return fmt.Sprintf("Row %d, %s: %s", r.No, col, r.Reason)
	}
	return fmt.Sprintf("Row %d: %s", r.No, r.Reason)
}

// UploadTime is how long an upload of size bytes may take to arrive: two minutes, and a
// second more for every MiB (a link of 8 Mbit/s or faster). The server's usual limit on
// reading a request would cut a large file off.
func UploadTime(size int64) time.Duration {
	return 2*time.Minute + time.Duration(size>>20)*time.Second
}

// FormOverhead is what a multipart form around an uploaded file may add to it: its boundaries,
// the part headers, the invite field.
const FormOverhead = 64 << 10

// CheckUploadSize refuses, from its declared length, an upload whose form is larger than a file
// of max bytes can make it: the API and the console both ask before reading a byte.
func CheckUploadSize(length, max int64) error {
	if length > max+FormOverhead {
		return errs.E(errs.TooLarge, "import.too_large", fmt.Sprintf(
			"The file is larger than %s, the most an import takes. Split it into smaller files and import each.", SizeWords(max)))
	}
	return nil
}

// SizeWords writes a byte count the way people read it: 512 MiB, 64 KiB, 1 GiB.
func SizeWords(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

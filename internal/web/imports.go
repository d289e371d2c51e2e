package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

type importsPage struct {
	base
	History []imports.Import
	Next    string
	MaxSize string // the largest file, in words
	Message string
	Invite  bool
}

// importsPage is the import page: the upload form, the template, and the history.
func (c *Console) importsList(w http.ResponseWriter, r *http.Request, m *me) {
	c.renderImports(w, r, m, http.StatusOK, &importsPage{})
}

func (c *Console) renderImports(w http.ResponseWriter, r *http.Request, m *me, status int, p *importsPage) {
	p.base = base{Title: "Import users", Nav: "users"}
	p.MaxSize = imports.SizeWords(c.deps.ImportMaxSize)
	list, next, err := c.deps.Imports.List(r.Context(), m.Actor, imports.Filter{Limit: 20, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.History = list
	if next != "" {
		p.Next = "/imports?cursor=" + next
	}
	c.render(w, r, status, "imports", p)
}

// upload stages an uploaded file and shows its preview. The file is refused from its length
// before it is read when it is over the limit.
func (c *Console) upload(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.ImportRun); err != nil {
		c.fail(w, r, err)
		return
	}
	refuse := func(status int, msg string) {
		c.renderImports(w, r, m, status, &importsPage{Message: msg})
	}
	max := c.deps.ImportMaxSize
	if err := imports.CheckUploadSize(r.ContentLength, max); err != nil {
		w.Header().Set("Connection", "close")
		refuse(http.StatusRequestEntityTooLarge, "Nothing was imported: "+message(err))
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(imports.UploadTime(r.ContentLength)))
	r.Body = http.MaxBytesReader(w, r.Body, max+imports.FormOverhead) // a request without a length
	if err := r.ParseMultipartForm(8 << 20); err != nil {             // larger files wait on disk, not in memory
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(http.StatusRequestEntityTooLarge, "Nothing was imported: "+message(imports.CheckUploadSize(max+imports.FormOverhead+1, max)))
			return
		}
		refuse(http.StatusBadRequest, "Nothing was imported: the upload could not be read. Choose the file and try again.")
		return
	}
	file, head, err := r.FormFile("file")
	if err != nil {
		refuse(http.StatusUnprocessableEntity, "Choose a file to import: "+sheet.Formats+".")
		return
	}
	defer file.Close()
	invite := r.PostForm.Get("invite") == "on"
	p, err := c.deps.Imports.Stage(r.Context(), m.Actor, imports.Upload{Name: head.Filename, File: file, Size: head.Size, Invite: invite})
	if err != nil {
		if msg, _, status, ok := formError(err); ok && status != http.StatusForbidden {
			c.renderImports(w, r, m, status, &importsPage{Message: "Nothing was imported: " + msg, Invite: invite})
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+p.ID, http.StatusSeeOther)
}

type importPage struct {
	base
	Import *imports.Import
	// Rows are the rows shown: before the import runs, the first of each planned outcome that is
	// not a plain create or update (errors, skips, deletes); once it runs, those that failed or
	// were skipped.
	Rows  []imports.Row
	More  bool // there are more such rows than shown
	Yours bool // the signed-in person uploaded it (only they can start it)
}

// Share is how much of the import is done, 0–100.
func (p *importPage) Share() int {
	if p.Import.Rows == 0 {
		return 0
	}
	return int(p.Import.Done * 100 / p.Import.Rows)
}

// importShown is the rows an import page lists at most.
const importShown = 100

// importPageOf is one import: its preview while staged, its progress while applied, its report
// once finished.
func (c *Console) importPageOf(w http.ResponseWriter, r *http.Request, m *me) {
	imp, err := c.deps.Imports.Get(r.Context(), m.Actor, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &importPage{base: base{Title: "Import of " + imp.FileName, Nav: "users"}, Import: imp, Yours: imp.ActorID == m.Actor.ID}
	rep, err := c.deps.Imports.Problems(r.Context(), m.Actor, imp.ID, 0, importShown)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Rows, p.More = rep.Rows, rep.Next != 0
	c.render(w, r, http.StatusOK, "import", p)
}

// importAction starts or cancels an import.
func (c *Console) importAction(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 4<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	back := "/imports/" + id
	var err error
	var done string
	switch r.PathValue("action") {
	case "start":
		_, err = c.deps.Imports.Start(r.Context(), m.Actor, id)
		done = "The import has started. You can leave this page: it goes on, and the history shows it."
	case "cancel":
		var imp *imports.Import
		imp, err = c.deps.Imports.Cancel(r.Context(), m.Actor, id)
		if err == nil && imp.Status == imports.Cancelled && imp.StartedAt == nil {
			c.redirect(w, r, "/imports", flash{Kind: "success", Text: "The import of " + imp.FileName + " was cancelled: nothing was changed."})
			return
		}
		done = "The import is cancelled: it stops before its next rows. The rows applied so far stay."
	default:
		c.notFound(w, r)
		return
	}
	if err != nil {
		if msg, _, _, ok := formError(err); ok {
			c.redirect(w, r, back, flash{Kind: "error", Text: msg})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, back, flash{Kind: "success", Text: done})
}

// importFailedRows downloads an import's failed rows.
func (c *Console) importFailedRows(w http.ResponseWriter, r *http.Request, m *me) {
	if crossSite(r) {
		c.fail(w, r, errs.E(errs.Forbidden, "import.download_cross_site", "Start the download from usher's import page."))
		return
	}
	imp, err := c.deps.Imports.Get(r.Context(), m.Actor, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.download(w, r, "/imports/"+imp.ID, nil, imp.Format.ContentType(), imports.FailedRowsName(imp), func(w io.Writer) error {
		return c.deps.Imports.FailedRows(r.Context(), m.Actor, imp.ID, w)
	})
}

// importTemplate downloads the empty import file of this installation.
func (c *Console) importTemplate(w http.ResponseWriter, r *http.Request, m *me) {
	format := sheet.Format(r.URL.Query().Get("format"))
	if format != sheet.CSV && format != sheet.XLSX {
		c.notFound(w, r)
		return
	}
	header, err := imports.Template(r.Context(), c.deps.Users, m.Actor)
	c.download(w, r, "/imports", err, format.ContentType(), "usher-import-template."+string(format), func(w io.Writer) error {
		return imports.WriteTemplate(header, format, w)
	})
}

package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

// listQuery is the users list's search, filters and sort as the address carries them.
type listQuery struct {
	Q, Status, Role, Group, Source, Sort string
}

func readListQuery(v url.Values) listQuery {
	return listQuery{Q: strings.TrimSpace(v.Get("q")), Status: v.Get("status"), Role: v.Get("role"),
		Group: v.Get("group"), Source: v.Get("source"), Sort: v.Get("sort")}
}

// Filtered reports whether anything narrows the list.
func (q listQuery) Filtered() bool {
	return q.Q != "" || q.Status != "" || q.Role != "" || q.Group != "" || q.Source != ""
}

// Narrowed reports whether a filter other than the search narrows the list.
func (q listQuery) Narrowed() bool {
	return q.Status != "" || q.Role != "" || q.Group != "" || q.Source != ""
}

func (q listQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Q, "status": q.Status, "role": q.Role, "group": q.Group, "source": q.Source, "sort": q.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// URL is the list with these filters, on its first page.
func (q listQuery) URL() string {
	if v := q.values(); len(v) > 0 {
		return "/users?" + v.Encode()
	}
	return "/users"
}

// ExportURL downloads the users these filters select, in the import format.
func (q listQuery) ExportURL(format string) string {
	v := q.values()
	v.Set("format", format)
	return "/users/export?" + v.Encode()
}

// SortURL is the list sorted by a column: ascending first, descending when it already is.
func (q listQuery) SortURL(col string) string {
	next := q
	next.Sort = col
	if q.Sort == col {
		next.Sort = "-" + col
	}
	return next.URL()
}

// SortedBy says how the list is sorted by col: "ascending", "descending" or "none" (aria-sort).
func (q listQuery) SortedBy(col string) string {
	switch q.Sort {
	case col:
		return "ascending"
	case "-" + col:
		return "descending"
	}
	if col == "name" && q.Sort == "" && q.Q == "" {
		return "ascending"
	}
	return "none"
}

func (q listQuery) filter() user.Filter {
	return user.Filter{Q: q.Q, Status: user.Status(q.Status), RoleID: q.Role, GroupID: q.Group, Source: user.Source(q.Source), Sort: q.Sort}
}

type usersPage struct {
	base
	Query    listQuery
	Counts   user.Counts
	Users    []*user.Detail
	Roles    []user.Role
	Groups   []user.GroupRef
	RoleName map[string]string
	Next     string // the next page's address, empty on the last
	Prev     string // the previous page's address, empty on the first
	First    bool
	Errors   map[string]string
	Message  string
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, m *me) {
	ctx, a := r.Context(), m.Actor
	v := r.URL.Query()
	p := &usersPage{base: base{Title: "Users", Nav: "users"}, Query: readListQuery(v)}
	counts, err := c.deps.Users.Counts(ctx, a)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Counts = counts
	if p.Roles, err = c.deps.Users.Roles(ctx, a); err != nil {
		c.fail(w, r, err)
		return
	}
	p.RoleName = map[string]string{}
	for _, role := range p.Roles {
		p.RoleName[role.ID] = role.Name
	}
	if p.Groups, err = c.deps.Users.GroupNames(ctx, a); err != nil {
		c.fail(w, r, err)
		return
	}
	f := p.Query.filter()
	f.Limit, f.Cursor = pageSize, v.Get("cursor")
	trail := v["trail"]
	page, err := c.deps.Users.ListUsers(ctx, a, f)
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		if _, bad := fields["cursor"]; bad {
			// A cursor from another list or an older key: start again from the first page.
			http.Redirect(w, r, p.Query.URL(), http.StatusSeeOther)
			return
		}
		p.Message, p.Errors = msg, fields
		c.render(w, r, status, "users", p)
		return
	}
	p.Users = page.Users
	p.First = f.Cursor == ""
	p.Next, p.Prev = pageLinks("/users", p.Query.values(), f.Cursor, trail, page.Next)
	c.render(w, r, http.StatusOK, "users", p)
}

// bulkActions are the actions the list offers for selected users, in the words of the buttons.
var bulkActions = []struct{ Action, Label, Verb string }{
	{user.BulkAddRoles, "Add a role", "add the role %s to"},
	{user.BulkRemoveRoles, "Remove a role", "remove the role %s from"},
	{user.BulkSetRoles, "Set the role (replacing the others)", "make %s the only role of"},
	{user.BulkDisable, "Disable", "disable"},
	{user.BulkEnable, "Enable", "enable"},
	{user.BulkUnlock, "Unlock", "unlock"},
	{user.BulkResetPassword, "Send a password reset", "send a password reset link to"},
	{user.BulkDelete, "Delete", "permanently delete"},
}

type bulkPage struct {
	base
	Action   string
	Verb     string
	Role     *user.Role
	IDs      []string
	Users    []*user.Detail
	Back     string
	Matching bool // every user the filters match, not the ones ticked
	Done     bool
	OK       int
	Failures []bulkFailure
}

type bulkFailure struct {
	User    *user.Detail
	ID      string
	Message string
}

// bulk asks to confirm an action on the selected users, saying how many it touches, then applies
// it and lists each user it could not be applied to, in words.
func (c *Console) bulk(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 256<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a := r.Context(), m.Actor
	back := localPath(r.PostForm.Get("back"))
	p := &bulkPage{base: base{Title: "Confirm", Nav: "users"}, Action: r.PostForm.Get("action"), IDs: r.PostForm["id"], Back: back,
		Matching: r.PostForm.Get("scope") == "matching"}
	if p.Matching && r.PostForm.Get("confirm") != "yes" {
		// Every user the list's filters match now; the confirmation carries these ids, so the
		// action touches exactly the users it counted.
		u, err := url.Parse(back)
		if err != nil {
			u = &url.URL{Path: "/users"}
		}
		ids, err := c.deps.Users.Matching(ctx, a, readListQuery(u.Query()).filter())
		if err != nil {
			if _, _, _, ok := formError(err); !ok {
				c.fail(w, r, err)
				return
			}
			c.redirect(w, r, back, flash{Kind: "error", Text: message(err)})
			return
		}
		p.IDs = ids
	}
	if len(p.IDs) == 0 {
		text := "Select at least one user first."
		if p.Matching {
			text = "No user matches the filters."
		}
		c.redirect(w, r, back, flash{Kind: "error", Text: text})
		return
	}
	for _, b := range bulkActions {
		if b.Action == p.Action {
			p.Verb = b.Verb
		}
	}
	if p.Verb == "" {
		c.redirect(w, r, back, flash{Kind: "error", Text: "Choose what to do with the selected users."})
		return
	}
	var roleIDs []string
	if strings.HasSuffix(p.Action, "_roles") {
		id := r.PostForm.Get("role")
		if id == "" {
			c.redirect(w, r, back, flash{Kind: "error", Text: "Choose the role in the list next to the action."})
			return
		}
		role, err := c.deps.Users.Role(ctx, a, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		p.Role, roleIDs = role, []string{id}
		p.Verb = fmt.Sprintf(p.Verb, role.Name)
	}
	if r.PostForm.Get("confirm") != "yes" {
		// Name the first few, so that the person sees whom they touch.
		for _, id := range p.IDs[:min(len(p.IDs), 10)] {
			if d, err := c.deps.Users.GetUser(ctx, a, id); err == nil {
				p.Users = append(p.Users, d)
			}
		}
		c.render(w, r, http.StatusOK, "bulk", p)
		return
	}
	results, err := c.deps.Users.Bulk(ctx, a, user.BulkRequest{Action: p.Action, IDs: p.IDs, RoleIDs: roleIDs})
	if err != nil {
		msg, fields, _, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		for _, f := range fields {
			msg = f
			break
		}
		c.redirect(w, r, back, flash{Kind: "error", Text: msg})
		return
	}
	p.Done, p.Title = true, "Done"
	for _, res := range results {
		if res.Error == nil {
			p.OK++
			continue
		}
		f := bulkFailure{ID: res.ID, Message: message(res.Error)}
		if d, err := c.deps.Users.GetUser(ctx, a, res.ID); err == nil {
			f.User = d
		}
		p.Failures = append(p.Failures, f)
	}
	if len(p.Failures) == 0 {
		c.redirect(w, r, back, flash{Kind: "ok", Text: fmt.Sprintf("Done: %s %s.", bulkDone[p.Action], count(p.OK, "user"))})
		return
	}
	c.render(w, r, http.StatusOK, "bulk", p)
}

var bulkDone = map[string]string{
	user.BulkAddRoles: "added the role to", user.BulkRemoveRoles: "removed the role from", user.BulkSetRoles: "set the role of",
	user.BulkDisable: "disabled", user.BulkEnable: "enabled", user.BulkUnlock: "unlocked", user.BulkLock: "locked",
	user.BulkResetPassword: "sent a password reset link to", user.BulkDelete: "deleted",
}

// count says "1 user" or "3 users", with thousands separators.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(int64(n)) + " " + noun + "s"
}

// message is an error in words a person reads; a server problem never shows its cause.
func message(err error) string {
	if e, ok := errs.As(err); ok && e.Kind != errs.Internal {
		if e.Message == "" && len(e.Fields) > 0 {
			return e.Fields[0].Message
		}
		return e.Message
	}
	return "Something went wrong on the server; nothing was changed for this user."
}

// usersExport downloads the users the list's filters select, as CSV or XLSX in the import
// format: the file, edited, imports as it is.
func (c *Console) usersExport(w http.ResponseWriter, r *http.Request, m *me) {
	if crossSite(r) {
		c.fail(w, r, errs.E(errs.Forbidden, "user.export_cross_site", "Start the download from usher's users page."))
		return
	}
	q := readListQuery(r.URL.Query())
	format := sheet.Format(r.URL.Query().Get("format")) // the service refuses any but csv and xlsx
	x, err := c.deps.Users.ExportUsers(r.Context(), m.Actor, q.filter(), string(format))
	c.download(w, r, q.URL(), err, format.ContentType(), imports.FileName(format, time.Now()), func(w io.Writer) error {
		_, err := imports.Export(r.Context(), x, format, w)
		return err
	})
}

package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// profileField is one profile input of a user's form.
type profileField struct{ Name, Label, Autocomplete, Hint string }

// profileFields are the form's profile inputs, in order.
var profileFields = []profileField{
	{Name: "email", Label: "Email", Autocomplete: "email"},
	{Name: "username", Label: "Username", Autocomplete: "username"},
	{Name: "first_name", Label: "First name", Autocomplete: "given-name"},
	{Name: "last_name", Label: "Last name", Autocomplete: "family-name"},
	{Name: "phone", Label: "Phone", Autocomplete: "tel"},
	{Name: "department", Label: "Department", Autocomplete: "organization-title"},
	{Name: "manager", Label: "Manager", Autocomplete: "off", Hint: "their email or username"},
}

type userPage struct {
	base
	User    *user.Detail
	Values  map[string]string
	Custom  []customInput
	Roles   []roleChoice
	Groups  []groupChoice
	Audit   []audit.Event
	Errors  map[string]string
	Message string
	Fields  []profileField
	Tab     string
	New     bool
	// InvitationLink is a fresh invitation link to copy, shown once after "Copy invitation link".
	InvitationLink string
}

// shows reports whether the form shows a field's error next to it.
func (p *userPage) shows(field string) bool {
	if slices.ContainsFunc(p.Fields, func(f profileField) bool { return f.Name == field }) {
		return true
	}
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		return slices.ContainsFunc(p.Custom, func(c customInput) bool { return c.Field.Name == name })
	}
	return field == "roles" || field == "groups" || field == "password" && p.New
}

type customInput struct {
	Field user.Field
	Value string
}

type roleChoice struct {
	Role      user.Role
	Direct    bool
	Inherited []user.GroupRef // the groups it comes through
}

type groupChoice struct {
	Group  user.Group
	Member bool
}

// userPage shows one user: their profile to edit, their roles and groups, the actions their
// status allows, and (tab=audit) their audit trail.
func (c *Console) userPage(w http.ResponseWriter, r *http.Request, m *me) {
	d, err := c.deps.Users.GetUser(r.Context(), m.Actor, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p, err := c.userForm(r, m, d)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "user", p)
}

// userForm is a user's page with the values as they are stored.
func (c *Console) userForm(r *http.Request, m *me, d *user.Detail) (*userPage, error) {
	ctx, a := r.Context(), m.Actor
	p := &userPage{base: base{Title: d.Name(), Nav: "users"}, User: d, Fields: profileFields, Errors: map[string]string{},
		Values: map[string]string{"email": d.Email, "username": d.Username, "first_name": d.FirstName,
			"last_name": d.LastName, "phone": d.Phone, "department": d.Department}}
	if err := c.choices(r, m, p, d); err != nil {
		return nil, err
	}
	if d.ManagerID != "" {
		boss, err := c.deps.Users.GetUser(ctx, a, d.ManagerID)
		if err != nil && !errs.Is(errs.NotFound, err) {
			return nil, err
		} else if err == nil {
			p.Values["manager"] = boss.Email
		}
	} else if d.SourceOwned() {
		p.Values["manager"] = d.ManagerName
	}
	for i := range p.Custom {
		p.Custom[i].Value = d.Custom[p.Custom[i].Field.Name]
	}
	if r.URL.Query().Get("tab") == "audit" && a.Can(user.AuditRead) {
		p.Tab = "audit"
		events, _, err := c.deps.Users.UserAudit(ctx, a, d.ID, audit.Filter{Limit: 100})
		if err != nil {
			return nil, err
		}
		p.Audit = events
	}
	return p, nil
}

// choices fills the custom fields, the roles and the groups a user's form offers.
func (c *Console) choices(r *http.Request, m *me, p *userPage, d *user.Detail) error {
	ctx, a := r.Context(), m.Actor
	fields, err := c.deps.Users.Fields(ctx, a)
	if err != nil {
		return err
	}
	for _, f := range fields {
		p.Custom = append(p.Custom, customInput{Field: f})
	}
	roles, err := c.deps.Users.Roles(ctx, a)
	if err != nil {
		return err
	}
	for _, role := range roles {
		ch := roleChoice{Role: role}
		if d != nil {
			for _, g := range d.Roles {
				if g.ID == role.ID {
					ch.Direct, ch.Inherited = g.Direct, g.Via
				}
			}
		} else {
			ch.Direct = role.ID == user.ViewerRole
		}
		p.Roles = append(p.Roles, ch)
	}
	groups, _, err := c.deps.Users.ListGroups(ctx, a, user.GroupFilter{Limit: 200})
	if err != nil {
		return err
	}
	for _, g := range groups {
		ch := groupChoice{Group: g}
		if d != nil {
			ch.Member = slices.ContainsFunc(d.Groups, func(ref user.GroupRef) bool { return ref.ID == g.ID })
		}
		p.Groups = append(p.Groups, ch)
	}
	return nil
}

// readProfile reads the profile inputs of a user's form into a Profile and the values to show
// again if the form comes back with errors. A directory- or SCIM-owned user's profile is not
// sent: it is shown read-only.
func readProfile(r *http.Request, p *userPage, owned bool) user.Profile {
	var pr user.Profile
	set := func(name string, dst **string) {
		v := strings.TrimSpace(r.PostForm.Get(name))
		p.Values[name] = v
		if !owned {
			*dst = &v
		}
	}
	set("email", &pr.Email)
	set("username", &pr.Username)
	set("first_name", &pr.FirstName)
	set("last_name", &pr.LastName)
	set("phone", &pr.Phone)
	set("department", &pr.Department)
	set("manager", &pr.Manager)
	if len(p.Custom) > 0 {
		pr.Custom = map[string]*string{}
		for i := range p.Custom {
			v := strings.TrimSpace(r.PostForm.Get("field." + p.Custom[i].Field.Name))
			p.Custom[i].Value = v
			if v == "" {
				pr.Custom[p.Custom[i].Field.Name] = nil
			} else {
				pr.Custom[p.Custom[i].Field.Name] = &v
			}
		}
	}
	return pr
}

// editUser saves a user's form. The form names the version it showed: when someone else saved the
// user since, nothing is changed and the page shows their values and says so.
func (c *Console) editUser(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a := r.Context(), m.Actor
	d, err := c.deps.Users.GetUser(ctx, a, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	p := &userPage{base: base{Title: d.Name(), Nav: "users"}, User: d, Fields: profileFields, Values: map[string]string{}, Errors: map[string]string{}}
	if err := c.choices(r, m, p, d); err != nil {
		c.fail(w, r, err)
		return
	}
	patch := user.Patch{Profile: readProfile(r, p, d.SourceOwned())}
	// Only the custom values the person changed are sent, so that saving an untouched field
	// records no change to it.
	for name, v := range patch.Custom {
		old := d.Custom[name]
		if v == nil && old == "" || v != nil && *v == old {
			delete(patch.Custom, name)
		}
	}
	roleIDs := r.PostForm["role"]
	groupIDs := r.PostForm["group"]
	if roleIDs == nil {
		roleIDs = []string{}
	}
	if groupIDs == nil {
		groupIDs = []string{}
	}
	// The form lists a limited number of groups: memberships it did not show are kept.
	for _, g := range d.Groups {
		if !slices.ContainsFunc(p.Groups, func(ch groupChoice) bool { return ch.Group.ID == g.ID }) {
			groupIDs = append(groupIDs, g.ID)
		}
	}
	patch.RoleIDs, patch.GroupIDs = &roleIDs, &groupIDs
	for i := range p.Roles {
		p.Roles[i].Direct = slices.Contains(roleIDs, p.Roles[i].Role.ID)
	}
	for i := range p.Groups {
		p.Groups[i].Member = slices.Contains(groupIDs, p.Groups[i].Group.ID)
	}
	saved, err := c.deps.Users.UpdateUser(ctx, a, d.ID, version, patch)
	if err != nil {
		if errs.Is(errs.PreconditionFailed, err) {
			fresh, err2 := c.userForm(r, m, d)
			if err2 != nil {
				c.fail(w, r, err2)
				return
			}
			fresh.Message = "Someone else changed this user while you were editing, so nothing was saved. The form now shows their changes: make yours again and save."
			c.render(w, r, http.StatusConflict, "user", fresh)
			return
		}
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Errors = fields
		for name, text := range fields {
			if field, ok := strings.CutPrefix(name, "custom."); ok {
				p.Errors["field."+field] = text
			}
		}
		p.Message = summary(msg, fields, p.shows)
		c.render(w, r, status, "user", p)
		return
	}
	c.redirect(w, r, "/users/"+saved.ID, flash{Kind: "ok", Text: "Saved the changes to " + saved.Name() + "."})
}

// statusEvents are the status changes the user page offers, with what the flash says after.
var statusEvents = map[string]struct {
	Event user.Event
	Done  string
}{
	"disable": {user.Disable, "is disabled: they cannot sign in, and their sessions ended."},
	"enable":  {user.Enable, "is enabled again."},
	"unlock":  {user.Unlock, "is unlocked and can sign in again."},
	"lock":    {user.Lock, "is locked: they cannot sign in, and their sessions ended."},
}

func (c *Console) userStatus(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ev, ok := statusEvents[r.PostForm.Get("event")]
	if !ok {
		c.fail(w, r, errs.E(errs.Invalid, "form.action_unknown", "This action is not one the page offers. Reload the page and try again."))
		return
	}
	id := r.PathValue("id")
	d, err := c.deps.Users.ChangeStatus(r.Context(), m.Actor, id, ev.Event)
	if err != nil {
		c.actionFailed(w, r, id, err)
		return
	}
	c.redirect(w, r, "/users/"+id, flash{Kind: "ok", Text: d.Name() + " " + ev.Done})
}

func (c *Console) userReset(w http.ResponseWriter, r *http.Request, m *me) {
	id := r.PathValue("id")
	res, err := c.deps.Users.Bulk(r.Context(), m.Actor, user.BulkRequest{Action: user.BulkResetPassword, IDs: []string{id}})
	if err == nil && len(res) == 1 {
		err = res[0].Error
	}
	if err != nil {
		c.actionFailed(w, r, id, err)
		return
	}
	c.redirect(w, r, "/users/"+id, flash{Kind: "ok", Text: "A password reset link is on its way to the user's email address."})
}

func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	d, err := c.deps.Users.GetUser(r.Context(), m.Actor, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.deps.Users.DeleteUser(r.Context(), m.Actor, id, version); err != nil {
		c.actionFailed(w, r, id, err)
		return
	}
	c.redirect(w, r, "/users", flash{Kind: "ok", Text: d.Name() + " (" + d.Email + ") is deleted."})
}

// actionFailed shows why an action on a user's page was refused, back on that page.
func (c *Console) actionFailed(w http.ResponseWriter, r *http.Request, id string, err error) {
	if _, _, _, ok := formError(err); !ok {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/users/"+id, flash{Kind: "error", Text: message(err)})
}

// newUserForm is the "Create user" page: a local user, with a password or without one.
func (c *Console) newUserForm(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.UsersWrite); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &userPage{base: base{Title: "Create user", Nav: "users"}, New: true, Fields: profileFields, Values: map[string]string{}, Errors: map[string]string{}}
	if err := c.choices(r, m, p, nil); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "user", p)
}

func (c *Console) newUser(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &userPage{base: base{Title: "Create user", Nav: "users"}, New: true, Fields: profileFields, Values: map[string]string{}, Errors: map[string]string{}}
	if err := c.choices(r, m, p, nil); err != nil {
		c.fail(w, r, err)
		return
	}
	in := user.CreateInput{Profile: readProfile(r, p, false), RoleIDs: r.PostForm["role"], GroupIDs: r.PostForm["group"]}
	if in.RoleIDs == nil {
		in.RoleIDs = []string{}
	}
	if in.Username != nil && *in.Username == "" {
		in.Username = nil // defaults to the email
	}
	if pw := r.PostForm.Get("password"); pw != "" {
		in.Password = &pw
	}
	for i := range p.Roles {
		p.Roles[i].Direct = slices.Contains(in.RoleIDs, p.Roles[i].Role.ID)
	}
	for i := range p.Groups {
		p.Groups[i].Member = slices.Contains(in.GroupIDs, p.Groups[i].Group.ID)
	}
	d, err := c.deps.Users.CreateUser(r.Context(), m.Actor, in)
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		for name, text := range fields {
			if field, ok := strings.CutPrefix(name, "custom."); ok {
				fields["field."+field] = text
			}
		}
		p.Message, p.Errors = summary(msg, fields, p.shows), fields
		c.render(w, r, status, "user", p)
		return
	}
	c.redirect(w, r, "/users/"+d.ID, flash{Kind: "ok", Text: d.Name() + " is created."})
}

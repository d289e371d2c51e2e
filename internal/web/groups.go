package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

type groupsPage struct {
	base
	formState
	Q      string
	Groups []user.Group
	Next   string
	Prev   string
}

// groups lists the groups by name, 50 a page, narrowed by a search of the name's start.
func (c *Console) groups(w http.ResponseWriter, r *http.Request, m *me) {
	v := r.URL.Query()
	p := &groupsPage{base: base{Title: "Groups", Nav: "groups"}, Q: strings.TrimSpace(v.Get("q"))}
	cursor := v.Get("cursor")
	groups, next, err := c.deps.Users.ListGroups(r.Context(), m.Actor, user.GroupFilter{Q: p.Q, Limit: pageSize, Cursor: cursor})
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		if _, bad := fields["cursor"]; bad {
			// A cursor from another list or an older key: start again from the first page.
			http.Redirect(w, r, p.URL(), http.StatusSeeOther)
			return
		}
		p.Message, p.Errors = msg, fields
		c.render(w, r, status, "groups", p)
		return
	}
	p.Groups = groups
	q := url.Values{}
	if p.Q != "" {
		q.Set("q", p.Q)
	}
	p.Next, p.Prev = pageLinks("/groups", q, cursor, v["trail"], next)
	c.render(w, r, http.StatusOK, "groups", p)
}

// URL is the list with this search, on its first page.
func (p *groupsPage) URL() string {
	if p.Q == "" {
		return "/groups"
	}
	return "/groups?" + url.Values{"q": {p.Q}}.Encode()
}

type groupPage struct {
	base
	formState
	Group    *user.Group // nil on the "Create group" page
	New      bool
	Editable bool
	Version  int64
	Values   map[string]string // name, description, external_id
	Roles    []roleChoice
	Tab      string // "" for the details, "members"

	// The members tab: a page of members, and the user picker's search and matches.
	Members  []*user.Detail
	Next     string
	Prev     string
	AddQ     string
	Matches  []memberMatch
	Searched bool
}

type memberMatch struct {
	User   *user.Detail
	Member bool
}

func (p *groupPage) shows(field string) bool {
	return field == "name" || field == "description" || field == "external_id" || field == "roles"
}

// MembersURL is the members tab.
func (p *groupPage) MembersURL() string { return "/groups/" + p.Group.ID + "?tab=members" }

// groupForm is a group's page with the group as it is stored, and the roles it may be given.
func (c *Console) groupForm(r *http.Request, m *me, g *user.Group) (*groupPage, error) {
	p := &groupPage{base: base{Title: g.Name, Nav: "groups"}, Group: g, Version: g.Version,
		Editable: m.Actor.Can(user.GroupsManage),
		Values:   map[string]string{"name": g.Name, "description": g.Description, "external_id": g.ExternalID}}
	ids := make([]string, len(g.Roles))
	for i, role := range g.Roles {
		ids[i] = role.ID
	}
	return p, c.roleChoices(r, m, p, ids)
}

// roleChoices fills the roles a group's form offers, ticking ids.
func (c *Console) roleChoices(r *http.Request, m *me, p *groupPage, ids []string) error {
	roles, err := c.deps.Users.Roles(r.Context(), m.Actor)
	if err != nil {
		return err
	}
	p.Roles = nil
	for _, role := range roles {
		p.Roles = append(p.Roles, roleChoice{Role: role, Direct: slices.Contains(ids, role.ID)})
	}
	return nil
}

// readGroup reads a group's form into the input for the service and the values to show again.
func readGroup(r *http.Request, p *groupPage) user.GroupInput {
	p.Values = map[string]string{}
	get := func(name string) *string {
		v := strings.TrimSpace(r.PostForm.Get(name))
		p.Values[name] = v
		return &v
	}
	roles := r.PostForm["role"]
	if roles == nil {
		roles = []string{}
	}
	in := user.GroupInput{Name: get("name"), Description: get("description"), ExternalID: get("external_id"), RoleIDs: &roles}
	if g := p.Group; g != nil && g.DirectoryID != "" {
		// The directory's: shown, not sent.
		in.Name, in.ExternalID = nil, nil
		p.Values["name"], p.Values["external_id"] = g.Name, g.ExternalID
	}
	return in
}

// groupPage shows a group: its details (a form for those who may manage groups) or, with
// tab=members, a page of its members and a picker that searches users to add.
func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, m *me) {
	ctx, a := r.Context(), m.Actor
	g, err := c.deps.Users.Group(ctx, a, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p, err := c.groupForm(r, m, g)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := r.URL.Query()
	if v.Get("tab") == "members" {
		if err := c.members(r, m, p); err != nil {
			if fields := fieldsOf(err); fields["cursor"] != "" {
				http.Redirect(w, r, p.MembersURL(), http.StatusSeeOther)
				return
			}
			c.fail(w, r, err)
			return
		}
	}
	c.render(w, r, http.StatusOK, "group", p)
}

// members fills the members tab: a page of the group's direct members from the users list, and
// the users matching the picker's search.
func (c *Console) members(r *http.Request, m *me, p *groupPage) error {
	ctx, a, v := r.Context(), m.Actor, r.URL.Query()
	p.Tab, p.Title = "members", p.Group.Name+": members"
	cursor := v.Get("cursor")
	page, err := c.deps.Users.ListUsers(ctx, a, user.Filter{GroupID: p.Group.ID, Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	p.Members = page.Users
	q := url.Values{"tab": {"members"}}
	p.AddQ = strings.TrimSpace(v.Get("add_q"))
	if p.AddQ != "" {
		q.Set("add_q", p.AddQ)
	}
	p.Next, p.Prev = pageLinks("/groups/"+p.Group.ID, q, cursor, v["trail"], page.Next)
	if p.AddQ == "" || !p.Editable {
		return nil
	}
	found, err := c.deps.Users.ListUsers(ctx, a, user.Filter{Q: p.AddQ, Limit: 20})
	if err != nil {
		return err
	}
	p.Searched = true
	for _, d := range found.Users {
		member := slices.ContainsFunc(d.Groups, func(ref user.GroupRef) bool { return ref.ID == p.Group.ID })
		p.Matches = append(p.Matches, memberMatch{User: d, Member: member})
	}
	return nil
}

// fieldsOf is the per-field messages of a service error, if it has any.
func fieldsOf(err error) map[string]string {
	_, fields, _, _ := formError(err)
	return fields
}

func (c *Console) newGroupForm(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.GroupsManage); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &groupPage{base: base{Title: "Create group", Nav: "groups"}, New: true, Editable: true, Values: map[string]string{}}
	if err := c.roleChoices(r, m, p, nil); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "group", p)
}

func (c *Console) newGroup(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &groupPage{base: base{Title: "Create group", Nav: "groups"}, New: true, Editable: true}
	in := readGroup(r, p)
	if err := c.roleChoices(r, m, p, *in.RoleIDs); err != nil {
		c.fail(w, r, err)
		return
	}
	g, err := c.deps.Users.CreateGroup(r.Context(), m.Actor, in)
	if err != nil {
		c.refuse(w, r, err, "group", p)
		return
	}
	c.redirect(w, r, "/groups/"+g.ID, flash{Kind: "ok", Text: "The group " + g.Name + " is created."})
}

// editGroup saves a group's details under the version the form showed: when someone else saved
// the group since, nothing is changed and the page shows their values and says so.
func (c *Console) editGroup(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a, id := r.Context(), m.Actor, r.PathValue("id")
	cur, err := c.deps.Users.Group(ctx, a, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &groupPage{base: base{Title: cur.Name, Nav: "groups"}, Group: cur, Editable: true, Version: version(r)}
	in := readGroup(r, p)
	if err := c.roleChoices(r, m, p, *in.RoleIDs); err != nil {
		c.fail(w, r, err)
		return
	}
	g, err := c.deps.Users.UpdateGroup(ctx, a, id, p.Version, in)
	if errs.Is(errs.PreconditionFailed, err) {
		fresh, err := c.deps.Users.Group(ctx, a, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		fp, err := c.groupForm(r, m, fresh)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		fp.Message = "Someone else changed this group while you were editing, so nothing was saved. The form now shows their changes: make yours again and save."
		c.render(w, r, http.StatusConflict, "group", fp)
		return
	}
	if err != nil {
		c.refuse(w, r, err, "group", p)
		return
	}
	c.redirect(w, r, "/groups/"+g.ID, flash{Kind: "ok", Text: "Saved the changes to the group " + g.Name + "."})
}

func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a, id := r.Context(), m.Actor, r.PathValue("id")
	g, err := c.deps.Users.Group(ctx, a, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.deps.Users.DeleteGroup(ctx, a, id, version(r)); err != nil {
		c.refuseAction(w, r, "/groups/"+id, err)
		return
	}
	c.redirect(w, r, "/groups", flash{Kind: "ok", Text: "The group " + g.Name + " is deleted. Every member is still a user, without the roles it gave."})
}

type membersPage struct {
	base
	Group *user.Group
	IDs   []string
	Users []*user.Detail
}

// groupMembers adds the users ticked in the picker, or removes the members ticked in the list
// after a page that confirms how many.
func (c *Console) groupMembers(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 256<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a, id := r.Context(), m.Actor, r.PathValue("id")
	back := "/groups/" + id + "?tab=members"
	ids, action := r.PostForm["id"], r.PostForm.Get("action")
	if action != "add" && action != "remove" {
		c.fail(w, r, errs.E(errs.Invalid, "form.action_unknown", "This action is not one the page offers. Reload the page and try again."))
		return
	}
	if action == "remove" && len(ids) > 0 && r.PostForm.Get("confirm") != "yes" {
		g, err := c.deps.Users.Group(ctx, a, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		p := &membersPage{base: base{Title: "Remove members", Nav: "groups"}, Group: g, IDs: ids}
		// Name the first few, so that the person sees whom they touch.
		for _, uid := range ids[:min(len(ids), 10)] {
			if d, err := c.deps.Users.GetUser(ctx, a, uid); err == nil {
				p.Users = append(p.Users, d)
			}
		}
		c.render(w, r, http.StatusOK, "members", p)
		return
	}
	g, err := c.deps.Users.ChangeMembers(ctx, a, id, action == "add", ids)
	if err != nil {
		c.refuseAction(w, r, back, err)
		return
	}
	text := fmt.Sprintf("Added %s to %s.", count(len(ids), "user"), g.Name)
	if action == "remove" {
		text = fmt.Sprintf("Removed %s from %s; they stay users.", count(len(ids), "member"), g.Name)
	}
	c.redirect(w, r, back, flash{Kind: "ok", Text: text})
}

// MemberWords says how many members the group has: "1 member", "1,204 members".
func (p *groupPage) MemberWords() string { return count(int(p.Group.MemberCount), "member") }

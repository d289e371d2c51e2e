package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

// inviteRow is one row of the invite form: an address and the role it is given.
type inviteRow struct {
	Email string
	Role  string
	Error string
}

type invitePage struct {
	base
	Rows       []inviteRow
	Roles      []user.Role
	Groups     []user.Group
	Paste      string
	PasteRoles []string
	PasteGroup []string
	PasteError []string // "address: why", for pasted addresses that were not invited
	Note       string
	Sent       int
	Message    string
}

// HasRole and InGroup tell the paste box's checkboxes whether they are ticked.
func (p *invitePage) HasRole(id string) bool { return slices.Contains(p.PasteRoles, id) }
func (p *invitePage) InGroup(id string) bool { return slices.Contains(p.PasteGroup, id) }

func (c *Console) inviteChoices(r *http.Request, m *me, p *invitePage) error {
	var err error
	if p.Roles, err = c.deps.Users.Roles(r.Context(), m.Actor); err != nil {
		return err
	}
	p.Groups, _, err = c.deps.Users.ListGroups(r.Context(), m.Actor, user.GroupFilter{Limit: 200})
	return err
}

// inviteForm is the invite page: rows of an address and a role, and a box to paste many
// addresses at once with the roles and groups they all get.
func (c *Console) inviteForm(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.UsersInvite); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &invitePage{base: base{Title: "Invite people", Nav: "users"}, Rows: []inviteRow{{Role: user.ViewerRole}}}
	if err := c.inviteChoices(r, m, p); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "invite", p)
}

// invite sends the invitations: each address on its own, so a bad one is reported on its row
// and the good ones are sent.
func (c *Console) invite(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 256<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &invitePage{base: base{Title: "Invite people", Nav: "users"}, Paste: r.PostForm.Get("paste"),
		PasteRoles: r.PostForm["paste_role"], PasteGroup: r.PostForm["paste_group"], Note: r.PostForm.Get("note")}
	if err := c.inviteChoices(r, m, p); err != nil {
		c.fail(w, r, err)
		return
	}
	emails, roles := r.PostForm["email"], r.PostForm["role"]
	for i, e := range emails {
		row := inviteRow{Email: e}
		if i < len(roles) {
			row.Role = roles[i]
		}
		p.Rows = append(p.Rows, row)
	}
	if r.PostForm.Has("add_row") {
		// Without scripts, "Add another member" comes back here for one more row.
		p.Rows = append(p.Rows, inviteRow{Role: user.ViewerRole})
		c.render(w, r, http.StatusOK, "invite", p)
		return
	}
	if n, err := strconv.Atoi(r.PostForm.Get("remove_row")); err == nil && n >= 0 && n < len(p.Rows) {
		p.Rows = append(p.Rows[:n], p.Rows[n+1:]...)
		if len(p.Rows) == 0 {
			p.Rows = []inviteRow{{Role: user.ViewerRole}}
		}
		c.render(w, r, http.StatusOK, "invite", p)
		return
	}

	// The people to invite, in the order of the page: the rows that have an address, then the
	// pasted addresses. An empty row is not an address to invite, unless nothing was given.
	var people []user.InviteInput
	var from []int // the row of each person; -1 for a pasted one
	for i, row := range p.Rows {
		if strings.TrimSpace(row.Email) == "" {
			continue
		}
		in := user.InviteInput{Email: row.Email, RoleIDs: []string{}}
		if row.Role != "" {
			in.RoleIDs = []string{row.Role}
		}
		people = append(people, in)
		from = append(from, i)
	}
	pasted := user.SplitAddresses(p.Paste)
	for _, e := range pasted {
		roles := p.PasteRoles
		if roles == nil {
			roles = []string{}
		}
		people = append(people, user.InviteInput{Email: e, RoleIDs: roles, GroupIDs: p.PasteGroup})
		from = append(from, -1)
	}
	if len(people) == 0 {
		if len(p.Rows) == 0 {
			p.Rows = []inviteRow{{Role: user.ViewerRole}}
		}
		p.Rows[0].Error = "Enter an email address."
		p.Message = "Nothing was sent: enter at least one email address."
		c.render(w, r, http.StatusUnprocessableEntity, "invite", p)
		return
	}
	results, err := c.deps.Invitations.Invite(r.Context(), m.Actor, people, p.Note)
	if err != nil {
		msg, _, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Message = msg
		c.render(w, r, status, "invite", p)
		return
	}
	var keep []inviteRow
	var paste []string
	failed := 0
	for i, res := range results {
		if res.Err == nil {
			p.Sent++
			continue
		}
		failed++
		if row := from[i]; row >= 0 {
			p.Rows[row].Error = message(res.Err)
			keep = append(keep, p.Rows[row])
		} else {
			paste = append(paste, res.Email)
			p.PasteError = append(p.PasteError, res.Email+": "+message(res.Err))
		}
	}
	if failed == 0 {
		c.redirect(w, r, "/users?status=invited", flash{Kind: "ok", Text: fmt.Sprintf("Sent %s.", count(p.Sent, "invitation"))})
		return
	}
	// What was sent is gone from the form; what was not stays, with why.
	p.Rows, p.Paste = keep, strings.Join(paste, "\n")
	if len(p.Rows) == 0 {
		p.Rows = []inviteRow{{Role: user.ViewerRole}}
	}
	p.Message = fmt.Sprintf("%s not sent: correct what is marked below and send again.", count(failed, "invitation was"))
	if failed != 1 {
		p.Message = fmt.Sprintf("%s invitations were not sent: correct what is marked below and send again.", thousands(int64(failed)))
	}
	if p.Sent > 0 {
		p.Message = fmt.Sprintf("Sent %s. ", count(p.Sent, "invitation")) + p.Message
	}
	c.render(w, r, http.StatusUnprocessableEntity, "invite", p)
}

// invitationAction is resend, revoke or copy the link of an invited user's invitation.
func (c *Console) invitationAction(w http.ResponseWriter, r *http.Request, m *me) {
	id := r.PathValue("id")
	iv := c.deps.Invitations
	switch r.PathValue("action") {
	case "resend":
		if err := iv.Resend(r.Context(), m.Actor, id); err != nil {
			c.actionFailed(w, r, id, err)
			return
		}
		c.redirect(w, r, "/users/"+id, flash{Kind: "ok", Text: "A new invitation is on its way; the earlier link no longer works."})
	case "revoke":
		if err := iv.Revoke(r.Context(), m.Actor, id); err != nil {
			c.actionFailed(w, r, id, err)
			return
		}
		c.redirect(w, r, "/users/"+id, flash{Kind: "ok", Text: "The invitation is revoked: its link no longer works. The user stays invited until you invite them again or delete them."})
	case "link":
		link, err := iv.Link(r.Context(), m.Actor, id)
		if err != nil {
			c.actionFailed(w, r, id, err)
			return
		}
		d, err := c.deps.Users.GetUser(r.Context(), m.Actor, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		p, err := c.userForm(r, m, d)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		p.InvitationLink = link
		w.Header().Set("Referrer-Policy", "no-referrer")
		c.render(w, r, http.StatusOK, "user", p)
	default:
		c.notFound(w, r)
	}
}

type acceptPage struct {
	base
	Token     string
	Email     string // whom the invitation is for
	FirstName string
	LastName  string
	Errors    map[string]string
	Message   string
	Dead      bool // the link no longer works: the page says so and shows no form
}

// acceptForm is the page an invitation link opens: the invited person's names and password,
// or, when the link no longer works, why and what to do.
func (c *Console) acceptForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	p := &acceptPage{base: base{Title: "Accept your invitation"}, Token: r.URL.Query().Get("token"), Errors: map[string]string{}}
	u, err := c.deps.Invitations.Invitee(r.Context(), p.Token)
	if err != nil {
		msg, _, _, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Message, p.Dead, p.Token = msg, true, ""
		c.render(w, r, http.StatusGone, "accept", p)
		return
	}
	p.Email = u.Email
	c.render(w, r, http.StatusOK, "accept", p)
}

func (c *Console) accept(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := readForm(w, r, 16<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &acceptPage{base: base{Title: "Accept your invitation"}, Token: r.PostForm.Get("token"), Errors: map[string]string{},
		FirstName: strings.TrimSpace(r.PostForm.Get("first_name")), LastName: strings.TrimSpace(r.PostForm.Get("last_name"))}
	if r.PostForm.Get("password") != r.PostForm.Get("confirm") {
		p.Errors["confirm"] = "The two passwords differ: type the same password twice."
		c.acceptAgain(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	token, u, err := c.deps.Invitations.Accept(r.Context(), p.Token, auth.AcceptInput{FirstName: p.FirstName, LastName: p.LastName,
		Password: r.PostForm.Get("password")}, client(r))
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Errors = fields
		p.Message = summary(msg, fields, func(f string) bool { return f == "first_name" || f == "last_name" || f == "password" })
		c.acceptAgain(w, r, status, p)
		return
	}
	c.startSession(w, r, token)
	to := "/account"
	if a, err := c.deps.Auth.SessionActor(r.Context(), token); err == nil && a.Can(user.UsersRead) {
		to = "/users"
	}
	c.redirect(w, r, to, flash{Kind: "ok", Text: "Welcome, " + u.Name() + ". Your account is ready, and you are signed in."})
}

// acceptAgain shows the accept page again after a refusal: with the form and whom the
// invitation is for while the link works, without the form once it does not.
func (c *Console) acceptAgain(w http.ResponseWriter, r *http.Request, status int, p *acceptPage) {
	u, err := c.deps.Invitations.Invitee(r.Context(), p.Token)
	if err == nil {
		p.Email = u.Email
	} else if _, _, _, ok := formError(err); ok {
		p.Dead, p.Token, p.Errors = true, "", map[string]string{}
		p.Message = message(err)
	}
	c.render(w, r, status, "accept", p)
}

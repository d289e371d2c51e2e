package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// accountPage is the signed-in person's own account: their password, their sessions and their
// API tokens.
type accountPage struct {
	base
	Sessions []sessionRow
	Tokens   []auth.Token
	Scopes   []user.PermissionInfo // the permissions a new token may be narrowed to: those held
	// NewToken and Secret are set once, on the page that answers the token's creation.
	NewToken *auth.Token
	Secret   string
	// What the token form sends back when it comes back with errors.
	TokenName, TokenExpires string
	TokenScopes             map[string]bool
	Errors                  map[string]string
	PasswordMessage         string
	TokenMessage            string
}

type sessionRow struct {
	auth.Session
	Current bool
}

// account shows the account page.
func (c *Console) account(w http.ResponseWriter, r *http.Request, m *me) {
	p := &accountPage{}
	if err := c.accountData(r, m, p); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "account", p)
}

// accountData fills the page with the person's sessions and tokens.
func (c *Console) accountData(r *http.Request, m *me, p *accountPage) error {
	ctx := r.Context()
	p.base = base{Title: "Your account", Nav: "account"}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	sessions, err := c.deps.Auth.Sessions(ctx, m.Actor)
	if err != nil {
		return err
	}
	current := auth.SessionID(c.sessionFrom(r))
	p.Sessions = make([]sessionRow, 0, len(sessions))
	for _, s := range sessions {
		p.Sessions = append(p.Sessions, sessionRow{Session: s, Current: s.ID == current})
	}
	if p.Tokens, err = c.deps.Auth.Tokens(ctx, m.Actor); err != nil {
		return err
	}
	for _, info := range user.Catalogue {
		if m.Actor.Can(info.Name) {
			p.Scopes = append(p.Scopes, info)
		}
	}
	return nil
}

// changePassword sets a new password. Every session ends with it, this one too: the person signs
// in again with the new password.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 16<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &accountPage{Errors: map[string]string{}}
	next := r.PostForm.Get("new_password")
	if next != r.PostForm.Get("confirm") {
		p.Errors["confirm"] = "The two new passwords differ: type the same password twice."
		c.accountAgain(w, r, m, p, http.StatusUnprocessableEntity)
		return
	}
	if err := c.deps.Auth.ChangePassword(r.Context(), m.Actor, r.PostForm.Get("current_password"), next); err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Errors = fields
		p.PasswordMessage = summary(msg, fields, func(f string) bool { return f == "current_password" || f == "new_password" })
		if len(fields) == 0 {
			p.PasswordMessage = msg
		}
		c.accountAgain(w, r, m, p, status)
		return
	}
	http.SetCookie(w, c.sessionCookie("", -1))
	c.redirect(w, r, "/sign-in?next=%2Faccount", flash{Kind: "ok", Text: "Your password is changed and every session of yours has ended, here and on your other devices. Sign in with the new password."})
}

// accountAgain shows the account page again with a form's errors. A person whose sessions just
// ended (locked out by wrong current passwords) goes to sign in.
func (c *Console) accountAgain(w http.ResponseWriter, r *http.Request, m *me, p *accountPage, status int) {
	if err := c.accountData(r, m, p); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, "account", p)
}

// endSession ends one of the person's sessions: another browser is signed out; ending this one
// is signing out.
func (c *Console) endSession(w http.ResponseWriter, r *http.Request, m *me) {
	id := r.PathValue("id")
	if err := c.deps.Auth.EndSession(r.Context(), m.Actor, id); err != nil {
		c.accountFailed(w, r, err)
		return
	}
	if id == auth.SessionID(c.sessionFrom(r)) {
		http.SetCookie(w, c.sessionCookie("", -1))
		c.redirect(w, r, "/sign-in", flash{Kind: "ok", Text: "You are signed out."})
		return
	}
	c.redirect(w, r, "/account", flash{Kind: "ok", Text: "The session has ended: that browser or device is signed out."})
}

// createToken makes an API token and shows its secret on the page that answers, once: it is
// never stored, put in a cookie or an address, and never shown again.
func (c *Console) createToken(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 16<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &accountPage{Errors: map[string]string{}, TokenName: strings.TrimSpace(r.PostForm.Get("name")),
		TokenExpires: strings.TrimSpace(r.PostForm.Get("expires")), TokenScopes: map[string]bool{}}
	in := auth.TokenInput{Name: p.TokenName}
	for _, s := range r.PostForm["scope"] {
		p.TokenScopes[s] = true
		in.Scopes = append(in.Scopes, user.Permission(s))
	}
	if p.TokenExpires != "" {
		day, err := time.ParseInLocation("2006-01-02", p.TokenExpires, time.UTC)
		if err != nil {
			p.Errors["expires_at"] = "Enter a date like 2027-01-31, or leave it empty for a token that does not expire."
			p.TokenMessage = "Nothing was made. Correct what is marked below."
			c.accountAgain(w, r, m, p, http.StatusUnprocessableEntity)
			return
		}
		end := day.Add(24*time.Hour - time.Second) // valid through the day named
		in.ExpiresAt = &end
	}
	t, secret, err := c.deps.Auth.CreateToken(r.Context(), m.Actor, in)
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Errors = fields
		p.TokenMessage = summary(msg, fields, func(f string) bool { return f == "name" || f == "scopes" || f == "expires_at" })
		if len(fields) == 0 {
			p.TokenMessage = msg
		}
		c.accountAgain(w, r, m, p, status)
		return
	}
	p = &accountPage{NewToken: t, Secret: secret, TokenScopes: map[string]bool{}}
	if err := c.accountData(r, m, p); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusCreated, "account", p)
}

// revokeToken revokes one of the person's tokens: it stops working at once.
func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, m *me) {
	if err := c.deps.Auth.RevokeToken(r.Context(), m.Actor, r.PathValue("id")); err != nil {
		c.accountFailed(w, r, err)
		return
	}
	c.redirect(w, r, "/account#tokens", flash{Kind: "ok", Text: "The API token is revoked: it no longer works."})
}

// accountFailed shows why an action on the account page was refused (a session or token that is
// not, or no longer, there) back on that page.
func (c *Console) accountFailed(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := errs.As(err); !ok || e.Kind == errs.Internal || e.Kind == errs.Unauthenticated {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/account", flash{Kind: "error", Text: message(err)})
}

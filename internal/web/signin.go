package web

import (
	"net/http"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// home is the users dashboard for a signed-in user and the sign-in page for anyone else.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if meFrom(r.Context()) == nil {
		c.toSignIn(w, r)
		return
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusNotFound, "error", &errorPage{base: base{Title: "Not found"},
		Message: "There is no page at this address. Check the link, or start from the users list."})
}

type signInPage struct {
	base
	Login   string
	Next    string
	Message string
}

func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if meFrom(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "sign-in", &signInPage{base: base{Title: "Sign in"}, Next: next})
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &signInPage{base: base{Title: "Sign in"}, Login: strings.TrimSpace(r.PostForm.Get("login")), Next: localPath(r.PostForm.Get("next"))}
	token, _, err := c.deps.Auth.Login(r.Context(), p.Login, r.PostForm.Get("password"), client(r))
	if err != nil {
		// A wrong password is the form's answer here, not a reason to go and sign in.
		e, ok := errs.As(err)
		if !ok || e.Kind == errs.Internal {
			c.fail(w, r, err)
			return
		}
		retryAfter(w, err)
		p.Message = e.Message
		status, _ := e.Kind.HTTPStatus()
		c.render(w, r, status, "sign-in", p)
		return
	}
	c.startSession(w, r, token)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

// startSession sets the cookie of a new session, first ending the session the browser had (a
// second sign-in, an invitation accepted in a browser where someone is signed in), so that no
// session is left behind that nobody can see or end.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, token string) {
	if m := meFrom(r.Context()); m != nil {
		if err := c.deps.Auth.Logout(r.Context(), m.Actor, c.sessionFrom(r), client(r)); err != nil {
			c.deps.Logger.Error("end the previous session", "err", err)
		}
	}
	http.SetCookie(w, c.sessionCookie(token, c.deps.Auth.SessionLifetime()))
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if m := meFrom(r.Context()); m != nil {
		if err := c.deps.Auth.Logout(r.Context(), m.Actor, c.sessionFrom(r), client(r)); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, c.sessionCookie("", -1))
	c.redirect(w, r, "/sign-in", flash{Kind: "ok", Text: "You are signed out."})
}

type forgotPage struct {
	base
	Email   string
	Message string
	Sent    bool
}

func (c *Console) forgotForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "forgot", &forgotPage{base: base{Title: "Reset your password"}})
}

func (c *Console) forgot(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &forgotPage{base: base{Title: "Reset your password"}, Email: strings.TrimSpace(r.PostForm.Get("email"))}
	if err := c.deps.Auth.RequestReset(r.Context(), p.Email, client(r)); err != nil {
		msg, _, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		retryAfter(w, err)
		p.Message = msg
		c.render(w, r, status, "forgot", p)
		return
	}
	p.Sent = true
	c.render(w, r, http.StatusOK, "forgot", p)
}

type resetPage struct {
	base
	Token   string
	Error   string
	Message string
}

func (c *Console) resetForm(w http.ResponseWriter, r *http.Request) {
	// The token stays out of logs and referrers: the page sends no Referer to anyone.
	w.Header().Set("Referrer-Policy", "no-referrer")
	c.render(w, r, http.StatusOK, "reset", &resetPage{base: base{Title: "Choose a new password"}, Token: r.URL.Query().Get("token")})
}

func (c *Console) reset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := readForm(w, r, 16<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &resetPage{base: base{Title: "Choose a new password"}, Token: r.PostForm.Get("token")}
	if r.PostForm.Get("password") != r.PostForm.Get("confirm") {
		p.Error = "The two passwords differ: type the same password twice."
		c.render(w, r, http.StatusUnprocessableEntity, "reset", p)
		return
	}
	if err := c.deps.Auth.ConfirmReset(r.Context(), p.Token, r.PostForm.Get("password"), client(r)); err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Message, p.Error = msg, fields["password"]
		if p.Error != "" {
			p.Message = ""
		}
		retryAfter(w, err)
		c.render(w, r, status, "reset", p)
		return
	}
	c.redirect(w, r, "/sign-in", flash{Kind: "ok", Text: "Your password is changed. Sign in with the new one."})
}

type setupPage struct {
	base
	Token   string
	Values  map[string]string
	Errors  map[string]string
	Message string
}

func (c *Console) setupForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	c.render(w, r, http.StatusOK, "setup", &setupPage{base: base{Title: "Set up usher"}, Token: r.URL.Query().Get("token"), Values: map[string]string{}})
}

func (c *Console) setup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	v := map[string]string{}
	for _, k := range []string{"email", "username", "first_name", "last_name"} {
		v[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	pw := r.PostForm.Get("password")
	in := user.CreateInput{Profile: user.Profile{Email: ptr(v["email"]), FirstName: ptr(v["first_name"]), LastName: ptr(v["last_name"])}, Password: &pw}
	if v["username"] != "" {
		in.Username = ptr(v["username"])
	}
	p := &setupPage{base: base{Title: "Set up usher"}, Token: r.PostForm.Get("token"), Values: v}
	d, err := c.deps.Setup.Complete(r.Context(), p.Token, in, client(r))
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		p.Message, p.Errors = summary(msg, fields, func(f string) bool { _, ok := v[f]; return ok || f == "password" }), fields
		c.render(w, r, status, "setup", p)
		return
	}
	// The new administrator signs in with what they just typed.
	token, _, err := c.deps.Auth.Login(r.Context(), d.Email, pw, client(r))
	if err != nil {
		c.redirect(w, r, "/sign-in", flash{Kind: "ok", Text: "The Default Administrator is ready. Sign in."})
		return
	}
	c.startSession(w, r, token)
	c.redirect(w, r, "/users", flash{Kind: "ok", Text: "Welcome, " + d.Name() + ". You are the Default Administrator: invite or create the people who will use usher."})
}

func ptr(s string) *string { return &s }

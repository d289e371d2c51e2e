package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/user"
	"github.com/usherhq/usher/internal/web/browsertest"
)

var invitationLinkRE = regexp.MustCompile(`https?://\S+/invitation\?token=[A-Za-z0-9_-]+`)

// invitationLink is the link of the latest invitation email usher queued for a user, read from
// the outbox as the mail worker would send it.
func (e *env) invitationLink(userID string) string {
	e.t.Helper()
	entries, _, err := e.app.Store.Outbox(context.Background(), mail.Filter{Kind: mail.KindInvitation, UserID: userID, Limit: 10})
	if err != nil || len(entries) == 0 {
		e.t.Fatalf("no invitation email for %s: %v", userID, err)
	}
	msg, err := e.app.Background.Outbox.Open(&entries[0])
	if err != nil {
		e.t.Fatal(err)
	}
	link := invitationLinkRE.FindString(msg.Text)
	if link == "" {
		e.t.Fatalf("the invitation email has no link:\n%s", msg.Text)
	}
	return link
}

func (e *env) userByEmail(email string) *user.Detail {
	e.t.Helper()
	page, err := e.app.Users.ListUsers(context.Background(), user.System("test"), user.Filter{Q: email})
	if err != nil || len(page.Users) != 1 {
		e.t.Fatalf("no one user %s: %v", email, err)
	}
	return page.Users[0]
}

func TestInvitePage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.signIn("admin@example.org")
		b.get("/invite").want(http.StatusOK).has("Invite people", "Email address 1", "Role for address 1", "+ Add another member", "Or paste many addresses")
		// Without scripts, "Add another member" gives the form back with one row more.
		more := b.post("/invite", url.Values{"email": {"a@example.org"}, "role": {user.ViewerRole}, "add_row": {"1"}})
		more.want(http.StatusOK).has("Email address 2")

		p := b.post("/invite", url.Values{
			"email": {"nina@example.org", "NINA@example.org", "not-an-email", ""},
			"role":  {user.ViewerRole, user.ViewerRole, user.UserManagerRole, user.ViewerRole},
			"paste": {"omar@example.org, \"Pia, Dr.\" <pia@example.org>\nnina@example.org"}, "paste_role": {user.ViewerRole}})
		p.want(http.StatusUnprocessableEntity).has("Sent 3 invitations.", "3 invitations were not sent",
			"This email has already been added.", "Enter a valid email address, like name@example.com.",
			"nina@example.org: This email has already been added.")
		if p.inputValue("email") != "NINA@example.org" {
			t.Fatal("the refused rows are not given back")
		}
		for _, email := range []string{"nina@example.org", "omar@example.org", "pia@example.org"} {
			if d := e.userByEmail(email); d.Status != user.Invited {
				t.Fatalf("%s is %s", email, d.Status)
			}
		}
		b.post("/invite", url.Values{"email": {"taken@example.org"}}).want(http.StatusSeeOther)
		b.post("/invite", url.Values{"email": {"taken@example.org"}}).want(http.StatusUnprocessableEntity).has("A user with this email already exists.")
		b.post("/invite", url.Values{"email": {""}}).want(http.StatusUnprocessableEntity).has("Enter an email address.")
		b.post("/invite", url.Values{"email": {"has space@example.org"}}).has("Remove the spaces from the email address.")

		// The invited user's page: resend, copy a link, revoke.
		nina := e.userByEmail("nina@example.org")
		b.get("/users/"+nina.ID).has("Invited", "Resend invitation", "Copy invitation link", "Revoke invitation")
		first := e.invitationLink(nina.ID)
		b.follow(b.post("/users/"+nina.ID+"/invitation/resend", nil)).has("A new invitation is on its way")
		link := b.post("/users/"+nina.ID+"/invitation/link", nil).want(http.StatusOK).inputValue("invitation-link")
		if !strings.Contains(link, "/invitation?token=inv_") || link == first {
			t.Fatalf("copied link %q", link)
		}
		anon := e.browser()
		u, _ := url.Parse(first)
		anon.post("/invitation", url.Values{"token": {u.Query().Get("token")}, "first_name": {"Nina"}, "last_name": {"Nowak"},
			"password": {testPassword}, "confirm": {testPassword}}).want(http.StatusUnprocessableEntity).has("This invitation link is not valid")
		b.follow(b.post("/users/"+nina.ID+"/invitation/revoke", nil)).has("The invitation is revoked")
		lu, _ := url.Parse(link)
		anon.post("/invitation", url.Values{"token": {lu.Query().Get("token")}, "first_name": {"Nina"}, "last_name": {"Nowak"},
			"password": {testPassword}, "confirm": {testPassword}}).want(http.StatusUnprocessableEntity).has("This invitation link is not valid")

		// A viewer may not invite.
		vb := e.signIn(e.createUser("vera", user.ViewerRole).Username)
		vb.get("/invite").want(http.StatusForbidden).has("This needs the users.invite permission.")
		vb.get("/users").lacks("Invite people")
	})
}

func TestAcceptInvitation(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.signIn("admin@example.org")
		b.post("/invite", url.Values{"email": {"omar@example.org"}, "role": {user.ViewerRole}}).want(http.StatusSeeOther)
		omar := e.userByEmail("omar@example.org")
		u, _ := url.Parse(e.invitationLink(omar.ID))
		token := u.Query().Get("token")

		anon := e.browser()
		page := anon.get("/invitation?token="+token).want(http.StatusOK).has("Accept your invitation", "This invitation is for omar@example.org")
		if page.header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatal("the page that holds the token sends referrers")
		}
		form := url.Values{"token": {token}, "first_name": {"Omar"}, "last_name": {"Haddad"}, "password": {testPassword}, "confirm": {"something else"}}
		anon.post("/invitation", form).want(http.StatusUnprocessableEntity).has("The two passwords differ")
		form.Set("confirm", "short")
		form.Set("password", "short")
		anon.post("/invitation", form).want(http.StatusUnprocessableEntity).has("Nothing was saved")
		form.Set("password", testPassword)
		form.Set("confirm", testPassword)
		done := anon.post("/invitation", form)
		if done.status != http.StatusSeeOther || done.location != "/users" {
			t.Fatalf("accept: %d %q %s", done.status, done.location, done.body)
		}
		anon.follow(done).has("Welcome, Omar Haddad. Your account is ready, and you are signed in.")
		if d := e.userByEmail("omar@example.org"); d.Status != user.Active {
			t.Fatalf("after accepting Omar is %s", d.Status)
		}
		anon.post("/invitation", form).want(http.StatusUnprocessableEntity).has("This invitation link is not valid").lacks("Accept and sign in")
		b.get("/users/"+omar.ID+"?tab=audit").has("user.invite", "invitation.accept")

		// A used, unknown or made-up link says so when it is opened, with no form to fill in.
		for _, tok := range []string{token, "inv_" + strings.Repeat("A", 43), "nonsense"} {
			e.browser().get("/invitation?token="+tok).want(http.StatusGone).
				has("This invitation link is not valid: it was used already").lacks("Accept and sign in", "This invitation is for")
		}
	})
}

// TestInviteInBrowser is the seeds' invitation path in a browser: three addresses of which one is
// a duplicate and one invalid, the two row errors, the email's link, acceptance, and the
// new user signed in; then the events in the user's audit tab.
func TestInviteInBrowser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.tab()
		b.signIn("admin@example.org", testPassword)
		b.open("/users")
		b.Follow("a[href='/invite']")
		b.Check("invite")
		b.Fill("Email address 1", "rosa@example.org")
		b.Click("[data-add-row]")
		if !b.HasFocus("#email-1") {
			t.Fatalf("a new row does not take the focus: %s", b.Focused())
		}
		b.Fill("Email address 2", "ROSA@example.org")
		b.Click("[data-add-row]")
		b.Fill("Email address 3", "rosa@@example")
		b.WaitText("[data-send-label]", "Send 3 invitations")
		b.Follow("[data-send-label]")
		b.says("Sent 1 invitation.", "This email has already been added.", "Enter a valid email address, like name@example.com.")
		b.Check("invite-errors")

		rosa := e.userByEmail("rosa@example.org")
		invited := e.tab()
		link := e.invitationLink(rosa.ID)
		invited.Go(link)
		invited.Check("accept")
		invited.Fill("First name", "Rosa")
		invited.Fill("Last name", "Lima")
		invited.Fill("Password", testPassword)
		invited.Fill("Type it again", testPassword)
		invited.PressAndLoad(browsertest.KeyEnter)
		invited.says("Welcome, Rosa Lima.")
		if invited.path() != "/users" {
			t.Fatalf("after accepting Rosa sees %s", invited.path())
		}
		used := e.tab()
		used.Go(link)
		used.says("This invitation link is not valid: it was used already")
		used.Check("accept-used")

		b.open("/users/" + rosa.ID + "?tab=audit")
		b.says("invitation.accept", "user.invite")
		b.Check("user-audit")
		evs, _, _ := e.app.Users.UserAudit(context.Background(), user.System("test"), rosa.ID, audit.Filter{})
		if len(evs) < 2 {
			t.Fatalf("audit trail of the invitation: %+v", evs)
		}

		// Enter in any row sends the form; it never "presses" a row's Remove.
		b.open("/invite")
		b.Fill("Email address 1", "enter1@example.org")
		b.Click("[data-add-row]")
		b.Fill("Email address 2", "enter2@example.org")
		b.PressAndLoad(browsertest.KeyEnter)
		b.says("Sent 2 invitations.")
	})
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/mail"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

type inviteResults struct {
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Results   []struct {
		Email  string    `json:"email"`
		OK     bool      `json:"ok"`
		Status int       `json:"status"`
		User   *userJSON `json:"user"`
		Error  *struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Status int    `json:"status"`
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		} `json:"error"`
	} `json:"results"`
}

func invitees(emails ...string) []map[string]any {
	out := make([]map[string]any, len(emails))
	for i, e := range emails {
		out[i] = map[string]any{"email": e}
	}
	return out
}

// invitePerAddress: one result per address in request order; the bad ones say why in
// the words a person inviting sees, and never keep the good ones from being invited.
func invitePerAddress(t *testing.T, e *env) {
	admins, err := e.app.Users.CreateGroup(context.Background(), allPowerful(), user.GroupInput{Name: strptr("Admins"),
		RoleIDs: &[]string{user.AdministratorRole}})
	must(t, err)
	cases := []struct {
		body             map[string]any
		status           int
		code, msg, field string
	}{
		{map[string]any{"email": "bob@example.org", "roles": []string{user.ViewerRole}}, http.StatusCreated, "", "", ""},
		{map[string]any{"email": ""}, http.StatusUnprocessableEntity, "invitation.email_required", "Enter an email address.", "email"},
		{map[string]any{"email": " carol@example.org"}, http.StatusUnprocessableEntity, "invitation.email_spaces", "Remove the spaces from the email address.", "email"},
		{map[string]any{"email": "carol@exa mple.org"}, http.StatusUnprocessableEntity, "invitation.email_spaces", "Remove the spaces from the email address.", "email"},
		{map[string]any{"email": "carol@example"}, http.StatusUnprocessableEntity, "invitation.email_invalid", "Enter a valid email address, like name@example.com.", "email"},
		{map[string]any{"email": "carol"}, http.StatusUnprocessableEntity, "invitation.email_invalid", "Enter a valid email address, like name@example.com.", "email"},
		{map[string]any{"email": "Bob@Example.org"}, http.StatusUnprocessableEntity, "invitation.email_duplicate", "This email has already been added.", "email"},
		{map[string]any{"email": "viewer@example.org"}, http.StatusConflict, "invitation.email_taken", "A user with this email already exists.", "email"},
		{map[string]any{"email": "rnanager@example.org"}, http.StatusConflict, "user.lookalike", "", "email"}, // rn looks like m
		{map[string]any{"email": "dan@example.org", "roles": []string{user.AdministratorRole}}, http.StatusForbidden, "auth.escalation", "", ""},
		{map[string]any{"email": "erin@example.org", "groups": []string{admins.ID}}, http.StatusForbidden, "auth.escalation", "", ""},
		{map[string]any{"email": "frank@example.org", "groups": []string{"nope"}}, http.StatusUnprocessableEntity, "group.unknown", "", "groups"},
		{map[string]any{"email": "grace@example.org", "roles": []string{}}, http.StatusCreated, "", "", ""},
	}
	body := make([]map[string]any, len(cases))
	for i, c := range cases {
		body[i] = c.body
	}
	var res inviteResults
	e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": body, "message": "Welcome <b>aboard</b>"}).want(http.StatusOK).into(&res)
	if res.Succeeded != 2 || res.Failed != len(cases)-2 || len(res.Results) != len(cases) {
		t.Fatalf("results: %+v", res)
	}
	for i, c := range cases {
		r := res.Results[i]
		if r.Email != c.body["email"] || r.Status != c.status || r.OK != (c.code == "") {
			t.Errorf("result %d: %+v, want %q with status %d", i, r, c.body["email"], c.status)
			continue
		}
		if c.code == "" {
			if r.User == nil || r.User.Status != "invited" || r.Error != nil {
				t.Errorf("%q: %+v", c.body["email"], r)
			}
			continue
		}
		if r.User != nil || r.Error == nil || r.Error.Code != c.code || r.Error.Status != c.status ||
			c.msg != "" && r.Error.Detail != c.msg {
			t.Errorf("%q: error %+v, want %s %q", c.body["email"], r.Error, c.code, c.msg)
			continue
		}
		if c.field != "" && (len(r.Error.Errors) != 1 || r.Error.Errors[0].Field != c.field || c.msg != "" && r.Error.Errors[0].Message != c.msg) {
			t.Errorf("%q: field errors %+v, want one on %s", c.body["email"], r.Error.Errors, c.field)
		}
	}
	bob := res.Results[0].User.ID
	msgs := e.mail.messages(t, mail.KindInvitation, bob)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "Welcome <b>aboard</b>") ||
		!strings.HasPrefix(e.mail.invitationLink(t, bob), e.app.Config.PublicURL+"/invitation?token=inv_") {
		t.Fatalf("invitation emails %+v", msgs)
	}
	var grace userJSON
	e.admin.do("GET", "/api/v1/users/"+res.Results[len(cases)-1].User.ID, nil).want(http.StatusOK).into(&grace)
	if len(grace.Roles) != 0 || grace.Status != "invited" {
		t.Fatalf("an invitation with no roles gives none: %+v", grace)
	}

	// the request as a whole
	e.viewer.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees("x@example.org")}).problem(http.StatusForbidden, "auth.permission_denied")
	e.anon.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees("x@example.org")}).problem(http.StatusUnauthorized, "auth.unauthenticated")
	e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": []any{}}).problem(http.StatusUnprocessableEntity, "invitation.none")
	e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees("x@example.org"), "message": strings.Repeat("é", 1001)}).
		problem(http.StatusUnprocessableEntity, "invitation.message_too_long")
	e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": nil}).problem(http.StatusUnprocessableEntity, "request.null")
}

// inviteLimit: up to 100 addresses in one request; 101 is refused as a whole.
func inviteLimit(t *testing.T, e *env) {
	emails := make([]string, 101)
	for i := range emails {
		emails[i] = fmt.Sprintf("person%03d@example.org", i)
	}
	e.admin.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees(emails...)}).problem(http.StatusUnprocessableEntity, "invitation.too_many")
	var before user.Counts
	e.admin.do("GET", "/api/v1/users/counts", nil).want(http.StatusOK).into(&before)
	var res inviteResults
	e.admin.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees(emails[:100]...)}).want(http.StatusOK).into(&res)
	if res.Succeeded != 100 {
		t.Fatalf("%d of 100 invited", res.Succeeded)
	}
	var counts user.Counts
	e.admin.do("GET", "/api/v1/users/counts", nil).want(http.StatusOK).into(&counts)
	if counts.Invited-before.Invited != 100 {
		t.Fatalf("%d more invited users, want 100", counts.Invited-before.Invited)
	}
}

// invitationActions: resend, revoke and copy link on invited users, refused on others,
// each audited once; accepting signs the person in like login does; an unknown, used and
// expired link get the same answer; tokens do not cross between reset and invitation.
func invitationActions(t *testing.T, e *env) {
	invited := func() string {
		var res inviteResults
		e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees(unique("pat") + "@example.org")}).want(http.StatusOK).into(&res)
		return res.Results[0].User.ID
	}
	users := "/api/v1/users/"
	failedAccepts := func() int {
		evs, _, err := e.app.Users.Audit(context.Background(), allPowerful(), audit.Filter{Action: "invitation.accept", Limit: 1000})
		must(t, err)
		return countAction(evs, "invitation.accept", audit.Failure)
	}
	failedBefore := failedAccepts()
	active := e.freshUser(user.Active)
	for _, action := range []string{"resend", "revoke", "link"} {
		e.manager.do("POST", users+active+"/invitation/"+action, nil).problem(http.StatusConflict, "invitation.not_invited")
		e.viewer.do("POST", users+invited()+"/invitation/"+action, nil).problem(http.StatusForbidden, "auth.permission_denied")
		e.manager.do("POST", users+"0190c0de-0000-7000-8000-000000000000/invitation/"+action, nil).problem(http.StatusNotFound, "user.not_found")
	}

	pat := invited()
	first := e.mail.invitationToken(t, pat)
	e.manager.do("POST", users+pat+"/invitation/resend", nil).want(http.StatusNoContent)
	resent := e.mail.invitationToken(t, pat)
	var link struct {
		URL string `json:"url"`
	}
	e.manager.do("POST", users+pat+"/invitation/link", nil).want(http.StatusOK).into(&link)
	if !strings.HasPrefix(link.URL, e.app.Config.PublicURL+"/invitation?token=inv_") {
		t.Fatalf("link %q", link.URL)
	}
	copied := link.URL[strings.Index(link.URL, "token=")+len("token="):]
	accept := func(token string) *response {
		return e.anon.do("POST", "/api/v1/invitations/accept", map[string]string{"token": token, "first_name": "Pat",
			"last_name": "Doe", "password": testPassword})
	}
	unknown := accept("inv_unknown").problem(http.StatusUnprocessableEntity, "invitation.invalid")
	for _, old := range []string{first, resent} {
		p := accept(old).problem(http.StatusUnprocessableEntity, "invitation.invalid")
		if p.Detail != unknown.Detail || p.Title != unknown.Title {
			t.Fatalf("answers differ: %+v vs %+v", p, unknown)
		}
	}
	// an invitation token is useless for a reset, a reset token useless here
	e.anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": copied, "password": testPassword}).
		problem(http.StatusUnprocessableEntity, "auth.reset_invalid")
	viewer := e.createUser(unique("resetter"), user.ViewerRole)
	must(t, e.app.Auth.SendReset(context.Background(), allPowerful(), viewer.ID))
	accept(e.mail.resetToken(t, viewer.ID)).problem(http.StatusUnprocessableEntity, "invitation.invalid")

	r := accept(copied).want(http.StatusOK)
	var me meJSON
	r.into(&me)
	if me.ID != pat || me.Name != "Pat Doe" || len(r.cookies) != 1 || r.cookies[0].Name != e.cookie || !r.cookies[0].HttpOnly {
		t.Fatalf("accept answered %s with cookies %v", r.body, r.cookies)
	}
	session := &client{t: t, base: e.srv.URL, cookie: r.cookies[0].Value, cookieName: e.cookie}
	session.do("GET", "/api/v1/auth/me", nil).want(http.StatusOK)
	accept(copied).problem(http.StatusUnprocessableEntity, "invitation.invalid")
	e.manager.do("POST", users+pat+"/invitation/resend", nil).problem(http.StatusConflict, "invitation.not_invited")

	// revoke: the link stops working, the user stays invited
	sam := invited()
	e.manager.do("POST", users+sam+"/invitation/revoke", nil).want(http.StatusNoContent)
	accept(e.mail.invitationToken(t, sam)).problem(http.StatusUnprocessableEntity, "invitation.invalid")
	if got := e.admin.do("GET", users+sam, nil).want(http.StatusOK).user(); got.Status != "invited" {
		t.Fatalf("revoked: status %s", got.Status)
	}

	// one audit event per step, none holding a token
	for action, want := range map[string]int{"user.invite": 1, "invitation.resend": 1, "invitation.link": 1, "invitation.accept": 1} {
		evs, _, err := e.app.Users.Audit(context.Background(), allPowerful(), audit.Filter{TargetID: pat, Action: action, Limit: 100})
		must(t, err)
		if n := countAction(evs, action, audit.Success); n != want {
			t.Errorf("%s audited %d times, want %d", action, n, want)
		}
	}
	evs, _, err := e.app.Users.Audit(context.Background(), allPowerful(), audit.Filter{Limit: 1000})
	must(t, err)
	if n := countAction(evs, "invitation.revoke", audit.Success); n != 1 {
		t.Fatalf("%d revokes audited, want 1", n)
	}
	if n := failedAccepts() - failedBefore; n != 6 {
		t.Fatalf("%d failed accepts audited, want 6", n)
	}
	for _, ev := range evs {
		if b, _ := json.Marshal(ev); bytes.Contains(b, []byte("inv_")) || bytes.Contains(b, []byte(testPassword)) {
			t.Fatalf("audit event %s holds a secret: %s", ev.Action, b)
		}
	}
}

type meJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

func countAction(evs []audit.Event, action, outcome string) int {
	n := 0
	for _, ev := range evs {
		if ev.Action == action && ev.Outcome == outcome {
			n++
		}
	}
	return n
}

// TestInvitationsAPI runs the invitation scenarios on one server per database.
func TestInvitationsAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		t.Run("per address", func(t *testing.T) { invitePerAddress(t, e) })
		t.Run("limit", func(t *testing.T) { inviteLimit(t, e) })
		t.Run("actions", func(t *testing.T) { invitationActions(t, e) })
		t.Run("accept race", func(t *testing.T) { acceptRace(t, e) })
	})
}

// TestResendInterval (FLOOD): a mailbox gets at most one invitation email per interval, however
// often the resend button is pressed. The interval is claimed in the database (store's
// TestInvitationRows races it on both); this is its answer over HTTP.
func TestResendInterval(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite), "USHER_INVITATION_RESEND_INTERVAL=1h")
	var res inviteResults
	e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees("quinn@example.org")}).want(http.StatusOK).into(&res)
	id := res.Results[0].User.ID
	r := e.manager.do("POST", "/api/v1/users/"+id+"/invitation/resend", nil)
	p := r.problem(http.StatusTooManyRequests, "invitation.resend_too_soon")
	if wait, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || wait < 3500 || wait > 3600 || !strings.Contains(p.Detail, "less than 1 hour ago") {
		t.Fatalf("Retry-After %q: %s", r.header.Get("Retry-After"), p.Detail)
	}
	if n := len(e.mail.messages(t, mail.KindInvitation, id)); n != 1 {
		t.Fatalf("%d invitation emails, want 1", n)
	}
}

// acceptRace (INV): parallel acceptances of one link over HTTP: exactly one 200. Each hashes a
// password with the production parameters, so there are 8 here; auth's TestAcceptRace races 50
// on both databases.
func acceptRace(t *testing.T, e *env) {
	const n = 8
	var res inviteResults
	e.manager.do("POST", "/api/v1/invitations", map[string]any{"invitations": invitees("race@example.org")}).want(http.StatusOK).into(&res)
	token := e.mail.invitationToken(t, res.Results[0].User.ID)
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c := &client{t: t, base: e.srv.URL}
			statuses <- c.do("POST", "/api/v1/invitations/accept", map[string]string{"token": token, "first_name": "Rae",
				"last_name": "Ce", "password": testPassword}).status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusUnprocessableEntity] != n-1 {
		t.Fatalf("statuses %v, want one 200 and the rest 422", count)
	}
}

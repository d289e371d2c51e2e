package auth_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// inbox keeps the invitation emails, by the invited user's id.
type inbox struct {
	mu   sync.Mutex
	mail map[string][]auth.InvitationEmail
}

func (b *inbox) Invitation(_ context.Context, m auth.InvitationEmail) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mail[m.To.ID] = append(b.mail[m.To.ID], m)
	return nil
}

// token returns the token of the latest link sent to a user.
func (b *inbox) token(t *testing.T, userID string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	ms := b.mail[userID]
	if len(ms) == 0 {
		t.Fatalf("no invitation was sent to %s", userID)
	}
	return tokenOf(t, ms[len(ms)-1].Link)
}

func (b *inbox) count(userID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mail[userID])
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != "https://usher.example.com/invitation" {
		t.Fatalf("link %q is not built from the public URL", link)
	}
	return u.Query().Get("token")
}

type inviteFixture struct {
	*fixture
	inv     *auth.Invitations
	box     *inbox
	manager user.Actor // a User Manager
}

func newInviteFixture(t *testing.T, st *store.Store, opts auth.InvitationOptions) *inviteFixture {
	t.Helper()
	f := newFixture(t, st, auth.Options{PublicURL: "https://usher.example.com", Limits: noLimits})
	email, name := "manager@example.org", "manager"
	m, err := f.users.CreateUser(context.Background(), user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email,
		Username: &name, FirstName: &name, LastName: &name}, Password: strptr(password), RoleIDs: []string{user.UserManagerRole}})
	if err != nil {
		t.Fatal(err)
	}
	box := &inbox{mail: map[string][]auth.InvitationEmail{}}
	inv, err := auth.NewInvitations(st, f.users, f.auth, box, opts)
	must(t, err)
	manager := user.Actor{ID: m.ID, Name: "manager", Permissions: user.BuiltinRoles()[1].Permissions}
	return &inviteFixture{fixture: f, inv: inv, box: box, manager: manager}
}

// invite invites one address as the manager and returns the invited user's id.
func (f *inviteFixture) invite(t *testing.T, email string, roles ...string) string {
	t.Helper()
	if roles == nil {
		roles = []string{user.ViewerRole}
	}
	res, err := f.inv.Invite(context.Background(), f.manager, []user.InviteInput{{Email: email, RoleIDs: roles}}, "")
	if err != nil || res[0].Err != nil {
		t.Fatalf("invite %s: %v %v", email, err, res[0].Err)
	}
	return res[0].User.ID
}

func (f *inviteFixture) accept(token string) (string, *user.User, error) {
	return f.inv.Accept(context.Background(), token, auth.AcceptInput{FirstName: "Bob", LastName: "Builder", Password: "a brand new passphrase"},
		auth.Client{IP: "192.0.2.7", RequestID: "req-accept"})
}

func (f *inviteFixture) countEvents(t *testing.T, targetID, action, outcome string) int {
	t.Helper()
	evs, _, err := f.st.AuditEvents(context.Background(), audit.Filter{TargetID: targetID, Action: action, Outcome: outcome, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}

// TestInvitePerAddress: every address is checked on its own, with the messages a person
// inviting sees; the good ones are invited, in status invited, with one audit event and one
// email each, whatever happens to the others.
func TestInvitePerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newInviteFixture(t, st, auth.InvitationOptions{})
		ctx := context.Background()
		people := []struct {
			email   string
			roles   []string
			code    string
			message string
		}{
			{"bob@example.org", nil, "", ""},
			{"", nil, "invitation.email_required", user.InviteEmailEmpty},
			{"   ", nil, "invitation.email_required", user.InviteEmailEmpty},
			{" carol@example.org", nil, "invitation.email_spaces", user.InviteEmailSpaces},
			{"carol @example.org", nil, "invitation.email_spaces", user.InviteEmailSpaces},
			{"carol@example.org\u00a0", nil, "invitation.email_spaces", user.InviteEmailSpaces},
			{"carol.example.org", nil, "invitation.email_invalid", user.InviteEmailInvalid},
			{"carol@example", nil, "invitation.email_invalid", user.InviteEmailInvalid},
			{"carol@exa_mple.org", nil, "invitation.email_invalid", user.InviteEmailInvalid},
			{"BOB@Example.ORG", nil, "invitation.email_duplicate", user.InviteEmailDuplicate},
			{"ada@example.org", nil, "invitation.email_taken", user.InviteEmailTaken},
			{"MANAGER@EXAMPLE.ORG", nil, "invitation.email_taken", user.InviteEmailTaken},
			{"rnanager@example.org", nil, "user.lookalike", ""},                // rn looks like m
			{"\u0430da@example.org", nil, "invitation.email_not_username", ""}, // Cyrillic а
			{"dan@example.org", []string{user.AdministratorRole}, "auth.escalation", ""},
			{"erin@example.org", []string{"no-such-role"}, "role.unknown", ""},
			{"zw\u200b@example.org", nil, "identity.invisible_char", ""},
			{"Frank@Example.org", []string{}, "", ""},
		}
		in := make([]user.InviteInput, len(people))
		for i, p := range people {
			in[i] = user.InviteInput{Email: p.email, RoleIDs: p.roles}
		}
		res, err := f.inv.Invite(ctx, f.manager, in, "Welcome!")
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(people) {
			t.Fatalf("%d results for %d addresses", len(res), len(people))
		}
		for i, p := range people {
			r := res[i]
			if r.Email != p.email {
				t.Fatalf("result %d is for %q, want %q: results are in request order", i, r.Email, p.email)
			}
			if p.code == "" {
				if r.Err != nil || r.User == nil || r.User.Status != user.Invited || r.User.PasswordHash != "" {
					t.Fatalf("%q: %v %+v", p.email, r.Err, r.User)
				}
				if f.box.count(r.User.ID) != 1 || f.countEvents(t, r.User.ID, "user.invite", audit.Success) != 1 {
					t.Fatalf("%q: %d emails, %d audit events", p.email, f.box.count(r.User.ID), f.countEvents(t, r.User.ID, "user.invite", audit.Success))
				}
				continue
			}
			e, ok := errs.As(r.Err)
			if r.User != nil || !ok || e.Code != p.code || p.message != "" && e.Message != p.message {
				t.Errorf("%q: %v, want %s %q", p.email, r.Err, p.code, p.message)
			}
		}
		frank, err := f.users.GetUser(ctx, user.System("test"), res[len(res)-1].User.ID)
		if err != nil || frank.Email != "Frank@Example.org" || len(frank.Roles) != 0 {
			t.Fatalf("Frank: %+v %v (an empty role list gives no role)", frank, err)
		}
		bob := res[0].User
		m := f.box.mail[bob.ID][0]
		if m.Message != "Welcome!" || m.Inviter != "manager manager" || m.ValidFor != auth.DefaultInvitationLifetime {
			t.Fatalf("email %+v", m)
		}
		token := tokenOf(t, m.Link)
		if !strings.HasPrefix(token, "inv_") || len(token) < len("inv_")+22 { // ≥ 128 bits in base64
			t.Fatalf("token %q is too short", token)
		}
		// only the hash is stored: the token's SHA-256 is what uses it
		if id, err := st.UseOneTimeToken(ctx, sha(token), auth.PurposeInvitation, time.Now()); err != nil || id != bob.ID {
			t.Fatalf("the stored token is not the hash of the emailed one: %v", err)
		}
		// no token in the audit log
		evs, _, err := st.AuditEvents(ctx, audit.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if b, _ := json.Marshal(e); strings.Contains(string(b), token) || strings.Contains(string(b), "inv_") {
				t.Fatalf("audit event %s holds a token", e.Action)
			}
		}

		// the request as a whole
		for _, tc := range []struct {
			a      user.Actor
			in     []user.InviteInput
			msg    string
			code   string
			status errs.Kind
		}{
			{user.Actor{ID: f.u.ID, Name: "ada", Permissions: user.NewPermissions(user.UsersRead, user.UsersWrite)}, in[:1], "", "auth.permission_denied", errs.Forbidden},
			{f.manager, nil, "", "invitation.none", errs.Invalid},
			{f.manager, make([]user.InviteInput, user.MaxInvitations+1), "", "invitation.too_many", errs.Invalid},
			{f.manager, in[:1], strings.Repeat("x", auth.MaxInvitationMessage+1), "invitation.message_too_long", errs.Invalid},
			{f.manager, in[:1], "hi\u202e", "invitation.message_invalid", errs.Invalid},
		} {
			_, err := f.inv.Invite(ctx, tc.a, tc.in, tc.msg)
			if e, ok := errs.As(err); !ok || e.Code != tc.code || e.Kind != tc.status {
				t.Errorf("%s: %v", tc.code, err)
			}
		}
		if without, err := auth.NewInvitations(st, f.users, f.auth, nil, auth.InvitationOptions{}); without != nil || err == nil || !strings.Contains(err.Error(), "no notifier") {
			t.Fatalf("invitations without a notifier: %v", err)
		}
	})
}

// TestInvitationLifecycle: resend, revoke and copying a link each end the earlier links and are
// audited once; they refuse users who are not invited; a resend waits for the interval.
func TestInvitationLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newInviteFixture(t, st, auth.InvitationOptions{ResendInterval: time.Hour, ValidFor: 48 * time.Hour})
		ctx := context.Background()
		bob := f.invite(t, "bob@example.org")
		first := f.box.token(t, bob)

		if err := f.inv.Resend(ctx, f.manager, bob); code(err) != "invitation.resend_too_soon" {
			t.Fatalf("resend within the interval: %v", err)
		}
		link, err := f.inv.Link(ctx, f.manager, bob)
		if err != nil {
			t.Fatal(err)
		}
		copied := tokenOf(t, link)
		if _, _, err := f.accept(first); code(err) != "invitation.invalid" {
			t.Fatalf("the emailed link after a copied one: %v", err)
		}
		must(t, f.inv.Revoke(ctx, f.manager, bob))
		if _, _, err := f.accept(copied); code(err) != "invitation.invalid" {
			t.Fatalf("a revoked link: %v", err)
		}
		if u, _ := st.User(ctx, bob); u.Status != user.Invited {
			t.Fatalf("revoked: status %s, want invited", u.Status)
		}

		// a resend after the interval sends a new link that works
		f2 := newInviteFixtureOn(t, f, auth.InvitationOptions{})
		must(t, f2.inv.Resend(ctx, f.manager, bob))
		if f2.box.count(bob) != 1 || f2.box.mail[bob][0].ValidFor != auth.DefaultInvitationLifetime {
			t.Fatal("the resend sent no email")
		}
		if _, u, err := f2.accept(f2.box.token(t, bob)); err != nil || u.Status != user.Active {
			t.Fatalf("accept a resent link: %v", err)
		}
		for _, action := range []string{"user.invite", "invitation.link", "invitation.revoke", "invitation.resend", "invitation.accept"} {
			if n := f.countEvents(t, bob, action, audit.Success); n != 1 {
				t.Errorf("%s audited %d times, want 1", action, n)
			}
		}

		// not invited (any more): a clear refusal from all three
		for name, op := range map[string]func() error{
			"resend": func() error { return f.inv.Resend(ctx, f.manager, bob) },
			"revoke": func() error { return f.inv.Revoke(ctx, f.manager, f.u.ID) },
			"link":   func() error { _, err := f.inv.Link(ctx, f.manager, f.u.ID); return err },
		} {
			if e, ok := errs.As(op()); !ok || e.Code != "invitation.not_invited" || e.Kind != errs.Conflict {
				t.Errorf("%s for an active user: %v", name, e)
			}
		}
		// nobody renews an invitation that carries more than they hold
		admin := f.invite(t, "root@example.org", user.ViewerRole)
		u, err := st.User(ctx, admin)
		must(t, err)
		_, err = f.users.UpdateUser(ctx, user.System("test"), admin, u.Version, user.Patch{RoleIDs: &[]string{user.AdministratorRole}})
		must(t, err)
		if _, err := f.inv.Link(ctx, f.manager, admin); code(err) != "auth.superior" {
			t.Fatalf("link for an invited administrator by a manager: %v", err)
		}
		viewer := user.Actor{ID: f.u.ID, Name: "ada", Permissions: user.NewPermissions(user.UsersRead)}
		if err := f.inv.Revoke(ctx, viewer, admin); code(err) != "auth.permission_denied" {
			t.Fatalf("revoke by a viewer: %v", err)
		}
	})
}

// newInviteFixtureOn is another invitation service on the same fixture (other options, its own inbox).
func newInviteFixtureOn(t *testing.T, f *inviteFixture, opts auth.InvitationOptions) *inviteFixture {
	t.Helper()
	box := &inbox{mail: map[string][]auth.InvitationEmail{}}
	inv, err := auth.NewInvitations(f.st, f.users, f.auth, box, opts)
	must(t, err)
	return &inviteFixture{fixture: f.fixture, inv: inv, box: box, manager: f.manager}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package auth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestAcceptInvitation: accepting sets the names and password, makes the user active, signs
// them in, ends the link and is audited once; the password works at the next sign-in.
func TestAcceptInvitation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newInviteFixture(t, st, auth.InvitationOptions{})
		ctx := context.Background()
		bob := f.invite(t, "bob@example.org")
		token := f.box.token(t, bob)

		bad := []struct {
			in     auth.AcceptInput
			fields []string
		}{
			{auth.AcceptInput{FirstName: "", LastName: "", Password: "short"}, []string{"first_name", "last_name", "password"}},
			{auth.AcceptInput{FirstName: " Bob", LastName: "Builder", Password: "password1234"}, []string{"first_name", "password"}},
		}
		for _, tc := range bad {
			_, _, err := f.inv.Accept(ctx, token, tc.in, auth.Client{})
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid || len(e.Fields) != len(tc.fields) {
				t.Fatalf("%+v: %v", tc.in, err)
			}
			for i, fe := range e.Fields {
				if fe.Field != tc.fields[i] {
					t.Fatalf("%+v: field %d is %s, want %s", tc.in, i, fe.Field, tc.fields[i])
				}
			}
		}

		session, u, err := f.accept(token)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != bob || u.Status != user.Active || u.FirstName != "Bob" || u.LastName != "Builder" || !u.Accepted() {
			t.Fatalf("accepted user %+v", u)
		}
		a, err := f.auth.SessionActor(ctx, session)
		if err != nil || a.ID != bob || !a.Can(user.UsersRead) {
			t.Fatalf("the session does not sign Bob in: %+v %v", a, err)
		}
		if _, _, err := f.accept(token); code(err) != "invitation.invalid" {
			t.Fatalf("the link works twice: %v", err)
		}
		if _, _, err := f.auth.Login(ctx, "bob@example.org", "a brand new passphrase", auth.Client{IP: "192.0.2.8"}); err != nil {
			t.Fatalf("sign in with the chosen password: %v", err)
		}
		if n := f.countEvents(t, bob, "invitation.accept", audit.Success); n != 1 {
			t.Fatalf("%d accept events, want 1", n)
		}
		evs, _, err := st.AuditEvents(ctx, audit.Filter{Action: "invitation.accept", Outcome: audit.Failure, Limit: 100})
		must(t, err)
		if len(evs) != 1 || evs[0].TargetID != "" || evs[0].ClientIP != "192.0.2.7" || evs[0].RequestID != "req-accept" {
			t.Fatalf("the refused second use is not audited once: %+v", evs)
		}
		// Bad input is refused before the link is looked at: it is no attempt on the link.
		if n := f.countEvents(t, bob, "invitation.accept", audit.Failure); n != 0 {
			t.Fatalf("%d failed accepts audited against Bob", n)
		}
	})
}

// TestAcceptSameAnswer (ENUM): an unknown, an expired, a revoked and a reset link get one
// answer, in at least the same time; an invitation token is useless on the reset endpoint and
// a reset token useless here.
func TestAcceptSameAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newInviteFixture(t, st, auth.InvitationOptions{})
		ctx := context.Background()
		bob := f.invite(t, "bob@example.org")
		now := time.Now().UTC()
		must(t, st.InsertOneTimeToken(ctx, sha("inv_expired"), auth.PurposeInvitation, bob, now.Add(-time.Hour), now.Add(-time.Second)))
		must(t, f.auth.SendReset(ctx, user.System("test"), f.u.ID))
		f.mail.mu.Lock()
		resetToken := f.mail.link[len("https://usher.example.com/reset-password?token="):]
		f.mail.mu.Unlock()

		var want *errs.Error
		for _, token := range []string{"inv_unknown", "inv_expired", resetToken, "", "rst_" + f.box.token(t, bob)[4:]} {
			start := time.Now()
			_, _, err := f.accept(token)
			if took := time.Since(start); took < auth.AcceptAnswerFloor {
				t.Fatalf("%q answered in %s, under the floor", token, took)
			}
			e, ok := errs.As(err)
			if !ok {
				t.Fatalf("%q: %v", token, err)
			}
			if want == nil {
				want = e
			}
			if e.Kind != want.Kind || e.Code != want.Code || e.Message != want.Message || e.Code != "invitation.invalid" {
				t.Fatalf("%q answered %v, %q answered %v", token, e, "inv_unknown", want)
			}
		}
		if err := f.auth.ConfirmReset(ctx, f.box.token(t, bob), "a brand new passphrase", auth.Client{}); code(err) != "auth.reset_invalid" {
			t.Fatalf("an invitation token on the reset endpoint: %v", err)
		}
		// both still work for what they are
		if _, _, err := f.accept(f.box.token(t, bob)); err != nil {
			t.Fatal(err)
		}
		must(t, f.auth.ConfirmReset(ctx, resetToken, "another new passphrase", auth.Client{}))
	})
}

// TestAcceptRace (INV): of 50 parallel acceptances of one link exactly one succeeds.
func TestAcceptRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newInviteFixture(t, st, auth.InvitationOptions{})
		bob := f.invite(t, "bob@example.org")
		token := f.box.token(t, bob)
		var ok, invalid atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, _, err := f.accept(token)
				switch code(err) {
				case "":
					ok.Add(1)
				case "invitation.invalid":
					invalid.Add(1)
				default:
					t.Errorf("accept: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || invalid.Load() != 49 {
			t.Fatalf("%d succeeded, %d refused; want 1 and 49", ok.Load(), invalid.Load())
		}
		if n := f.countEvents(t, bob, "invitation.accept", audit.Success); n != 1 {
			t.Fatalf("%d accept events, want 1", n)
		}
		sessions, err := st.Sessions(context.Background(), bob)
		if err != nil || len(sessions) != 1 {
			t.Fatalf("%d sessions, want 1 (%v)", len(sessions), err)
		}
	})
}

// TestAcceptChecksInviter: an inviter who lost the right to invite, or to give what the
// invitation carries, or who was disabled or deleted, makes it fail with a clear message and
// leaves the link usable once someone with the rights renews it; a disabled invited user
// cannot accept.
func TestAcceptChecksInviter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newInviteFixture(t, st, auth.InvitationOptions{})
		ctx := context.Background()
		sys := user.System("test")
		version := func(id string) int64 {
			u, err := st.User(ctx, id)
			must(t, err)
			return u.Version
		}
		setRoles := func(id string, roles ...string) {
			_, err := f.users.UpdateUser(ctx, sys, id, version(id), user.Patch{RoleIDs: &roles})
			must(t, err)
		}
		refused := func(who string) {
			t.Helper()
			_, _, err := f.accept(f.box.token(t, who))
			if e, ok := errs.As(err); !ok || e.Code != "invitation.inviter_lost_rights" || e.Kind != errs.Forbidden {
				t.Fatalf("accept: %v, want invitation.inviter_lost_rights", err)
			}
			if u, _ := st.User(ctx, who); u.Status != user.Invited {
				t.Fatalf("status %s after a refused accept", u.Status)
			}
			if n := f.countEvents(t, who, "invitation.accept", audit.Failure); n == 0 {
				t.Fatal("the refused accept is not audited")
			}
		}

		// the manager no longer may invite
		bob := f.invite(t, "bob@example.org")
		setRoles(f.manager.ID, user.ViewerRole)
		refused(bob)
		setRoles(f.manager.ID, user.UserManagerRole)
		if _, _, err := f.accept(f.box.token(t, bob)); err != nil {
			t.Fatalf("the same link once the inviter's rights are back: %v", err)
		}

		// the invited user now carries more than the inviter holds
		carol := f.invite(t, "carol@example.org")
		setRoles(carol, user.AuditorRole) // audit.read: not the manager's
		refused(carol)

		// a disabled, then a deleted inviter
		dan := f.invite(t, "dan@example.org")
		_, err := f.users.ChangeStatus(ctx, sys, f.manager.ID, user.Disable)
		must(t, err)
		refused(dan)
		must(t, f.users.DeleteUser(ctx, sys, f.manager.ID, version(f.manager.ID)))
		refused(dan)
		// an administrator renews the invitation: it stands again
		link, err := f.inv.Link(ctx, sys, dan)
		must(t, err)
		if _, _, err := f.accept(tokenOf(t, link)); err != nil {
			t.Fatalf("accept a link renewed by usher itself: %v", err)
		}

		// a disabled invited user cannot accept
		erin, err := f.inv.Invite(ctx, sys, []user.InviteInput{{Email: "erin@example.org"}}, "")
		must(t, err)
		_, err = f.users.ChangeStatus(ctx, sys, erin[0].User.ID, user.Disable)
		must(t, err)
		if _, _, err := f.accept(f.box.token(t, erin[0].User.ID)); code(err) != "auth.account_disabled" {
			t.Fatalf("a disabled invited user accepts: %v", err)
		}
	})
}

package user_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// signIn gives the user a session and returns its id.
func (f *fixture) signIn(t *testing.T, userID string) string {
	t.Helper()
	now := time.Now().UTC()
	id := uuid.NewString()
	if err := f.st.InsertSession(context.Background(), &auth.Session{ID: id, UserID: userID, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("insert session: %v", err)
	}
	return id
}

func (f *fixture) hasSession(t *testing.T, id string) bool {
	t.Helper()
	_, err := f.st.Session(context.Background(), id)
	if err != nil && !errs.Is(errs.NotFound, err) {
		t.Fatalf("session: %v", err)
	}
	return err == nil
}

func TestChangeStatus(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		local := f.create(t, f.admin, "status@example.com").ID
		invited := f.insert(t, user.User{Username: "invitee", Email: "invitee@example.com", Status: user.Invited}).ID
		bystander := f.signIn(t, f.viewer.ID)
		// Steps run in order on the same users; each starts where the one before ended.
		for _, tc := range []struct {
			name    string
			id      string
			ev      user.Event
			want    user.Status // the status after; for a refused step, the unchanged one
			code    string      // "" when the step succeeds
			revokes bool        // the user's sessions end
		}{
			{"lock an active user", local, user.Lock, user.Locked, "", true},
			{"lock a locked user", local, user.Lock, user.Locked, "user.invalid_transition", false},
			{"enable a locked user", local, user.Enable, user.Locked, "user.invalid_transition", false},
			{"unlock", local, user.Unlock, user.Active, "", false},
			{"unlock an active user", local, user.Unlock, user.Active, "user.invalid_transition", false},
			{"enable an active user", local, user.Enable, user.Active, "user.invalid_transition", false},
			{"disable an active user", local, user.Disable, user.Disabled, "", true},
			{"disable a disabled user", local, user.Disable, user.Disabled, "user.invalid_transition", false},
			{"lock a disabled user", local, user.Lock, user.Disabled, "user.invalid_transition", false},
			{"unlock a disabled user", local, user.Unlock, user.Disabled, "user.invalid_transition", false},
			{"enable an accepted user", local, user.Enable, user.Active, "", false},
			{"lock again", local, user.Lock, user.Locked, "", true},
			{"disable a locked user", local, user.Disable, user.Disabled, "", true},

			{"lock an invited user", invited, user.Lock, user.Invited, "user.invalid_transition", false},
			{"unlock an invited user", invited, user.Unlock, user.Invited, "user.invalid_transition", false},
			{"disable an invited user", invited, user.Disable, user.Disabled, "", true},
			{"enable a never-accepted user", invited, user.Enable, user.Invited, "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				session := f.signIn(t, tc.id)
				before := f.user(t, tc.id)
				if tc.code == "" {
					f.audited(t, f.admin, "user."+string(tc.ev), func() (string, error) {
						d, err := f.svc.ChangeStatus(ctx, f.admin, tc.id, tc.ev)
						if err == nil && d.Status != tc.want {
							t.Errorf("ChangeStatus returned %s, want %s", d.Status, tc.want)
						}
						return tc.id, err
					})
					ev := f.audit(t, audit.Filter{TargetID: tc.id})[0]
					if ev.Details["from"] != string(before.Status) || ev.Details["to"] != string(tc.want) {
						t.Errorf("audit details %v, want from %s to %s", ev.Details, before.Status, tc.want)
					}
				} else {
					err := f.unchanged(t, func() error { _, err := f.svc.ChangeStatus(ctx, f.admin, tc.id, tc.ev); return err })
					e := wantErr(t, err, errs.Conflict, tc.code)
					if !strings.Contains(e.Message, string(before.Status)) {
						t.Errorf("the message %q does not say the user is %s", e.Message, before.Status)
					}
				}
				after := f.user(t, tc.id)
				if after.Status != tc.want {
					t.Errorf("stored status %s, want %s", after.Status, tc.want)
				}
				if wantVersion := before.Version + map[bool]int64{true: 1}[tc.code == ""]; after.Version != wantVersion {
					t.Errorf("version %d, want %d", after.Version, wantVersion)
				}
				if got := f.hasSession(t, session); got == tc.revokes {
					t.Errorf("the user's session exists: %v, want %v", got, !tc.revokes)
				}
				if !f.hasSession(t, bystander) {
					t.Fatal("another user's session was revoked")
				}
			})
		}

		for _, tc := range []struct {
			name string
			a    user.Actor
			ev   user.Event
			kind errs.Kind
			code string
		}{
			{"accepting is for the invited person", f.admin, user.Accept, errs.Invalid, "user.invalid_transition"},
			{"a viewer cannot lock", f.viewer, user.Lock, errs.Forbidden, "auth.permission_denied"},
			{"a viewer cannot enable", f.viewer, user.Enable, errs.Forbidden, "auth.permission_denied"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.unchanged(t, func() error { _, err := f.svc.ChangeStatus(ctx, tc.a, invited, tc.ev); return err })
				wantErr(t, err, tc.kind, tc.code)
			})
		}
	})
}

package auth_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// Sessions and tokens resolve to their owner with the permissions of the owner's direct and
// group roles, a token's narrowed to its scopes; and to nothing when expired, unknown, or when
// the owner may not sign in.
func TestCredentialActors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, st, auth.Options{})
		ada := f.u.ID
		if err := st.SetUserRoles(ctx, ada, []string{user.AuditorRole}); err != nil {
			t.Fatal(err)
		}
		g := &user.Group{ID: uuid.NewString(), Name: "Helpdesk", Source: user.Local, Version: 1,
			CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		if err := st.InsertGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := st.SetGroupRoles(ctx, g.ID, []string{user.UserManagerRole}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetUserGroups(ctx, ada, []string{g.ID}); err != nil {
			t.Fatal(err)
		}
		held, err := st.EffectivePermissions(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		if !held.Has(user.AuditRead) || !held.Has(user.GroupsManage) {
			t.Fatalf("ada holds %v, want the Auditor's and the User Manager's permissions", held)
		}

		cookie, _, err := f.auth.Login(ctx, "ada", password, auth.Client{IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		session, err := f.auth.SessionActor(ctx, cookie)
		if err != nil {
			t.Fatalf("SessionActor: %v", err)
		}
		if session.ID != ada || session.Name != "ada" || !slices.Equal(session.Permissions, held) || session.TokenID != "" {
			t.Errorf("SessionActor = %+v, want ada with %v", session, held)
		}
		_, all, err := f.auth.CreateToken(ctx, session, auth.TokenInput{Name: "all"})
		if err != nil {
			t.Fatal(err)
		}
		scopes := user.NewPermissions(user.UsersRead, user.GroupsManage)
		scopedTok, scoped, err := f.auth.CreateToken(ctx, session, auth.TokenInput{Name: "scoped", Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		expired := "usher_expired-secret"
		past := time.Now().UTC().Add(-time.Minute)
		if err := st.InsertToken(ctx, &auth.Token{ID: uuid.NewString(), UserID: ada, Name: "old",
			Hash: auth.SessionID(expired), CreatedAt: past.Add(-time.Hour), ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		idle := "ses_idle-secret"
		if err := st.InsertSession(ctx, &auth.Session{ID: auth.SessionID(idle), UserID: ada, CreatedAt: past,
			LastSeenAt: past.Add(-3 * time.Hour), ExpiresAt: past.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name    string
			resolve func() (user.Actor, error)
			want    user.Permissions // nil: unauthenticated
		}{
			{"session", func() (user.Actor, error) { return f.auth.SessionActor(ctx, cookie) }, held},
			{"unscoped token", func() (user.Actor, error) { return f.auth.BearerActor(ctx, all) }, held},
			{"scoped token", func() (user.Actor, error) { return f.auth.BearerActor(ctx, scoped) }, scopes},
			{"unknown session", func() (user.Actor, error) { return f.auth.SessionActor(ctx, "ses_unknown") }, nil},
			{"idle session", func() (user.Actor, error) { return f.auth.SessionActor(ctx, idle) }, nil},
			{"unknown token", func() (user.Actor, error) { return f.auth.BearerActor(ctx, "usher_unknown") }, nil},
			{"not a token", func() (user.Actor, error) { return f.auth.BearerActor(ctx, cookie) }, nil},
			{"expired token", func() (user.Actor, error) { return f.auth.BearerActor(ctx, expired) }, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a, err := tc.resolve()
				if tc.want == nil {
					if !errs.Is(errs.Unauthenticated, err) {
						t.Fatalf("= %+v, %v; want unauthenticated", a, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if a.ID != ada || a.Name != "ada" || !slices.Equal(a.Permissions, tc.want) {
					t.Errorf("= %+v, want ada with %v", a, tc.want)
				}
			})
		}
		if _, err := st.Session(ctx, auth.SessionID(idle)); !errs.Is(errs.NotFound, err) {
			t.Errorf("idle session after use: %v, want it deleted", err)
		}

		// A token's use is recorded at most once a minute.
		used, err := st.Token(ctx, scopedTok.ID)
		if err != nil || used.LastUsedAt == nil {
			t.Fatalf("scoped token after use: %+v, %v; want its last use recorded", used, err)
		}
		if _, err := f.auth.BearerActor(ctx, scoped); err != nil {
			t.Fatal(err)
		}
		if again, err := st.Token(ctx, scopedTok.ID); err != nil || !again.LastUsedAt.Equal(*used.LastUsedAt) {
			t.Errorf("last use after a second use within a minute = %v, %v; want %v unchanged", again.LastUsedAt, err, used.LastUsedAt)
		}

		// Scopes narrow what the owner holds now: leaving the group takes groups.manage away.
		if err := st.SetUserGroups(ctx, ada, nil); err != nil {
			t.Fatal(err)
		}
		if a, err := f.auth.BearerActor(ctx, scoped); err != nil || !slices.Equal(a.Permissions, user.NewPermissions(user.UsersRead)) {
			t.Errorf("scoped token after leaving the group = %+v, %v; want users.read only", a, err)
		}

		// An owner who may not sign in makes neither work.
		u, err := st.User(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		u.Status, u.Version = user.Disabled, u.Version+1
		if err := st.UpdateUser(ctx, u, u.Version-1); err != nil {
			t.Fatal(err)
		}
		if a, err := f.auth.SessionActor(ctx, cookie); !errs.Is(errs.Unauthenticated, err) {
			t.Errorf("session of a disabled user = %+v, %v; want unauthenticated", a, err)
		}
		if a, err := f.auth.BearerActor(ctx, all); !errs.Is(errs.Unauthenticated, err) {
			t.Errorf("token of a disabled user = %+v, %v; want unauthenticated", a, err)
		}
	})
}

package store_test

import (
	"context"
	"fmt"
	"reflect"
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

func insertSession(t *testing.T, s *store.Store, userID, id string) *auth.Session {
	t.Helper()
	ss := &auth.Session{ID: id, UserID: userID, CreatedAt: t0, LastSeenAt: t0.Add(time.Minute),
		ExpiresAt: t0.Add(24 * time.Hour), ClientIP: "192.0.2.7", UserAgent: "Firefox/140"}
	if err := s.InsertSession(context.Background(), ss); err != nil {
		t.Fatalf("InsertSession: %v", err)
	}
	return ss
}

func insertToken(t *testing.T, s *store.Store, userID, hash string) *auth.Token {
	t.Helper()
	tok := &auth.Token{ID: uuid.NewString(), UserID: userID, Name: "ci " + hash, Hash: hash, CreatedAt: t0}
	if err := s.InsertToken(context.Background(), tok); err != nil {
		t.Fatalf("InsertToken: %v", err)
	}
	return tok
}

func TestSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		alice := mustInsertUser(t, s, newUser("alice"))
		bob := mustInsertUser(t, s, newUser("bob"))
		want := insertSession(t, s, alice.ID, "hash-a1")
		insertSession(t, s, alice.ID, "hash-a2")
		insertSession(t, s, bob.ID, "hash-b1")

		got, err := s.Session(ctx, "hash-a1")
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		if got.ID != want.ID || got.UserID != want.UserID || got.ClientIP != want.ClientIP || got.UserAgent != want.UserAgent {
			t.Errorf("Session = %+v, want %+v", got, want)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
		sameTime(t, "LastSeenAt", got.LastSeenAt, want.LastSeenAt)
		sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)

		seen := t0.Add(2 * time.Hour)
		if err := s.TouchSession(ctx, "hash-a1", seen); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		if got, err := s.Session(ctx, "hash-a1"); err != nil {
			t.Fatal(err)
		} else {
			sameTime(t, "LastSeenAt after touch", got.LastSeenAt, seen)
			sameTime(t, "ExpiresAt after touch", got.ExpiresAt, want.ExpiresAt)
		}

		if err := s.DeleteSession(ctx, "hash-a2"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		_, err = s.Session(ctx, "hash-a2")
		wantErr(t, err, errs.NotFound, "session.not_found", "")

		insertSession(t, s, alice.ID, "hash-a3")
		if err := s.RevokeSessions(ctx, alice.ID); err != nil {
			t.Fatalf("RevokeSessions: %v", err)
		}
		for _, id := range []string{"hash-a1", "hash-a3"} {
			_, err := s.Session(ctx, id)
			wantErr(t, err, errs.NotFound, "session.not_found", "")
		}
		if n := count(t, s, "SELECT count(*) FROM sessions WHERE user_id = $1", alice.ID); n != 0 {
			t.Errorf("%d sessions of alice left after RevokeSessions", n)
		}
		if got, err := s.Session(ctx, "hash-b1"); err != nil || got.UserID != bob.ID {
			t.Errorf("bob's session after revoking alice's = %v, %v", got, err)
		}
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		alice := mustInsertUser(t, s, newUser("alice"))
		bob := mustInsertUser(t, s, newUser("bob"))
		expires := t0.Add(30 * 24 * time.Hour)
		scoped := &auth.Token{ID: uuid.NewString(), UserID: alice.ID, Name: "deploy", Hash: "h-scoped",
			Scopes: user.NewPermissions(user.UsersRead, user.AuditRead), CreatedAt: t0, ExpiresAt: &expires}
		if err := s.InsertToken(ctx, scoped); err != nil {
			t.Fatalf("InsertToken: %v", err)
		}
		newer := &auth.Token{ID: uuid.NewString(), UserID: alice.ID, Name: "all", Hash: "h-all", CreatedAt: t0.Add(time.Hour)}
		if err := s.InsertToken(ctx, newer); err != nil {
			t.Fatalf("InsertToken: %v", err)
		}
		insertToken(t, s, bob.ID, "h-bob")

		for _, get := range []struct {
			name string
			fn   func() (*auth.Token, error)
		}{
			{"by hash", func() (*auth.Token, error) { t, _, err := s.TokenOwner(ctx, "h-scoped"); return t, err }},
			{"by id", func() (*auth.Token, error) { return s.Token(ctx, scoped.ID) }},
		} {
			got, err := get.fn()
			if err != nil {
				t.Fatalf("%s: %v", get.name, err)
			}
			if got.ID != scoped.ID || got.UserID != alice.ID || got.Name != "deploy" || got.Hash != "h-scoped" ||
				!slices.Equal(got.Scopes, scoped.Scopes) || got.LastUsedAt != nil {
				t.Errorf("%s = %+v, want %+v", get.name, got, scoped)
			}
			sameTime(t, get.name+" CreatedAt", got.CreatedAt, t0)
			sameTimePtr(t, get.name+" ExpiresAt", got.ExpiresAt, &expires)
		}

		list, err := s.Tokens(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != newer.ID || list[1].ID != scoped.ID {
			t.Errorf("Tokens = %+v, want alice's two, newest first", list)
		}
		if len(list) > 0 && (len(list[0].Scopes) != 0 || list[0].ExpiresAt != nil) {
			t.Errorf("unscoped token read back as %+v", list[0])
		}

		used := t0.Add(5 * time.Hour)
		if err := s.TouchToken(ctx, scoped.ID, used); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Token(ctx, scoped.ID); err != nil {
			t.Fatal(err)
		} else {
			sameTimePtr(t, "LastUsedAt", got.LastUsedAt, &used)
		}

		dup := &auth.Token{ID: uuid.NewString(), UserID: bob.ID, Name: "dup", Hash: "h-all", CreatedAt: t0}
		wantErr(t, s.InsertToken(ctx, dup), errs.Conflict, "token.collision", "")

		if err := s.DeleteToken(ctx, scoped.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.TokenOwner(ctx, "h-scoped")
		wantErr(t, err, errs.NotFound, "token.not_found", "")
		_, err = s.Token(ctx, scoped.ID)
		wantErr(t, err, errs.NotFound, "token.not_found", "")
		if list, err := s.Tokens(ctx, bob.ID); err != nil || len(list) != 1 {
			t.Errorf("bob's tokens = %v, %v; want one", list, err)
		}
	})
}

func TestSettings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		if _, ok, err := s.Setting(ctx, "smtp.host"); err != nil || ok {
			t.Fatalf("Setting of an unwritten key = ok %v, err %v", ok, err)
		}
		for _, v := range []string{"mail.example.org", "smtp.example.org"} {
			if err := s.SetSetting(ctx, "smtp.host", v); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := s.Setting(ctx, "smtp.host"); err != nil || !ok || got != v {
				t.Errorf("Setting = %q, %v, %v; want %q", got, ok, err, v)
			}
		}
		if err := s.DeleteSetting(ctx, "smtp.host"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Setting(ctx, "smtp.host"); err != nil || ok {
			t.Errorf("Setting after delete = ok %v, err %v", ok, err)
		}
	})
}

func TestTokenAndSessionOwner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newGrantFixture(t, s)
		c := newUser("carol")
		c.Status = user.Disabled
		carol := mustInsertUser(t, s, c)
		aliceToken := &auth.Token{ID: uuid.NewString(), UserID: f.alice.ID, Name: "deploy", Hash: "h-alice",
			Scopes: user.NewPermissions(user.UsersRead), CreatedAt: t0}
		if err := s.InsertToken(ctx, aliceToken); err != nil {
			t.Fatal(err)
		}
		insertToken(t, s, carol.ID, "h-carol")
		insertSession(t, s, f.alice.ID, "s-alice")
		insertSession(t, s, carol.ID, "s-carol")

		// Alice holds Zeta and Mid directly and alpha through two groups.
		alicePerms := user.NewPermissions(user.AuditRead, user.UsersLock, user.UsersRead)
		if held, err := s.EffectivePermissions(ctx, f.alice.ID); err != nil || !slices.Equal(held, alicePerms) {
			t.Fatalf("EffectivePermissions(alice) = %v, %v; want %v", held, err, alicePerms)
		}
		wantOwner := map[string]auth.Owner{
			f.alice.ID: {ID: f.alice.ID, Username: "alice", Status: user.Active, Permissions: alicePerms},
			carol.ID:   {ID: carol.ID, Username: "carol", Status: user.Disabled},
		}
		checkOwner := func(what string, got *auth.Owner, userID string) {
			t.Helper()
			want := wantOwner[userID]
			if got.ID != want.ID || got.Username != want.Username || got.Status != want.Status ||
				!slices.Equal(got.Permissions, want.Permissions) {
				t.Errorf("%s owner = %+v, want %+v", what, *got, want)
			}
		}
		read := func(ctx context.Context) error {
			for _, hash := range []string{"h-alice", "h-carol"} {
				tok, owner, err := s.TokenOwner(ctx, hash)
				if err != nil {
					return fmt.Errorf("TokenOwner(%s): %w", hash, err)
				}
				var want *auth.Token
				all, err := s.Tokens(ctx, tok.UserID)
				if err != nil {
					return err
				}
				for i := range all {
					if all[i].Hash == hash {
						want = &all[i]
					}
				}
				if !reflect.DeepEqual(tok, want) {
					t.Errorf("TokenOwner(%s) token = %+v, want %+v", hash, tok, want)
				}
				checkOwner("TokenOwner("+hash+")", owner, want.UserID)
			}
			for _, id := range []string{"s-alice", "s-carol"} {
				ss, owner, err := s.SessionOwner(ctx, id)
				if err != nil {
					return fmt.Errorf("SessionOwner(%s): %w", id, err)
				}
				want, err := s.Session(ctx, id)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(ss, want) {
					t.Errorf("SessionOwner(%s) session = %+v, want %+v", id, ss, want)
				}
				checkOwner("SessionOwner("+id+")", owner, want.UserID)
			}
			_, _, err := s.TokenOwner(ctx, "h-unknown")
			wantErr(t, err, errs.NotFound, "token.not_found", "")
			_, _, err = s.SessionOwner(ctx, "s-unknown")
			wantErr(t, err, errs.NotFound, "session.not_found", "")
			return nil
		}
		if err := read(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the first transaction runs the statements unprepared, the second prepared
			if err := s.InTx(ctx, read); err != nil {
				t.Fatal(err)
			}
		}

		// The token and session of a deleted user resolve to nothing.
		if err := s.DeleteUser(ctx, f.alice.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.TokenOwner(ctx, "h-alice")
		wantErr(t, err, errs.NotFound, "token.not_found", "")
		_, _, err = s.SessionOwner(ctx, "s-alice")
		wantErr(t, err, errs.NotFound, "session.not_found", "")
	})
}

package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestOneTimeTokenRules: expiry is checked in the same UPDATE that uses a token, and a token
// of one purpose is useless for another.
func TestOneTimeTokenRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, auth.Options{})
		ctx := context.Background()
		now := time.Now().UTC()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(st.InsertOneTimeToken(ctx, sha("rst_expired"), auth.PurposeReset, f.u.ID, now.Add(-2*time.Hour), now.Add(-time.Hour)))
		must(st.InsertOneTimeToken(ctx, sha("rst_valid"), auth.PurposeReset, f.u.ID, now, now.Add(time.Hour)))
		for _, tc := range []struct {
			name, token, purpose string
			ok                   bool
		}{
			{"expired", "rst_expired", auth.PurposeReset, false},
			{"other purpose", "rst_valid", "invitation", false},
			{"valid", "rst_valid", auth.PurposeReset, true},
			{"used", "rst_valid", auth.PurposeReset, false},
		} {
			_, err := st.UseOneTimeToken(ctx, sha(tc.token), tc.purpose, now)
			if (err == nil) != tc.ok || err != nil && !errs.Is(errs.NotFound, err) {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		if err := f.auth.ConfirmReset(ctx, "rst_expired", "a brand new passphrase", auth.Client{}); code(err) != "auth.reset_invalid" {
			t.Fatalf("expired token through the service: %v", err)
		}
	})
}

// TestResetUnlocksPolicy: with the policy on, a locked-out user can reset and is unlocked.
func TestResetUnlocksPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, auth.Options{ResetUnlocks: true, PublicURL: "https://usher.example.com"})
		ctx := context.Background()
		for range 5 {
			f.login(t, "wrong password!")
		}
		if f.status(t) != user.Locked {
			t.Fatal("not locked")
		}
		if err := f.auth.RequestReset(ctx, "ada@example.org", auth.Client{}); err != nil {
			t.Fatal(err)
		}
		if len(f.mail.link) < 60 || f.mail.link[:len("https://usher.example.com/reset-password?token=rst_")] != "https://usher.example.com/reset-password?token=rst_" {
			t.Fatalf("link %q", f.mail.link)
		}
		token := f.mail.link[len("https://usher.example.com/reset-password?token="):]
		if err := f.auth.ConfirmReset(ctx, token, "a brand new passphrase", auth.Client{}); err != nil {
			t.Fatal(err)
		}
		if f.status(t) != user.Active || f.login(t, "a brand new passphrase") != "" {
			t.Fatal("the reset did not unlock the user")
		}
		if f.events(t, "auth.password_reset", "success") != 1 {
			t.Fatal("the reset was not audited once")
		}
	})
}

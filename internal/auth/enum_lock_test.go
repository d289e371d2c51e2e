package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// answer is what a client reads: the error's kind (its HTTP status), code and message.
func answer(err error) string {
	if e, ok := errs.As(err); ok {
		return fmt.Sprintf("%s %s %q", e.Kind, e.Code, e.Message)
	}
	if err != nil {
		return err.Error()
	}
	return "signed in"
}

// addUser makes one more user with the fixture's password and, if ev is set, changes its status.
func (f *fixture) addUser(t *testing.T, name string, ev user.Event) {
	t.Helper()
	ctx := context.Background()
	email := name + "@example.org"
	d, err := f.users.CreateUser(ctx, user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
		FirstName: &name, LastName: &name}, Password: strptr(password)})
	if err != nil {
		t.Fatal(err)
	}
	if ev != "" {
		if _, err := f.users.ChangeStatus(ctx, user.System("test"), d.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// TestENUMLockedAnswersLikeMissing: at every attempt, wrong passwords for an active, a disabled
// and an administrator-locked account get the answer a login that names no account gets, up to
// and past "locked"; only the right password tells a disabled or locked person why.
func TestENUMLockedAnswersLikeMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		f.addUser(t, "dora", user.Disable)
		f.addUser(t, "lena", user.Lock)
		f.addUser(t, "dave", user.Disable)
		f.addUser(t, "lars", user.Lock)
		logins := []string{"nobody@example.org", "ada", "dora", "lena"}
		seqs := make([][]string, len(logins))
		for range 7 {
			for i, login := range logins {
				_, _, err := f.auth.Login(ctx, login, "wrong password!", auth.Client{IP: "127.0.0.1"})
				seqs[i] = append(seqs[i], answer(err))
			}
		}
		for i := range logins[1:] {
			for a := range seqs[0] {
				if seqs[i+1][a] != seqs[0][a] {
					t.Fatalf("attempt %d: %s answers %s, a missing login %s", a+1, logins[i+1], seqs[i+1][a], seqs[0][a])
				}
			}
		}
		if !containsAt(seqs[0], 3, "auth.invalid_credentials") || !containsAt(seqs[0], 4, "auth.account_locked") ||
			!containsAt(seqs[0], 6, "auth.account_locked") {
			t.Fatalf("answers %v: want invalid credentials four times, then locked", seqs[0])
		}
		for login, want := range map[string]string{"dave": "auth.account_disabled", "lars": "auth.account_locked"} {
			if _, _, err := f.auth.Login(ctx, login, password, auth.Client{}); code(err) != want {
				t.Errorf("%s, right password: %s, want %s", login, code(err), want)
			}
		}
		// The lock the wrong passwords put on ada is real: her right password fails too.
		if c := f.login(t, password); c != "auth.account_locked" {
			t.Fatalf("ada after five failures, right password: %s", c)
		}
		// a disabled and a locked account's hashes were checked at most five times each, however often guessed
		if n := f.pw.Checked(); n > 4*5+2 {
			t.Fatalf("%d hashes checked for four accounts guessed seven times each and two right passwords", n)
		}
	})
}

// TestENUMLoginsCountAsTyped: failures count per login as typed, so a username and the email of
// one account cannot be told to belong together from the answers; the account still locks after
// five failures in all.
func TestENUMLoginsCountAsTyped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		try := func(login string) string {
			_, _, err := f.auth.Login(ctx, login, "wrong password!", auth.Client{})
			return answer(err)
		}
		var real, madeUp []string
		for range 4 {
			real = append(real, try("ada"))
			madeUp = append(madeUp, try("bob"))
		}
		real = append(real, try("ada@example.org"))
		madeUp = append(madeUp, try("bob@example.org"))
		if strings.Join(real, "|") != strings.Join(madeUp, "|") || !strings.Contains(real[4], "invalid_credentials") {
			t.Fatalf("username then email: account %v, made up %v", real, madeUp)
		}
		if f.status(t) != user.Locked {
			t.Fatalf("five failures across the username and the email left the account %s", f.status(t))
		}
		// an administrator's unlock forgets what was typed, so the person signs in at once
		if _, err := f.users.ChangeStatus(ctx, user.System("test"), f.u.ID, user.Unlock); err != nil {
			t.Fatal(err)
		}
		if c := f.login(t, password); c != "" {
			t.Fatalf("right password after an unlock: %s", c)
		}
	})
}

// TestENUMAttemptsAtOnce: many wrong attempts at once for an account and for a made-up login get
// the same answers, and no more than five hashes of the account are checked.
func TestENUMAttemptsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		count := func(login string) map[string]int {
			var mu sync.Mutex
			got := map[string]int{}
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Go(func() {
					_, _, err := f.auth.Login(ctx, login, "wrong password!", auth.Client{IP: fmt.Sprintf("10.0.0.%d", i)})
					mu.Lock()
					got[code(err)]++
					mu.Unlock()
				})
			}
			wg.Wait()
			return got
		}
		before := f.pw.Checked()
		real, madeUp := count("ada"), count("nobody")
		if fmt.Sprint(real) != fmt.Sprint(madeUp) {
			t.Fatalf("12 attempts at once: account %v, made-up login %v", real, madeUp)
		}
		if n := f.pw.Checked() - before; n > 5 {
			t.Fatalf("%d hashes of the account checked", n)
		}
	})
}

func containsAt(seq []string, i int, code string) bool {
	return i < len(seq) && strings.Contains(seq[i], code)
}

// TestENUMUnknownLoginUnlocksLikeAccount: with an auto-unlock delay, the "lock" of a made-up
// login, of a disabled and of an administrator-locked account ends when a locked-out account's would.
func TestENUMUnknownLoginUnlocksLikeAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		// The delay leaves room for the twenty attempts and the lockout (with its notices) on a busy machine.
		f := newFixture(t, st, auth.Options{AutoUnlockAfter: 1500 * time.Millisecond, Limits: noLimits})
		try := func(login string) string {
			_, _, err := f.auth.Login(ctx, login, "wrong password!", auth.Client{})
			return code(err)
		}
		f.addUser(t, "dora", user.Disable)
		f.addUser(t, "lena", user.Lock)
		logins := []string{"nobody", "ada", "dora", "lena"}
		for range 5 {
			for _, l := range logins {
				try(l)
			}
		}
		for _, l := range logins {
			if c := try(l); c != "auth.account_locked" {
				t.Fatalf("before the delay: %s answers %s", l, c)
			}
		}
		time.Sleep(1600 * time.Millisecond)
		for _, l := range logins {
			if c := try(l); c != "auth.invalid_credentials" {
				t.Fatalf("after the delay: %s answers %s", l, c)
			}
		}
	})
}

// TestSignInCanonicalLogin: surrounding spaces, letter case and the Unicode form of what is typed
// do not matter: "É" typed as one character or as "E" and a combining accent is one account.
func TestSignInCanonicalLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		email, name := "\u00c9mile@example.org", "emile"
		if _, err := f.users.CreateUser(ctx, user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
			FirstName: &name, LastName: &name}, Password: strptr(password)}); err != nil {
			t.Fatal(err)
		}
		for _, login := range []string{"\u00c9mile@example.org", "E\u0301mile@example.org", "  \u00e9MILE@example.org\t", " Ada "} {
			if _, _, err := f.auth.Login(ctx, login, password, auth.Client{}); err != nil {
				t.Errorf("sign in as %q: %v", login, err)
			}
		}
	})
}

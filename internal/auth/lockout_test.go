package auth_test

import (
	"context"
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

const password = "correct horse battery staple"

type fixture struct {
	st    *store.Store
	users *user.Service
	auth  *auth.Service
	pw    *auth.Passwords
	u     *user.Detail
}

func newFixture(t *testing.T, st *store.Store, opts auth.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := st.SyncBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	pw := auth.NewPasswords(auth.HashParams{Memory: 1024, Time: 1, Threads: 1}, auth.DefaultPolicy)
	users := user.NewService(st, pw)
	email, name := "ada@example.org", "ada"
	u, err := users.CreateUser(ctx, user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
		FirstName: &name, LastName: &name}, Password: strptr(password)})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, users: users, auth: auth.NewService(st, pw, opts), pw: pw, u: u}
}

func strptr(s string) *string { return &s }

func code(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func (f *fixture) login(t *testing.T, pw string) string {
	t.Helper()
	_, _, err := f.auth.Login(context.Background(), "ada", pw, auth.Client{IP: "127.0.0.1"})
	return code(err)
}

func (f *fixture) status(t *testing.T) user.Status {
	t.Helper()
	u, err := f.st.User(context.Background(), f.u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Status
}

func (f *fixture) events(t *testing.T, action, outcome string) int {
	t.Helper()
	evs, _, err := f.st.AuditEvents(context.Background(), audit.Filter{TargetID: f.u.ID, Action: action, Outcome: outcome, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// noLimits turns the rate limits off, for tests of what lies behind them.
var noLimits = &auth.Limits{}

func TestLockoutAfterFiveFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		// a success resets the count: four failures, a success, four more still leave it active
		for range 4 {
			if c := f.login(t, "wrong password!"); c != "auth.invalid_credentials" {
				t.Fatalf("wrong password: %s", c)
			}
		}
		if c := f.login(t, password); c != "" {
			t.Fatalf("right password after 4 failures: %s", c)
		}
		for range 4 {
			f.login(t, "wrong password!")
		}
		if f.status(t) != user.Active {
			t.Fatal("locked before the fifth consecutive failure")
		}
		if c := f.login(t, "wrong password!"); c != "auth.account_locked" {
			t.Fatalf("fifth failure: %s", c)
		}
		if f.status(t) != user.Locked || f.events(t, "user.lock", audit.Success) != 1 {
			t.Fatalf("after five failures: status %s, %d lock events", f.status(t), f.events(t, "user.lock", ""))
		}
		checked := f.pw.Checked()
		if c := f.login(t, password); c != "auth.account_locked" {
			t.Fatalf("right password while locked: %s", c)
		}
		if f.pw.Checked() != checked {
			t.Fatal("a locked account's password hash was checked")
		}
		// an administrator's unlock lets them in again, with a fresh count
		if _, err := f.users.ChangeStatus(context.Background(), user.System("test"), f.u.ID, user.Unlock); err != nil {
			t.Fatal(err)
		}
		if c := f.login(t, password); c != "" {
			t.Fatalf("after unlock: %s", c)
		}
		for range 4 {
			f.login(t, "wrong password!")
		}
		if f.status(t) != user.Active {
			t.Fatal("the counter was not reset by unlock")
		}
	})
}

// TestLockoutRace: 200 parallel wrong attempts check at most 5 hashes, lock exactly once and
// never let anyone in; the right password then fails until an unlock.
func TestLockoutRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		before := f.pw.Checked()
		var wg sync.WaitGroup
		results := make([]string, 200)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = f.login(t, "wrong password!")
			}()
		}
		wg.Wait()
		for i, c := range results {
			if c != "auth.invalid_credentials" && c != "auth.account_locked" && c != "auth.busy" {
				t.Fatalf("attempt %d: %s", i, c)
			}
		}
		if n := f.pw.Checked() - before; n > 5 {
			t.Fatalf("%d password hashes checked, at most 5 allowed", n)
		}
		if f.status(t) != user.Locked || f.events(t, "user.lock", "") != 1 {
			t.Fatalf("status %s, %d lock events; want locked once", f.status(t), f.events(t, "user.lock", ""))
		}
		if c := f.login(t, password); c != "auth.account_locked" {
			t.Fatalf("right password after the race: %s", c)
		}
	})
}

func TestAutoUnlockPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, auth.Options{AutoUnlockAfter: 300 * time.Millisecond, Limits: noLimits})
		for range 5 {
			f.login(t, "wrong password!")
		}
		if c := f.login(t, password); c != "auth.account_locked" {
			t.Fatalf("before the delay: %s", c)
		}
		time.Sleep(400 * time.Millisecond)
		if c := f.login(t, password); c != "" {
			t.Fatalf("after the delay: %s", c)
		}
		if f.events(t, "user.unlock", audit.Success) != 1 {
			t.Fatal("the auto-unlock was not audited")
		}
		// an administrator's lock is not ended by the delay
		if _, err := f.users.ChangeStatus(context.Background(), user.System("test"), f.u.ID, user.Lock); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if c := f.login(t, password); c != "auth.account_locked" {
			t.Fatalf("administrator's lock after the delay: %s", c)
		}
	})
}

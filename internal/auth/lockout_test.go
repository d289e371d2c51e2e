package auth_test

import (
	"context"
	"fmt"
	"slices"
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

const password = "correct horse battery staple"

type fixture struct {
	st    *store.Store
	users *user.Service
	auth  *auth.Service
	pw    *auth.Passwords
	u     *user.Detail
	mail  *notes
}

// notes records the messages the auth service asked for.
type notes struct {
	mu     sync.Mutex
	resets int
	link   string   // the last reset link
	locked []string // user ids told their account locked
	admins []string // "admin id → locked user id" for the administrators told
}

func (n *notes) PasswordReset(_ context.Context, _ *user.User, link string, _ time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.resets++
	n.link = link
	return nil
}

func (n *notes) AccountLocked(_ context.Context, u *user.User, _ int, _ time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.locked = append(n.locked, u.ID)
	return nil
}

func (n *notes) AccountLockedAdmin(_ context.Context, admin, u *user.User, _ int, _ time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.admins = append(n.admins, admin.ID+" → "+u.ID)
	return nil
}

func (n *notes) sentResets() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.resets
}

func newFixture(t *testing.T, st *store.Store, opts auth.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := st.SyncBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	pw := auth.NewPasswords(auth.HashParams{Memory: 1024, Time: 1, Threads: 1}, auth.DefaultPolicy)
	n := &notes{}
	signIn, err := auth.NewService(st, pw, n, opts)
	if err != nil {
		t.Fatal(err)
	}
	users, err := user.NewService(st, pw, signIn.SendReset)
	if err != nil {
		t.Fatal(err)
	}
	email, name := "ada@example.org", "ada"
	u, err := users.CreateUser(ctx, user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
		FirstName: &name, LastName: &name}, Password: strptr(password)})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, users: users, auth: signIn, pw: pw, u: u, mail: n}
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

// TestNewServiceNeedsNotifier: a sign-in service that could not send resets or lock notices is
// not made, rather than recording resets as sent while nothing is.
func TestNewServiceNeedsNotifier(t *testing.T) {
	pw := auth.NewPasswords(auth.HashParams{Memory: 1024, Time: 1, Threads: 1}, auth.DefaultPolicy)
	if svc, err := auth.NewService(nil, pw, nil, auth.Options{}); err == nil || svc != nil {
		t.Fatalf("NewService without a notifier = %v, %v", svc, err)
	}
}

// TestLockoutNotices: a lockout tells the locked user and the active administrators, at most
// MaxLockNotices of them; a locked administrator is told once, as the locked user.
func TestLockoutNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, auth.Options{Limits: noLimits})
		mk := func(name string, pw *string, roles ...string) string {
			t.Helper()
			email := name + "@example.org"
			d, err := f.users.CreateUser(ctx, user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
				FirstName: &name, LastName: &name}, Password: pw, RoleIDs: roles})
			if err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		boss := mk("boss", strptr(password), user.AdministratorRole)
		away := mk("away", nil, user.AdministratorRole)
		if _, err := f.users.ChangeStatus(ctx, user.System("test"), away, user.Disable); err != nil {
			t.Fatal(err)
		}
		mk("clerk", nil, user.ViewerRole)
		for range 5 {
			f.login(t, "wrong password!")
		}
		f.mail.mu.Lock()
		locked, admins := slices.Clone(f.mail.locked), slices.Clone(f.mail.admins)
		f.mail.locked, f.mail.admins = nil, nil
		f.mail.mu.Unlock()
		if !slices.Equal(locked, []string{f.u.ID}) || !slices.Equal(admins, []string{boss + " → " + f.u.ID}) {
			t.Fatalf("ada's lockout told %v and the administrators %v; want ada, and boss alone", locked, admins)
		}

		// the boss locks themselves: told once, as the locked user, beside the other administrators
		var others []string
		for i := range auth.MaxLockNotices {
			others = append(others, mk(fmt.Sprintf("admin%02d", i), nil, user.AdministratorRole))
		}
		for range 5 {
			if _, _, err := f.auth.Login(ctx, "boss", "wrong password!", auth.Client{IP: "127.0.0.1"}); err == nil {
				t.Fatal("a wrong password signed in")
			}
		}
		f.mail.mu.Lock()
		locked, admins = f.mail.locked, f.mail.admins
		f.mail.mu.Unlock()
		if !slices.Equal(locked, []string{boss}) {
			t.Fatalf("the boss's lockout told %v as the locked user", locked)
		}
		if len(admins) != auth.MaxLockNotices-1 && len(admins) != auth.MaxLockNotices {
			t.Fatalf("%d administrators were told, want at most %d", len(admins), auth.MaxLockNotices)
		}
		for _, a := range admins {
			if strings.HasPrefix(a, boss) || !slices.ContainsFunc(others, func(id string) bool { return strings.HasPrefix(a, id) }) {
				t.Fatalf("told %s, want only the other active administrators", a)
			}
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

package user_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// password satisfies the test policy.
const password = "correct horse battery staple"

// fixture is a migrated store with the built-in roles and three real users: the Default
// Administrator, a User Manager and a Viewer, each with the actor their session would give.
type fixture struct {
	st                     *store.Store
	svc                    *user.Service
	resets                 *resetLog // the reset emails the real auth service sent
	admin, manager, viewer user.Actor
}

// resetLog records whom password reset emails went to.
type resetLog struct {
	mu sync.Mutex
	to []string // user ids, in order
}

func (r *resetLog) PasswordReset(_ context.Context, u *user.User, _ string, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to = append(r.to, u.ID)
	return nil
}

func (r *resetLog) AccountLocked(context.Context, *user.User, int, time.Time) error { return nil }
func (r *resetLog) AccountLockedAdmin(context.Context, *user.User, *user.User, int, time.Time) error {
	return nil
}

func (r *resetLog) sent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.to)
}

// each runs fn on every database with a fresh fixture, the databases in parallel.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		fn(t, newFixture(t, s))
	})
}

func newFixture(t *testing.T, s *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := s.SyncBuiltinRoles(ctx); err != nil {
		t.Fatalf("SyncBuiltinRoles: %v", err)
	}
	// argon2id at its cheapest: the tests are about rules, not hashing cost.
	pw := auth.NewPasswords(auth.HashParams{Memory: 64, Time: 1, Threads: 1}, auth.Policy{MinLength: 12, MaxLength: 256})
	f := &fixture{st: s, resets: &resetLog{}}
	signIn, err := auth.NewService(s, pw, f.resets, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.svc, err = user.NewService(s, pw, signIn.SendReset); err != nil {
		t.Fatal(err)
	}
	da, err := f.svc.CreateDefaultAdmin(ctx, user.System("setup"), user.CreateInput{
		Profile:  user.Profile{Email: ptr("root@example.com"), Username: ptr("root"), FirstName: ptr("Root"), LastName: ptr("Admin")},
		Password: ptr(password),
	})
	if err != nil {
		t.Fatalf("CreateDefaultAdmin: %v", err)
	}
	f.admin = f.actor(t, da.ID)
	f.manager = f.actor(t, f.create(t, f.admin, "manager@example.com", user.UserManagerRole).ID)
	f.viewer = f.actor(t, f.create(t, f.admin, "viewer@example.com", user.ViewerRole).ID)
	return f
}

func ptr[T any](v T) *T { return &v }

// actor builds the actor a session of user id would carry, as the auth package does.
func (f *fixture) actor(t *testing.T, id string) user.Actor {
	t.Helper()
	u, err := f.st.User(context.Background(), id)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	perms, err := f.st.EffectivePermissions(context.Background(), id)
	if err != nil {
		t.Fatalf("permissions of %s: %v", id, err)
	}
	return user.Actor{ID: id, Name: u.Username, Permissions: perms}
}

// create makes an active local user with the given direct roles (none given: none).
func (f *fixture) create(t *testing.T, a user.Actor, email string, roles ...string) *user.Detail {
	t.Helper()
	if roles == nil {
		roles = []string{}
	}
	d, err := f.svc.CreateUser(context.Background(), a, user.CreateInput{
		Profile: user.Profile{Email: ptr(email), FirstName: ptr("First"), LastName: ptr("Last")},
		RoleIDs: roles,
	})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return d
}

// insert writes a user straight into the store, as a directory sync or an invitation would.
func (f *fixture) insert(t *testing.T, u user.User) *user.User {
	t.Helper()
	now := time.Now().UTC()
	u.ID, u.Version, u.CreatedAt, u.UpdatedAt = uuid.Must(uuid.NewV7()).String(), 1, now, now
	if u.Status == "" {
		u.Status = user.Active
	}
	if u.Status != user.Invited {
		u.ActivatedAt = &now
	}
	if err := f.st.InsertUser(context.Background(), &u); err != nil {
		t.Fatalf("insert %s: %v", u.Email, err)
	}
	return &u
}

func (f *fixture) user(t *testing.T, id string) *user.User {
	t.Helper()
	u, err := f.st.User(context.Background(), id)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	return u
}

func (f *fixture) exists(t *testing.T, id string) bool {
	t.Helper()
	_, err := f.st.User(context.Background(), id)
	if err != nil && !errs.Is(errs.NotFound, err) {
		t.Fatalf("user %s: %v", id, err)
	}
	return err == nil
}

// audit returns the audit events matching af, newest first.
func (f *fixture) audit(t *testing.T, af audit.Filter) []audit.Event {
	t.Helper()
	af.Limit = 10000
	evs, _, err := f.st.AuditEvents(context.Background(), af)
	if err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return evs
}

func (f *fixture) counts(t *testing.T) (users, events int) {
	t.Helper()
	c, err := f.st.CountUsers(context.Background())
	if err != nil {
		t.Fatalf("count users: %v", err)
	}
	return int(c.Total), len(f.audit(t, audit.Filter{}))
}

// audited runs a change and checks that it wrote exactly one audit event, with the given action
// and target, and that the event names the actor.
func (f *fixture) audited(t *testing.T, a user.Actor, action string, change func() (targetID string, err error)) {
	t.Helper()
	_, before := f.counts(t)
	target, err := change()
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	evs := f.audit(t, audit.Filter{})
	if len(evs) != before+1 {
		t.Fatalf("%s wrote %d audit events, want 1", action, len(evs)-before)
	}
	e := evs[0]
	if e.Action != action || e.TargetID != target || e.ActorID != a.ID || e.ActorName != a.Name || e.Outcome != audit.Success {
		t.Fatalf("%s wrote %+v, want action %s on %s by %s", action, e, action, target, a.Name)
	}
}

// unchanged runs a change that must fail and checks that it left no user and no audit event.
func (f *fixture) unchanged(t *testing.T, change func() error) error {
	t.Helper()
	users, events := f.counts(t)
	err := change()
	if err == nil {
		t.Fatalf("the change succeeded, want an error")
	}
	if u, e := f.counts(t); u != users || e != events {
		t.Fatalf("a failed change left %d users and %d audit events, had %d and %d", u, e, users, events)
	}
	return err
}

// wantErr checks err's kind and code and, when given, the fields it names.
func wantErr(t *testing.T, err error, kind errs.Kind, code string, fields ...string) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error %v (%T), want %s %s", err, err, kind, code)
	}
	if e.Kind != kind || code != "" && e.Code != code {
		t.Fatalf("error %s %s (%v), want %s %s", e.Kind, e.Code, e, kind, code)
	}
	if len(fields) > 0 {
		var got []string
		for _, fe := range e.Fields {
			got = append(got, fe.Field)
		}
		slices.Sort(got)
		slices.Sort(fields)
		if !slices.Equal(got, fields) {
			t.Fatalf("error fields %v (%+v), want %v", got, e.Fields, fields)
		}
	}
	return e
}

// fieldCode returns the code of the field error about field, "" when there is none.
func fieldCode(err error, field string) string {
	e, ok := errs.As(err)
	if !ok {
		return ""
	}
	for _, fe := range e.Fields {
		if fe.Field == field {
			return fe.Code
		}
	}
	return ""
}

// roleIDs returns the ids of the grants that are direct (direct true) or inherited (false).
func roleIDs(d *user.Detail, direct bool) []string {
	var out []string
	for _, g := range d.Roles {
		if g.Direct == direct {
			out = append(out, g.ID)
		}
	}
	slices.Sort(out)
	return out
}

package directory_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// syncFixture is a whole usher on a real database with its jobs running, and a slapd subtree.
type syncFixture struct {
	t     *testing.T
	app   *app.App
	st    *store.Store
	ldap  *dirtest.LDAP
	admin user.Actor
}

func newSyncFixture(t *testing.T, st *store.Store, l *dirtest.LDAP) *syncFixture {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), []string{"USHER_DATA_DIR=" + t.TempDir(),
		"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=correct horse battery staple"})
	must(t, err)
	must(t, st.SyncBuiltinRoles(ctx))
	must(t, job.Migrate(ctx, st))
	a, err := app.New(cfg, st, slog.New(slog.DiscardHandler))
	must(t, err)
	_, err = a.EnsureDefaultAdmin(ctx)
	must(t, err)
	jobs := a.Background.Jobs
	must(t, jobs.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		jobs.Stop(ctx)
	})
	admin, err := a.Users.UserByLogin(ctx, user.System("test"), "admin@example.org")
	must(t, err)
	return &syncFixture{t: t, app: a, st: st, ldap: l,
		admin: user.Actor{ID: admin.ID, Name: admin.Username, Permissions: user.AllPermissions()}}
}

// sync starts a sync and waits for it to end.
func (f *syncFixture) sync(id string) *directory.Run {
	f.t.Helper()
	run, _, err := f.app.Directories.Sync(context.Background(), f.admin, id, directory.SyncOptions{})
	must(f.t, err)
	return f.wait(id, run.ID)
}

func (f *syncFixture) wait(dir, runID string) *directory.Run {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := f.app.Directories.GetRun(context.Background(), f.admin, dir, runID)
		must(f.t, err)
		if r.Status.Final() {
			return r
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("sync still %s after a minute", r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *syncFixture) user(login string) *user.Detail {
	f.t.Helper()
	d, err := f.app.Users.UserByLogin(context.Background(), f.admin, login)
	if err != nil {
		f.t.Fatalf("user %s: %v", login, err)
	}
	return d
}

func counts(r *directory.Run) directory.Counts { return r.Done }

// TestSync: a full sync against slapd creates the directory's users (disabled ones disabled,
// managers set, a bad entry reported by its DN), then follows the directory: a changed
// attribute, a renamed entry (the same user, by entryUUID), a disabled account, a user who left;
// the attributes it owns are read-only elsewhere; a dry run writes nothing; the safety rules
// hold a sync that sees nobody or would disable more than the threshold, until confirmed.
func TestSync(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		// Each database has its own people under its own OU of the subtree.
		ou := "people-" + string(st.Dialect)
		mk := func(uid, given, sn string, attrs map[string][]string) string {
			return l.AddUser(t, dirtest.UserSpec{UID: uid + "-" + string(st.Dialect), GivenName: given, SN: sn,
				Mail: uid + "." + string(st.Dialect) + "@example.com", DepartmentNumber: "Research", OU: ou, Attributes: attrs})
		}
		ada := mk("ada", "Ada", "Lovelace", nil)
		bob := l.AddUser(t, dirtest.UserSpec{UID: "bob-" + string(st.Dialect), GivenName: "Bob", SN: "Builder",
			Mail: "bob." + string(st.Dialect) + "@example.com", Manager: ada, OU: ou})
		cy := mk("cy", "Cy", "Young", nil)
		mk("dee", "Dee", "Dee", map[string][]string{"employeeType": {"disabled"}})
		eve := mk("eve", "Eve", "Adams", nil)
		noMail := l.AddUser(t, dirtest.UserSpec{UID: "nomail-" + string(st.Dialect), GivenName: "No", SN: "Mail", OU: ou})

		in := settings(l, "Research "+string(st.Dialect))
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		in.DisabledAttribute, in.DisabledValue = ptr("employeeType"), ptr("disabled")
		in.Threshold = ptr(50)
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		before, err := f.app.Users.Counts(ctx, f.admin)
		must(t, err)

		// The dry run: the plan, nothing written.
		_, plan, err := f.app.Directories.Sync(ctx, f.admin, d.ID, directory.SyncOptions{DryRun: true})
		must(t, err)
		if plan.Counts.Seen != 6 || plan.Counts.Created != 5 || plan.Counts.Failed != 1 || len(plan.Errors) != 1 ||
			plan.Errors[0].DN != noMail || plan.Errors[0].Reason == "" {
			t.Fatalf("dry run plan %+v", plan)
		}
		if after, _ := f.app.Users.Counts(ctx, f.admin); after != before {
			t.Fatalf("a dry run wrote users: %+v → %+v", before, after)
		}

		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 6, Created: 4, Failed: 2}) && counts(run) != (directory.Counts{Seen: 6, Created: 5, Failed: 1}) {
			t.Fatalf("first sync %s %+v (%s) %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		if counts(run).Created != 5 {
			t.Fatalf("first sync created %d: %+v", counts(run).Created, run.Errors)
		}
		a := f.user("ada-" + string(st.Dialect))
		if a.Source != user.Directory || a.DirectoryID != d.ID || a.ExternalID != l.EntryUUID(t, ada) || a.Status != user.Active ||
			a.FirstName != "Ada" || a.Department != "Research" {
			t.Fatalf("ada %+v", a.User)
		}
		if b := f.user("bob-" + string(st.Dialect)); b.ManagerID != a.ID {
			t.Fatalf("bob's manager %q, want ada %q", b.ManagerID, a.ID)
		}
		if dee := f.user("dee-" + string(st.Dialect)); dee.Status != user.Disabled {
			t.Fatalf("dee, disabled in the directory, is %s", dee.Status)
		}
		// What the directory owns is read-only elsewhere.
		_, err = f.app.Users.UpdateUser(ctx, f.admin, a.ID, user.AnyVersion, user.Patch{Profile: user.Profile{FirstName: ptr("Augusta")}})
		if f, c := fieldCode(err); f != "first_name" || c != "user.read_only" {
			t.Fatalf("changed a directory attribute: %v", err)
		}
		// Nothing changed: the next sync changes nothing.
		if run := f.sync(d.ID); counts(run) != (directory.Counts{Seen: 6, Failed: 1}) {
			t.Fatalf("a sync with nothing new: %+v %+v", counts(run), run.Errors)
		}

		// In the directory: cy's surname changes, bob is renamed, ada is disabled, eve leaves.
		l.Modify(t, cy, map[string][]string{"sn": {"Younger"}})
		l.Rename(t, bob, "uid=robert-"+string(st.Dialect))
		l.Modify(t, ada, map[string][]string{"employeeType": {"disabled"}})
		l.Delete(t, eve)
		run = f.sync(d.ID)
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 5, Updated: 2, Disabled: 2, Failed: 1}) {
			t.Fatalf("second sync %s %+v %s %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		if c := f.user("cy-" + string(st.Dialect)); c.LastName != "Younger" {
			t.Fatalf("cy %+v", c.User)
		}
		if r := f.user("robert-" + string(st.Dialect)); r.Email != "bob."+string(st.Dialect)+"@example.com" {
			t.Fatalf("robert %+v", r.User)
		}
		if _, err := f.app.Users.UserByLogin(ctx, f.admin, "bob-"+string(st.Dialect)); !errs.Is(errs.NotFound, err) {
			t.Fatalf("bob is still there under his old name: %v", err)
		}
		for _, who := range []string{"ada-", "eve-"} {
			if u := f.user(who + string(st.Dialect)); u.Status != user.Disabled {
				t.Fatalf("%s is %s", who, u.Status)
			}
		}

		// The safety rules: an inclusion filter that matches only cy would disable 2 of the 5
		// users still active… 2 of 5 is under 50%; one that matches nobody holds.
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Filter: ptr("(uid=nobody)")})
		must(t, err)
		held := f.sync(d.ID)
		if held.Status != directory.RunHeld || held.Plan == nil || held.Plan.Counts.Seen != 0 || !strings.Contains(held.Reason, "no users") {
			t.Fatalf("a sync that saw nobody: %s %+v %q", held.Status, held.Plan, held.Reason)
		}
		if u := f.user("cy-" + string(st.Dialect)); u.Status != user.Active {
			t.Fatalf("a held sync changed cy: %s", u.Status)
		}
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Filter: ptr("(uid=cy-" + string(st.Dialect) + ")"), Threshold: ptr(10)})
		must(t, err)
		held = f.sync(d.ID)
		if held.Status != directory.RunHeld || held.Plan.Counts.Disabled != 1 || !strings.Contains(held.Reason, "threshold") {
			t.Fatalf("over the threshold: %s %+v %q", held.Status, held.Plan, held.Reason)
		}
		confirmed, err := f.app.Directories.Confirm(ctx, f.admin, d.ID, held.ID)
		must(t, err)
		done := f.wait(d.ID, confirmed.ID)
		if done.Status != directory.RunCompleted || counts(done).Disabled != 1 {
			t.Fatalf("the confirmed sync %s %+v", done.Status, counts(done))
		}
		if u := f.user("robert-" + string(st.Dialect)); u.Status != user.Disabled {
			t.Fatalf("robert after the confirmed sync: %s", u.Status)
		}
		if _, err := f.app.Directories.Confirm(ctx, f.admin, d.ID, held.ID); !errs.Is(errs.Conflict, err) {
			t.Fatalf("confirmed twice: %v", err)
		}
		runs, err := f.app.Directories.Runs(ctx, f.admin, d.ID, 0)
		must(t, err)
		if len(runs) != 6 || runs[0].ID != confirmed.ID {
			t.Fatalf("%d runs", len(runs))
		}
		// One sync of a directory at once: while one is queued (here, one no job runs), Sync
		// now is refused.
		queued := &directory.Run{ID: "queued-" + string(st.Dialect), DirectoryID: d.ID, Status: directory.RunQueued, Full: true,
			ActorName: "admin", ActorPermissions: user.AllPermissions(), CreatedAt: time.Now().UTC()}
		must(t, st.InsertRun(ctx, queued))
		if _, _, err := f.app.Directories.Sync(ctx, f.admin, d.ID, directory.SyncOptions{}); !errs.Is(errs.Conflict, err) {
			t.Fatalf("a second sync at once: %v", err)
		} else if e, _ := errs.As(err); e.Code != "directory.sync_running" {
			t.Fatalf("a second sync at once: %v", err)
		}
	})
}

// TestSyncReadsEveryPage: a directory of more users than a page of a search holds (and than
// slapd's default size limit) is read whole: every user is created, each once.
func TestSyncReadsEveryPage(t *testing.T) {
	l := dirtest.OpenLDAPWith(t, dirtest.LDAPOptions{Users: 2500, Seed: 7})
	f := newSyncFixture(t, storetest.Open(t, store.SQLite), l)
	in := settings(l, "Generated")
	in.Threshold = ptr(100)
	d, err := f.app.Directories.Create(context.Background(), f.admin, in)
	must(t, err)
	run := f.sync(d.ID)
	if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 2500, Created: 2500}) {
		t.Fatalf("sync %s %+v %+v", run.Status, counts(run), run.Errors)
	}
	again := f.sync(d.ID)
	if counts(again) != (directory.Counts{Seen: 2500}) {
		t.Fatalf("again %+v", counts(again))
	}
}

package directory_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/auth"
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

// sync runs a full sync and waits for it to end.
func (f *syncFixture) sync(id string) *directory.Run {
	f.t.Helper()
	return f.syncWith(id, directory.SyncOptions{Full: true})
}

// syncChanges runs a sync as Sync now does, incremental after a full one, and waits for it.
func (f *syncFixture) syncChanges(id string) *directory.Run {
	f.t.Helper()
	return f.syncWith(id, directory.SyncOptions{})
}

func (f *syncFixture) syncWith(id string, o directory.SyncOptions) *directory.Run {
	f.t.Helper()
	run, _, err := f.app.Directories.Sync(context.Background(), f.admin, id, o)
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
		cy := mk("cy", "Cy", "Young", map[string][]string{"userPassword": {"cy's directory password"}})
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
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 6, Created: 5, Failed: 1}) ||
			len(run.Errors) != 1 || run.Errors[0].DN != noMail {
			t.Fatalf("first sync %s %+v (%s) %+v", run.Status, counts(run), run.Reason, run.Errors)
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
		// The primary attribute names the users: it cannot change while they exist.
		_, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Mapping: &directory.Mapping{
			Username: "uid", Email: "mail", FirstName: "givenName", LastName: "sn", Primary: "uid"}})
		if f, c := fieldCode(err); f != "mapping.primary" || c != "directory.primary_fixed" {
			t.Fatalf("changed the primary attribute of a directory with users: %v", err)
		}
		// What the directory owns is read-only elsewhere.
		_, err = f.app.Users.UpdateUser(ctx, f.admin, a.ID, user.AnyVersion, user.Patch{Profile: user.Profile{FirstName: ptr("Augusta")}})
		if f, c := fieldCode(err); f != "first_name" || c != "user.read_only" {
			t.Fatalf("changed a directory attribute: %v", err)
		}
		// A directory user signs in with their directory password, through a bind as their entry.
		client := auth.Client{IP: "127.0.0.1", RequestID: "test"}
		if _, u, err := f.app.Auth.Login(ctx, "cy-"+string(st.Dialect), "cy's directory password", client); err != nil || u.Source != user.Directory {
			t.Fatalf("cy's sign-in with the directory password: %v", err)
		}
		if _, _, err := f.app.Auth.Login(ctx, "cy."+string(st.Dialect)+"@example.com", "not it", client); !errs.Is(errs.Unauthenticated, err) {
			t.Fatalf("a wrong directory password: %v", err)
		}
		if _, _, err := f.app.Auth.Login(ctx, "cy-"+string(st.Dialect), "", client); err == nil {
			t.Fatal("an empty password signed in (an unauthenticated bind)")
		}
		// Their password is the directory's: no reset from usher.
		if err := f.app.Auth.SendReset(ctx, f.admin, f.user("cy-"+string(st.Dialect)).ID); !errs.Is(errs.Conflict, err) {
			t.Fatalf("a reset sent to a directory user: %v", err)
		}
		// The username goes into the search filter escaped: "*" finds no entry, even with the
		// right entry's id and password.
		cyUser := f.user("cy-" + string(st.Dialect))
		probe := *cyUser.User
		probe.Username = "*"
		if ok, err := f.app.Directories.Authenticate(ctx, &probe, "cy's directory password"); ok || err != nil {
			t.Fatalf("a filter in the username: %v %v", ok, err)
		}
		// Nothing changed: the next sync changes nothing.
		if run := f.sync(d.ID); counts(run) != (directory.Counts{Seen: 6, Failed: 1}) {
			t.Fatalf("a sync with nothing new: %+v %+v", counts(run), run.Errors)
		}
		// A user an administrator disabled stays disabled, whatever the directory says.
		_, err = f.app.Users.ChangeStatus(ctx, f.admin, cyUser.ID, user.Disable)
		must(t, err)
		if run := f.sync(d.ID); counts(run) != (directory.Counts{Seen: 6, Failed: 1}) {
			t.Fatalf("a sync after an administrator disabled cy: %+v", counts(run))
		}
		if u := f.user("cy-" + string(st.Dialect)); u.Status != user.Disabled {
			t.Fatalf("the sync enabled cy, whom an administrator disabled: %s", u.Status)
		}
		_, err = f.app.Users.ChangeStatus(ctx, f.admin, cyUser.ID, user.Enable)
		must(t, err)

		// In the directory: cy's surname changes, bob is renamed, ada is disabled, eve leaves.
		l.Modify(t, cy, map[string][]string{"sn": {"Younger"}, "manager": {ada}})
		l.Rename(t, bob, "uid=robert-"+string(st.Dialect))
		l.Modify(t, ada, map[string][]string{"employeeType": {"disabled"}})
		l.Delete(t, eve)
		run = f.sync(d.ID)
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 5, Updated: 2, Disabled: 2, Failed: 1}) {
			t.Fatalf("second sync %s %+v %s %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		if c := f.user("cy-" + string(st.Dialect)); c.LastName != "Younger" || c.ManagerID != a.ID {
			t.Fatalf("cy %+v (her manager should be ada, %s)", c.User, a.ID)
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
		firstHeld := held
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
		if _, err := f.app.Directories.Confirm(ctx, f.admin, d.ID, firstHeld.ID); !errs.Is(errs.Conflict, err) {
			t.Fatalf("confirmed a held sync a newer one replaced: %v", err)
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
		if len(runs) != 7 || runs[0].ID != confirmed.ID {
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

// TestSyncActiveDirectory: against Samba AD DC, users are named by objectGUID (in AD's text
// form), a user disabled in AD (userAccountControl) is disabled here and enabled again when AD
// enables them, and a user moved to another OU is the same user.
func TestSyncActiveDirectory(t *testing.T) {
	ad := dirtest.ActiveDirectory(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, nil)
		ctx := context.Background()
		ou := "staff-" + string(st.Dialect)
		sfx := "-" + string(st.Dialect)[:2]
		mk := func(sam, given, sn string, disabled bool) string {
			return ad.AddUser(t, dirtest.ADUserSpec{SAMAccountName: sam + sfx, GivenName: given, SN: sn,
				Mail: sam + sfx + "@example.test", Department: "Finance", Disabled: disabled, OU: ou, Password: "Secret-" + sam + "-9"})
		}
		ann := mk("ann", "Ann", "Lee", false)
		bob := mk("bob", "Bob", "Ray", true)
		cat := mk("cat", "Cat", "Poe", false)
		in := directory.Input{Name: ptr("AD " + string(st.Dialect)), Kind: ptr(directory.ActiveDirectory), Host: ptr(ad.Host),
			Port: ptr(ad.TLSPort), Security: ptr(directory.LDAPS), CACert: ptr(string(ad.CAPEM)), BaseDN: ptr(ad.BaseDN),
			Scope: ptr(directory.ScopeSelected), OUs: &[]string{"OU=" + ou + "," + ad.BaseDN},
			BindDN: ptr(ad.BindDN), Password: ptr(ad.BindPassword), Threshold: ptr(100)}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 3, Created: 3}) {
			t.Fatalf("first sync %s %+v %s %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		a := f.user("ann" + sfx)
		if a.ExternalID != ad.ObjectGUID(t, ann) || a.Department != "Finance" || a.Status != user.Active {
			t.Fatalf("ann %+v, objectGUID %s", a.User, ad.ObjectGUID(t, ann))
		}
		if b := f.user("bob" + sfx); b.Status != user.Disabled {
			t.Fatalf("bob, disabled in AD, is %s", b.Status)
		}
		catID := f.user("cat" + sfx).ID
		client := auth.Client{IP: "127.0.0.1", RequestID: "test"}
		if _, _, err := f.app.Auth.Login(ctx, "ann"+sfx, "Secret-ann-9", client); err != nil {
			t.Fatalf("ann's sign-in with her AD password: %v", err)
		}
		if _, _, err := f.app.Auth.Login(ctx, "bob"+sfx, "Secret-bob-9", client); err == nil {
			t.Fatal("bob, disabled, signed in")
		}

		// Incremental: only what changed since (uSNChanged above the last sync's mark).
		ad.Disable(t, ann)
		inc := f.syncChanges(d.ID)
		if inc.Plan == nil || inc.Plan.Full || counts(inc) != (directory.Counts{Seen: 1, Disabled: 1}) {
			t.Fatalf("the incremental sync %s %+v %+v", inc.Status, counts(inc), inc.Plan)
		}
		ad.Enable(t, bob)
		ad.AddOU(t, ou+"-moved")
		ad.Move(t, cat, "OU="+ou+"-moved,"+ad.BaseDN)
		// The OU cat moved to is in the directory's scope too.
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{
			OUs: &[]string{"OU=" + ou + "," + ad.BaseDN, "OU=" + ou + "-moved," + ad.BaseDN}})
		must(t, err)
		run = f.sync(d.ID)
		if run.Status != directory.RunCompleted || run.Done.Disabled != 0 || run.Done.Enabled != 1 || run.Done.Created != 0 {
			t.Fatalf("second sync %s %+v %s %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		if u := f.user("ann" + sfx); u.Status != user.Disabled {
			t.Fatalf("ann, disabled in AD, is %s", u.Status)
		}
		if u := f.user("bob" + sfx); u.Status != user.Active {
			t.Fatalf("bob, enabled in AD, is %s", u.Status)
		}
		if u := f.user("cat" + sfx); u.ID != catID || u.Status != user.Active {
			t.Fatalf("cat after the move: %s (was %s), %s", u.ID, catID, u.Status)
		}
	})
}

// TestSyncIncremental: after a full sync, Sync now reads only the entries changed since
// (modifyTimestamp from ten minutes before the last sync's mark, on OpenLDAP), and finds no
// leavers; a full sync does. A change of the directory's settings makes the next sync full.
func TestSyncIncremental(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "inc-" + string(st.Dialect)
		var dns []string
		for _, uid := range []string{"a", "b", "c", "d", "e"} {
			dept := "Research"
			if uid == "e" {
				dept = "Contractors" // left out by an exclusion rule
			}
			dns = append(dns, l.AddUser(t, dirtest.UserSpec{UID: "inc-" + uid + "-" + string(st.Dialect), GivenName: "In", SN: uid,
				Mail: "inc-" + uid + "-" + string(st.Dialect) + "@example.com", DepartmentNumber: dept, OU: ou,
				Attributes: map[string][]string{"employeeNumber": {"E-" + uid}}}))
		}
		_, err := f.app.Users.CreateField(ctx, f.admin, user.FieldInput{Name: "employee_number", Label: ptr("Employee number"), Type: user.TextField})
		must(t, err)
		in := settings(l, "Incremental "+string(st.Dialect))
		in.Scope, in.OUs, in.Threshold = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}, ptr(100)
		in.Mapping = &directory.Mapping{Custom: map[string]string{"employee_number": "employeeNumber"}} // the rest: the preset
		in.Exclusions = &[]directory.Exclusion{{Attribute: "departmentNumber", Match: directory.Exact, Values: []string{"contractors"}, Enabled: true}}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.syncChanges(d.ID); run.Plan == nil || !run.Plan.Full || counts(run) != (directory.Counts{Seen: 4, Created: 4}) {
			t.Fatalf("the first sync, full: %+v %+v", counts(run), run.Plan)
		}
		if u := f.user("inc-a-" + string(st.Dialect)); u.Custom["employee_number"] != "E-a" {
			t.Fatalf("a's custom field from employeeNumber: %+v", u.Custom)
		}
		if _, err := f.app.Users.UserByLogin(ctx, f.admin, "inc-e-"+string(st.Dialect)); !errs.Is(errs.NotFound, err) {
			t.Fatalf("e, whom an exclusion rule leaves out, was made: %v", err)
		}
		l.Modify(t, dns[1], map[string][]string{"sn": {"Changed after"}})
		l.Delete(t, dns[2])
		// The entries changed since the mark (and in a window of ten minutes before it, which
		// here is all of them; bench sync shows a directory whose entries changed over years) are
		// read; c's leaving is not seen.
		run := f.syncChanges(d.ID)
		if run.Plan.Full || counts(run) != (directory.Counts{Seen: 3, Updated: 1}) {
			t.Fatalf("the incremental sync: %+v %+v", counts(run), run.Plan)
		}
		if u := f.user("inc-b-" + string(st.Dialect)); u.LastName != "Changed after" {
			t.Fatalf("b %+v", u.User)
		}
		if u := f.user("inc-c-" + string(st.Dialect)); u.Status != user.Active {
			t.Fatalf("c after an incremental sync: %s", u.Status)
		}
		// New settings: the mark was made with the old ones, so Sync now reads everything.
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Threshold: ptr(90)})
		must(t, err)
		run = f.syncChanges(d.ID)
		if !run.Plan.Full || counts(run) != (directory.Counts{Seen: 3, Disabled: 1}) {
			t.Fatalf("the sync after new settings: %+v %+v", counts(run), run.Plan)
		}
		if u := f.user("inc-c-" + string(st.Dialect)); u.Status != user.Disabled {
			t.Fatalf("c after a full sync: %s", u.Status)
		}
		// An entry refused (a value too long) is still the user it names: not gone.
		l.Modify(t, dns[3], map[string][]string{"sn": {strings.Repeat("x", 5000)}})
		run = f.sync(d.ID)
		if counts(run) != (directory.Counts{Seen: 3, Failed: 1}) {
			t.Fatalf("a sync with an entry refused: %+v %+v", counts(run), run.Errors)
		}
		if u := f.user("inc-d-" + string(st.Dialect)); u.Status != user.Active {
			t.Fatalf("d, whose entry was refused, is %s", u.Status)
		}
	})
}

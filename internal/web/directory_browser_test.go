package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/user"
	"github.com/usherhq/usher/internal/web/browsertest"
)

// TestDirectoryInBrowser: an administrator adds a directory through the console against a real
// slapd (a wrong password first: the test says which step failed), runs a dry run, syncs, sees
// the sync in the history and the user among the users, read-only.
func TestDirectoryInBrowser(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	each(t, func(t *testing.T, e *env) {
		jobs := e.app.Background.Jobs
		if err := jobs.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			jobs.Stop(ctx)
		})
		ou := "console-" + string(e.app.Store.Dialect)
		l.AddUser(t, dirtest.UserSpec{UID: "grace-" + string(e.app.Store.Dialect), GivenName: "Grace", SN: "Hopper",
			Mail: "grace-" + string(e.app.Store.Dialect) + "@example.com", OU: ou, Password: "grace's password"})
		l.AddUser(t, dirtest.UserSpec{UID: "nomail-" + string(e.app.Store.Dialect), GivenName: "No", SN: "Mail", OU: ou})

		b := e.tab()
		b.signIn("admin@example.org", testPassword)
		b.Follow(`a[href="/directories"]`)
		b.says("Directories", "No directory yet.")
		b.Check("directories-empty")
		b.Follow(`a.button[href="/directories/new"]`)
		b.says("Add directory", "1. Connection", "2. Organisation units", "3. Attributes and rules")
		b.Fill("Name", "Head office")
		b.Fill("Host name", l.Host)
		b.Fill("Port", strconv.Itoa(l.TLSPort))
		b.Fill("CA certificate (PEM)", string(l.CAPEM))
		b.Fill("Base DN", "ou="+ou+","+l.BaseDN)
		b.Fill("Bind DN", l.BindDN)
		b.Fill("Bind password", "not the password")
		// The test, the dry run and Sync now with the keyboard alone: Tab to the button, Enter.
		b.tabTo(`button[name=action][value=test]`)
		b.PressAndLoad(browsertest.KeyEnter)
		b.says("The connection does not work", "Done: Connected to", "Failed: The directory refused the bind DN and password.")
		b.Check("directory-test-failed")
		b.Fill("Bind password", l.BindPassword)
		b.Follow(`button[name=action][value=save]`)
		b.says("Head office", "is saved: its connection works", "No sync yet.")
		b.Check("directory")

		b.tabTo(`form[action$="/dry-run"] button`)
		b.PressAndLoad(browsertest.KeyEnter)
		b.says("Dry run: what a sync would do now", "Nothing was changed.", "2 entries read", "1 to create", "1 refused",
			"grace-"+string(e.app.Store.Dialect), "Entries refused")
		b.Check("directory-dry-run")

		b.tabTo(`form[action$="/sync"] button`)
		b.PressAndLoad(browsertest.KeyEnter)
		b.says("The sync has started")
		for i := 0; ; i++ {
			b.open(b.path())
			if text := b.Text("#history-title + .table-wrap tbody tr:first-child"); strings.Contains(text, "Completed") {
				break
			} else if i > 100 {
				t.Fatalf("the sync did not complete: %s", text)
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.says("Sync history", "Completed", "Entries the last sync refused")
		b.Check("directory-synced")

		// Edited as a person does: one setting changed, the rest sent back as the form shows it
		// (the CA certificate with the browser's CRLF line ends), no password typed.
		b.Follow(`a.button[href$="?edit=1"]`)
		b.Fill("Safety threshold (%)", "25")
		b.Follow(`button[name=action][value=save]`)
		b.says("The settings of Head office are saved.")
		d, err := e.app.Directories.Directories(context.Background(), user.System("test"))
		if err != nil || len(d) != 1 || d[0].Threshold != 25 || d[0].Mapping.Primary != "entryUUID" || d[0].Mapping.Username != "uid" {
			t.Fatalf("after the edit: %v %+v", err, d)
		}

		b.open("/users?q=grace")
		b.says("grace-" + string(e.app.Store.Dialect) + "@example.com")

		// The status, the schedule section, and a reset that asks first.
		b.open("/directories/" + d[0].ID)
		b.says("Sync status", "Last sync", "Completed", "Next sync", "No schedule", "1 in all")
		b.Follow(`a.button[href$="?edit=1"]`)
		b.says("5. Schedule", "Sync automatically on this schedule", "Email a summary after each sync")
		b.Check("directory-edit")
		b.open("/directories/" + d[0].ID)
		b.Follow(`a.button[href$="?reset=1#reset-title"]`)
		b.says("Reset Head office?", "Its 1 user stays in usher, as a local user", "send them a password reset")
		b.Check("directory-reset")
		b.tabTo(`form[action$="/reset"] button`)
		b.PressAndLoad(browsertest.KeyEnter)
		b.says("The directory is reset", "Its user stays, as a local user", "No directory yet.")
	})
}

// TestDirectorySyncProgress: while a directory's sync is queued or running, its page shows it
// with a progress bar against the plan and polls itself, so a person sees it move and end.
func TestDirectorySyncProgress(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := user.System("test")
		kind, sec := directory.OpenLDAP, directory.LDAPS
		p := func(s string) *string { return &s }
		d, err := e.app.Directories.Create(ctx, sys, directory.Input{Name: p("Progress"), Kind: &kind, Host: &l.Host, Port: &l.TLSPort,
			Security: &sec, CACert: p(string(l.CAPEM)), BaseDN: &l.BaseDN, BindDN: &l.BindDN, Password: &l.BindPassword})
		if err != nil {
			t.Fatal(err)
		}
		// No job runs here: the sync stays queued, then is made to look half done.
		run, _, err := e.app.Directories.Sync(ctx, sys, d.ID, directory.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := e.signIn("admin@example.org")
		b.get("/directories/"+d.ID).want(http.StatusOK).has("Syncing", "Reading the directory", "Waiting to start.")
		st := e.app.Store
		if err := st.StartRun(ctx, run.ID, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordPlan(ctx, run.ID, &directory.Plan{Counts: directory.Counts{Seen: 400, Created: 400}}); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordRun(ctx, run.ID, directory.Counts{Seen: 400, Created: 100}, nil); err != nil {
			t.Fatal(err)
		}
		pg := b.get("/directories/"+d.ID).want(http.StatusOK).has("Syncing", "100 of 400 changes made", "25% done.")
		if !strings.Contains(pg.body, `data-poll="/directories/`+d.ID+`"`) || !strings.Contains(pg.body, `<progress id="sync-bar" max="400" value="100">`) {
			t.Fatalf("the page of a running sync does not poll or show its bar:\n%s", pg.body)
		}
	})
}

// TestDirectoryGroupsInBrowser: an administrator turns on a directory's group mapping in the
// "4. Groups" section (an invalid filter first: the error is beside it), sees the groups in a dry
// run, syncs, finds the group on the directory's page, and on the group's page its members
// cannot be changed.
func TestDirectoryGroupsInBrowser(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		jobs := e.app.Background.Jobs
		if err := jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			jobs.Stop(ctx)
		})
		dia := string(e.app.Store.Dialect)
		ou := "console-groups-" + dia
		ada := l.AddUser(t, dirtest.UserSpec{UID: "ada-g-" + dia, GivenName: "Ada", SN: "Group", Mail: "ada-g-" + dia + "@example.com", OU: ou})
		group := l.AddGroup(t, "Analysts "+dia, ada)
		admin := user.Actor{Name: "test", Permissions: user.AllPermissions()}
		d, err := e.app.Directories.Create(ctx, admin, directory.Input{Name: ptr("Groups office"), Kind: ptr(directory.OpenLDAP),
			Host: ptr(l.Host), Port: ptr(l.TLSPort), Security: ptr(directory.LDAPS), CACert: ptr(string(l.CAPEM)), BaseDN: ptr(l.BaseDN),
			BindDN: ptr(l.BindDN), Password: ptr(l.BindPassword), Scope: ptr(directory.ScopeSelected), OUs: &[]string{"ou=" + ou + "," + l.BaseDN}})
		if err != nil {
			t.Fatal(err)
		}

		b := e.tab()
		b.signIn("admin@example.org", testPassword)
		b.open("/directories/" + d.ID + "?edit=1")
		b.says("4. Groups", "Synchronise the directory's groups")
		b.Click(`input[name="groups.enabled"]`)
		b.Fill("Groups, one DN a line", group)
		b.Fill("… and the groups this LDAP filter finds", "(cn=Analysts")
		b.Follow(`button[name=action][value=save]`)
		b.says("Nothing was saved", "This is not a valid LDAP filter")
		b.Check("directory-groups-invalid")
		b.Fill("… and the groups this LDAP filter finds", "")
		b.Follow(`button[name=action][value=save]`)
		b.says("The settings of Groups office are saved.", "Groups", "No group yet")

		b.Follow(`form[action$="/dry-run"] button`)
		b.says("1 groups to create", "1 members to add", "Analysts "+dia)
		b.Check("directory-groups-dry-run")

		b.Follow(`form[action$="/sync"] button`)
		for i := 0; ; i++ {
			b.open(b.path())
			if text := b.Text("#history-title + .table-wrap tbody tr:first-child"); strings.Contains(text, "Completed") {
				break
			} else if i > 100 {
				t.Fatalf("the sync did not complete: %s", text)
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.says("Groups", "Analysts "+dia, "within the permissions of admin")
		b.Check("directory-groups-synced")
		b.Follow(`#groups-title ~ .table-wrap a`)
		b.says("Analysts "+dia, "comes from a directory", "1 member")
		if n := browsertest.Eval[int](b.Tab, `document.querySelectorAll('form[action$="/delete"], input[name="name"]:not([readonly])').length`); n != 0 {
			t.Fatalf("a directory group's page offers to delete it or rename it (%d controls)", n)
		}
		b.open(b.path() + "?tab=members")
		b.says("Ada")
		if n := browsertest.Eval[int](b.Tab, `document.querySelectorAll('#add_q, input[name="id"]').length`); n != 0 {
			t.Fatalf("a directory group's members tab offers to change its members (%d controls)", n)
		}
	})
}

package directory_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// dirGroups is the directory's groups in usher by name, each with its members' usernames.
func (f *syncFixture) dirGroups(dirID string) map[string][]string {
	f.t.Helper()
	ctx := context.Background()
	gs, err := f.st.DirectoryGroups(ctx, dirID, true)
	must(f.t, err)
	out := map[string][]string{}
	for _, g := range gs {
		names := []string{}
		for _, id := range g.MemberIDs {
			u, err := f.st.User(ctx, id)
			must(f.t, err)
			names = append(names, strings.SplitN(u.Username, "-", 2)[0])
		}
		slices.Sort(names)
		out[g.Name] = names
	}
	return out
}

func (f *syncFixture) groupNamed(dirID, name string) *user.Group {
	f.t.Helper()
	gs, err := f.st.DirectoryGroups(context.Background(), dirID, true)
	must(f.t, err)
	for i := range gs {
		if gs[i].Name == name {
			return &gs[i]
		}
	}
	f.t.Fatalf("no group %s among %d", name, len(gs))
	return nil
}

func groupCounts(c directory.Counts) [5]int64 {
	return [5]int64{c.GroupsCreated, c.GroupsUpdated, c.GroupsDeleted, c.MembersAdded, c.MembersRemoved}
}

// TestSyncGroups: with a group mapping (groups by DN and by filter), a sync against slapd makes
// the directory's groups usher groups with the members that are its users (others, nested
// groups among them, passed over); a dry run writes none; a membership change reaches usher in
// the next incremental sync; a renamed group stays the same group; a group that leaves the
// mapping is deleted by the next full sync. A directory group's name and members are read-only
// elsewhere, and its roles obey no-escalation: the sync changes its members only within what
// the administrator who configured the mapping may grant.
func TestSyncGroups(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		ou := "grp-" + dia
		mk := func(uid string) string {
			return l.AddUser(t, dirtest.UserSpec{UID: uid + "-" + dia, GivenName: uid, SN: "Grp", Mail: uid + "-" + dia + "@example.com", OU: ou})
		}
		ada, bob, cy := mk("ada"), mk("bob"), mk("cy")
		outside := l.AddUser(t, dirtest.UserSpec{UID: "out-" + dia, GivenName: "Out", SN: "Side", Mail: "out-" + dia + "@example.com", OU: "elsewhere-" + dia})
		sub := l.AddGroup(t, "sub-"+dia, cy)
		eng := l.AddGroup(t, "g-eng-"+dia, ada, bob, outside, sub)
		ops := l.AddGroup(t, "g-ops-"+dia, cy)
		named := l.AddGroup(t, "named-"+dia, strings.ToUpper(bob)) // a member DN in other letters

		in := settings(l, "Groups "+dia)
		in.Scope, in.OUs, in.Threshold = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}, ptr(100)
		in.Groups = &directory.GroupMapping{Enabled: true, DNs: []string{named}, BaseDN: l.Groups, Filter: "(cn=g-*-" + dia + ")"}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if g := d.Groups; !slices.Equal(g.Members, []string{"member", "uniqueMember"}) || g.Name != "cn" || g.Primary != "entryUUID" || g.By == nil || g.By.ID != f.admin.ID {
			t.Fatalf("the mapping takes the preset's attributes and who configured it: %+v", g)
		}

		// The dry run: the plan, no group written.
		_, plan, err := f.app.Directories.Sync(ctx, f.admin, d.ID, directory.SyncOptions{DryRun: true, Full: true})
		must(t, err)
		if groupCounts(plan.Counts) != [5]int64{3, 0, 0, 4, 0} || len(plan.GroupChanges) != 3 {
			t.Fatalf("the dry run's plan: %+v %+v", plan.Counts, plan.GroupChanges)
		}
		if gs := f.dirGroups(d.ID); len(gs) != 0 {
			t.Fatalf("a dry run made groups: %v", gs)
		}

		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{3, 0, 0, 4, 0} || run.Done.Created != 3 {
			t.Fatalf("the first sync %s %+v %s %+v", run.Status, run.Done, run.Reason, run.Errors)
		}
		want := map[string][]string{"g-eng-" + dia: {"ada", "bob"}, "g-ops-" + dia: {"cy"}, "named-" + dia: {"bob"}}
		if got := f.dirGroups(d.ID); !equalGroups(got, want) {
			t.Fatalf("groups after the first sync %v, want %v", got, want)
		}
		engG := f.groupNamed(d.ID, "g-eng-"+dia)
		if engG.Source != user.Directory || engG.ExternalID != l.EntryUUID(t, eng) {
			t.Fatalf("the group %+v, its entryUUID %s", engG, l.EntryUUID(t, eng))
		}

		// A membership change in the directory: the next sync, incremental, applies it.
		l.SetMembers(t, eng, ada, cy)
		run = f.syncChanges(d.ID)
		if run.Plan == nil || run.Plan.Full || groupCounts(run.Done) != [5]int64{0, 1, 0, 1, 1} {
			t.Fatalf("the incremental sync %+v %+v %+v", run.Done, run.Plan, run.Errors)
		}
		want["g-eng-"+dia] = []string{"ada", "cy"}
		if got := f.dirGroups(d.ID); !equalGroups(got, want) {
			t.Fatalf("groups after the membership change %v, want %v", got, want)
		}

		// A renamed group is the same group, under its new name.
		opsID := f.groupNamed(d.ID, "g-ops-"+dia).ID
		l.Rename(t, ops, "cn=g-ops2-"+dia)
		run = f.syncChanges(d.ID)
		if groupCounts(run.Done) != [5]int64{0, 1, 0, 0, 0} {
			t.Fatalf("the sync after a rename %+v %+v", run.Done, run.Errors)
		}
		if g := f.groupNamed(d.ID, "g-ops2-"+dia); g.ID != opsID {
			t.Fatalf("the renamed group is %s, was %s", g.ID, opsID)
		}

		// Read-only elsewhere: name and members; the description and roles stay the administrator's.
		_, err = f.app.Users.ChangeMembers(ctx, f.admin, engG.ID, true, []string{f.user("bob-" + dia).ID})
		if _, code := fieldCode(err); code != "group.directory_owned" {
			t.Fatalf("adding a member to a directory group: %v", err)
		}
		_, err = f.app.Users.UpdateUser(ctx, f.admin, f.user("bob-"+dia).ID, user.AnyVersion, user.Patch{GroupIDs: &[]string{engG.ID}})
		if field, code := fieldCode(err); field != "groups" || code != "group.directory_owned" {
			t.Fatalf("joining a directory group through the user: %s %s %v", field, code, err)
		}
		_, err = f.app.Users.UpdateGroup(ctx, f.admin, engG.ID, user.AnyVersion, user.GroupInput{Name: ptr("renamed")})
		if field, code := fieldCode(err); field != "name" || code != "group.read_only" {
			t.Fatalf("renaming a directory group: %s %s %v", field, code, err)
		}
		if err := f.app.Users.DeleteGroup(ctx, f.admin, engG.ID, user.AnyVersion); !errs.Is(errs.Conflict, err) {
			t.Fatalf("deleting a directory group: %v", err)
		}
		_, err = f.app.Users.UpdateGroup(ctx, f.admin, engG.ID, user.AnyVersion, user.GroupInput{Description: ptr("Engineering, from LDAP")})
		must(t, err)

		// No-escalation: a role on a directory group is granted only by who holds it, and the sync
		// changes the group's members only within what its configurer may grant.
		lead, err := f.app.Users.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Lead " + dia), Permissions: &[]user.Permission{user.SettingsManage}})
		must(t, err)
		mgr, err := f.app.Users.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Directory manager " + dia), Permissions: &[]user.Permission{
			user.UsersRead, user.UsersWrite, user.UsersLock, user.UsersDelete, user.GroupsManage, user.DirectoryManage}})
		must(t, err)
		mia, err := f.app.Users.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{Username: ptr("mia-" + dia),
			Email: ptr("mia-" + dia + "@example.com"), FirstName: ptr("Mia"), LastName: ptr("Manager")}, Password: ptr("correct horse battery mia"), RoleIDs: []string{mgr.ID}})
		must(t, err)
		miaActor := user.Actor{ID: mia.ID, Name: mia.Username, Permissions: mgr.Permissions}
		_, err = f.app.Users.UpdateGroup(ctx, miaActor, engG.ID, user.AnyVersion, user.GroupInput{RoleIDs: &[]string{lead.ID}})
		if !errs.Is(errs.Forbidden, err) {
			t.Fatalf("mia gave a directory group a role she does not hold: %v", err)
		}
		_, err = f.app.Users.UpdateGroup(ctx, f.admin, engG.ID, user.AnyVersion, user.GroupInput{RoleIDs: &[]string{lead.ID}})
		must(t, err)
		d, err = f.app.Directories.Directory(ctx, f.admin, d.ID)
		must(t, err)
		g := d.Groups
		g.Members = []string{"member"} // a change of the groups: who saves it answers for them
		d, err = f.app.Directories.Update(ctx, miaActor, d.ID, d.Version, directory.Input{Groups: &g})
		if e, ok := errs.As(err); ok {
			t.Fatalf("%v %+v", e, e.Fields)
		}
		if d.Groups.By == nil || d.Groups.By.ID != mia.ID {
			t.Fatalf("mia saved the group mapping: configured by %+v", d.Groups.By)
		}
		l.SetMembers(t, eng, ada, bob, cy)
		run = f.sync(d.ID) // started by the full administrator: narrowed by mia all the same
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{} || run.Done.Failed != 1 ||
			len(run.Errors) != 1 || !strings.EqualFold(run.Errors[0].DN, eng) || !strings.Contains(run.Errors[0].Reason, "settings.manage") {
			t.Fatalf("the sync narrowed by mia %+v %+v", run.Done, run.Errors)
		}
		if got := f.dirGroups(d.ID)["g-eng-"+dia]; !slices.Equal(got, []string{"ada", "cy"}) {
			t.Fatalf("the group with a role beyond mia got bob: %v", got)
		}
		g.Members = []string{"member", "uniqueMember"}
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Groups: &g})
		must(t, err)
		run = f.sync(d.ID)
		if groupCounts(run.Done) != [5]int64{0, 1, 0, 1, 0} || run.Done.Failed != 0 {
			t.Fatalf("the sync configured by the administrator again %+v %+v", run.Done, run.Errors)
		}

		// A group that leaves the mapping is deleted by the next full sync; its members stay.
		g.DNs = nil
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Groups: &g})
		must(t, err)
		run = f.syncChanges(d.ID) // new settings: full
		if !run.Plan.Full || groupCounts(run.Done) != [5]int64{0, 0, 1, 0, 1} {
			t.Fatalf("the sync after a group left the mapping %+v %+v", run.Done, run.Errors)
		}
		if _, ok := f.dirGroups(d.ID)["named-"+dia]; ok {
			t.Fatal("the group that left the mapping is still there")
		}
		if u := f.user("bob-" + dia); u.Status != user.Active {
			t.Fatalf("bob %s", u.Status)
		}

		// A mapping that finds no group while the directory has some would delete them all: the
		// safety rules hold it.
		g.Filter = "(cn=nothing-" + dia + ")"
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Groups: &g})
		must(t, err)
		run = f.sync(d.ID)
		if run.Status != directory.RunHeld || !strings.Contains(run.Reason, "none of the mapped groups") || len(f.dirGroups(d.ID)) != 2 {
			t.Fatalf("a sync that finds no group %s %q %v", run.Status, run.Reason, f.dirGroups(d.ID))
		}
	})
}

func equalGroups(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestSyncGroupsActiveDirectory: against Samba AD DC, with the preset (objectClass=group,
// member, cn, objectGUID) under the test's unit, a sync makes the unit's groups with their
// members; adding and removing a member in AD (which changes only the group's uSNChanged) is
// applied by the next incremental sync; a group deleted in AD is deleted by a full sync.
func TestSyncGroupsActiveDirectory(t *testing.T) {
	ad := dirtest.ActiveDirectory(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, nil)
		ctx := context.Background()
		ou := "grp-" + string(st.Dialect)
		sfx := "-" + string(st.Dialect)[:2]
		mk := func(sam string) string {
			return ad.AddUser(t, dirtest.ADUserSpec{SAMAccountName: sam + sfx, GivenName: sam, SN: "Grp",
				Mail: sam + sfx + "@example.test", OU: ou, Password: "Secret-" + sam + "-9"})
		}
		ann, bob, cat := mk("ann"), mk("bob"), mk("cat")
		unit := "OU=" + ou + "," + ad.BaseDN
		sales := ad.AddGroup(t, "sales"+sfx, ann, bob)
		ad.Move(t, sales, unit)
		sales = "CN=sales" + sfx + "," + unit
		temp := ad.AddGroup(t, "temp"+sfx, cat)
		ad.Move(t, temp, unit)
		temp = "CN=temp" + sfx + "," + unit
		in := directory.Input{Name: ptr("AD groups " + string(st.Dialect)), Kind: ptr(directory.ActiveDirectory), Host: ptr(ad.Host),
			Port: ptr(ad.TLSPort), Security: ptr(directory.LDAPS), CACert: ptr(string(ad.CAPEM)), BaseDN: ptr(ad.BaseDN),
			Scope: ptr(directory.ScopeSelected), OUs: &[]string{unit},
			BindDN: ptr(ad.BindDN), Password: ptr(ad.BindPassword), Threshold: ptr(100),
			Groups: &directory.GroupMapping{Enabled: true, BaseDN: unit}} // the rest: the preset
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if d.Groups.Filter != "(objectClass=group)" || d.Groups.Primary != "objectGUID" {
			t.Fatalf("the AD preset: %+v", d.Groups)
		}
		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{2, 0, 0, 3, 0} {
			t.Fatalf("the first sync %s %+v %s %+v", run.Status, run.Done, run.Reason, run.Errors)
		}
		want := map[string][]string{"sales" + sfx: {"ann", "bob"}, "temp" + sfx: {"cat"}}
		if got := f.dirGroups(d.ID); !equalGroups(got, want) {
			t.Fatalf("groups %v, want %v", got, want)
		}
		if g := f.groupNamed(d.ID, "sales"+sfx); g.ExternalID != ad.ObjectGUID(t, sales) {
			t.Fatalf("the group's external id %s, its objectGUID %s", g.ExternalID, ad.ObjectGUID(t, sales))
		}

		ad.SetMembers(t, sales, bob, cat)
		run = f.syncChanges(d.ID)
		if run.Plan == nil || run.Plan.Full || groupCounts(run.Done) != [5]int64{0, 1, 0, 1, 1} {
			t.Fatalf("the incremental sync %+v %+v %+v", run.Done, run.Plan, run.Errors)
		}
		want["sales"+sfx] = []string{"bob", "cat"}
		if got := f.dirGroups(d.ID); !equalGroups(got, want) {
			t.Fatalf("groups after the membership change %v, want %v", got, want)
		}

		ad.Delete(t, temp)
		run = f.sync(d.ID)
		if groupCounts(run.Done) != [5]int64{0, 0, 1, 0, 1} {
			t.Fatalf("the full sync after a group was deleted %+v %+v", run.Done, run.Errors)
		}
		delete(want, "temp"+sfx)
		if got := f.dirGroups(d.ID); !equalGroups(got, want) {
			t.Fatalf("groups after the deletion %v, want %v", got, want)
		}
	})
}

// TestGroupsConfiguredBy: the administrator who answers for a group mapping changes only when
// the groups or the users they may take members from change. The console sends every setting
// with each save, so another administrator's change of the password alone (the groups sent as
// they were) leaves who configured the groups as it was; a change of the group filter, or of
// the users' filter, records who made it.
func TestGroupsConfiguredBy(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		in := settings(l, "Configured by "+dia)
		in.Groups = &directory.GroupMapping{Enabled: true, BaseDN: l.Groups, Filter: "(cn=cfg-*-" + dia + ")"}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		admins, err := f.app.Users.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Directories " + dia), Permissions: &[]user.Permission{
			user.UsersRead, user.UsersWrite, user.GroupsManage, user.DirectoryManage}})
		must(t, err)
		noa, err := f.app.Users.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{Username: ptr("noa-" + dia),
			Email: ptr("noa-" + dia + "@example.com"), FirstName: ptr("Noa"), LastName: ptr("Admin")}, Password: ptr("correct horse battery noa"), RoleIDs: []string{admins.ID}})
		must(t, err)
		other := user.Actor{ID: noa.ID, Name: noa.Username, Permissions: admins.Permissions}

		// The whole form, as the console sends it.
		form := func(d *directory.Directory) directory.Input {
			g := d.Groups
			g.By = nil
			return directory.Input{Name: ptr(d.Name), Host: ptr(d.Host), Port: ptr(d.Port), Security: ptr(d.Security),
				BaseDN: ptr(d.BaseDN), BindDN: ptr(d.BindDN), Scope: ptr(d.Scope), OUs: ptr(slices.Clone(d.OUs)),
				Filter: ptr(d.Filter), Exclusions: ptr(slices.Clone(d.Exclusions)), Threshold: ptr(d.Threshold), Groups: &g}
		}
		step := func(name string, in directory.Input, wantBy string) {
			t.Helper()
			d, err = f.app.Directories.Update(ctx, other, d.ID, d.Version, in)
			if e, ok := errs.As(err); ok {
				t.Fatalf("%s: %v %+v", name, e, e.Fields)
			}
			must(t, err)
			if d.Groups.By == nil || d.Groups.By.ID != wantBy {
				t.Fatalf("%s: the groups are configured by %+v, want %s", name, d.Groups.By, wantBy)
			}
		}
		in = form(d)
		in.Password, in.Threshold = ptr(l.BindPassword), ptr(d.Threshold+1)
		step("a new password and threshold, the groups as they were", in, f.admin.ID)
		in = form(d)
		in.Groups.Filter = "(cn=cfg-a*-" + dia + ")"
		step("a new group filter", in, noa.ID)
		other = f.admin
		in = form(d)
		step("saved again by the administrator, nothing changed", in, noa.ID)
		in = form(d)
		in.Filter = ptr("(&" + d.Filter + "(uid=*))")
		step("a new users' filter", in, f.admin.ID)
	})
}

// TestGroupsSafety: a full sync that would remove more of the groups' memberships, or delete
// more of the directory's groups, than the directory's threshold is held until confirmed, and
// so is one that reads none of the mapped groups, where a group named by a DN the directory no
// longer has does not count as read. Confirming applies it.
func TestGroupsSafety(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		ou := "safe-" + dia
		mk := func(uid string) string {
			return l.AddUser(t, dirtest.UserSpec{UID: uid + "-" + dia, GivenName: uid, SN: "Safe", Mail: uid + "-" + dia + "@example.com", OU: ou})
		}
		ada, bob, cy, dee := mk("ada"), mk("bob"), mk("cy"), mk("dee")
		a := l.AddGroup(t, "safe-a-"+dia, ada, bob, cy, dee)
		b := l.AddGroup(t, "safe-b-"+dia, ada)
		c := l.AddGroup(t, "safe-c-"+dia, bob)
		dg := l.AddGroup(t, "safe-d-"+dia, cy)
		in := settings(l, "Safety "+dia)
		in.Scope, in.OUs, in.Threshold = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}, ptr(30)
		in.Groups = &directory.GroupMapping{Enabled: true, DNs: []string{a, b, c, dg}} // by DN only
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{4, 0, 0, 7, 0} {
			t.Fatalf("the first sync %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}
		held := func(step, reason string, want [5]int64, groups int) {
			t.Helper()
			run := f.sync(d.ID)
			if run.Status != directory.RunHeld || run.Reason != reason {
				t.Fatalf("%s: %s %q, want held: %q", step, run.Status, run.Reason, reason)
			}
			confirmed, err := f.app.Directories.Confirm(ctx, f.admin, d.ID, run.ID)
			must(t, err)
			done := f.wait(d.ID, confirmed.ID)
			if done.Status != directory.RunCompleted || groupCounts(done.Done) != want {
				t.Fatalf("%s, confirmed: %s %q %+v %+v", step, done.Status, done.Reason, done.Done, done.Errors)
			}
			if got := f.dirGroups(d.ID); len(got) != groups {
				t.Fatalf("%s, confirmed: groups %v", step, got)
			}
		}
		l.SetMembers(t, a, ada)
		held("3 of 7 memberships", "This sync would remove 3 of the 7 memberships of the directory's groups (42%), more than its threshold of 30%.",
			[5]int64{0, 1, 0, 0, 3}, 4)
		l.Delete(t, a)
		l.Delete(t, b)
		held("2 of 4 groups", "This sync would delete 2 of the directory's 4 groups (50%), more than its threshold of 30%, and their members would lose the roles they give.",
			[5]int64{0, 0, 2, 0, 2}, 2)
		l.Delete(t, c)
		l.Delete(t, dg)
		held("none of the groups", "This sync would delete 2 of the directory's 2 groups, and their members would lose the roles they give: the directory returned none of the mapped groups. Check the group DNs and filter before confirming.",
			[5]int64{0, 0, 2, 0, 2}, 0)
	})
}

// TestGroupsSavedBefore: a group mapping saved before its attributes could be chosen reads the
// preset's; one saved before usher recorded who configured it (enabled, no one answering for
// it) is left as it is by a sync, which says to save the groups again; saved again, even as it
// was, it syncs.
func TestGroupsSavedBefore(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		ou := "old-" + dia
		mk := func(uid string) string {
			return l.AddUser(t, dirtest.UserSpec{UID: uid + "-" + dia, GivenName: uid, SN: "Old", Mail: uid + "-" + dia + "@example.com", OU: ou})
		}
		ada, bob := mk("ada"), mk("bob")
		grp := l.AddGroup(t, "old-g-"+dia, ada)
		in := settings(l, "Saved before "+dia)
		in.Scope, in.OUs, in.Threshold = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}, ptr(100)
		in.Groups = &directory.GroupMapping{Enabled: true, DNs: []string{grp}}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{1, 0, 0, 1, 0} {
			t.Fatalf("the first sync %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}
		// The mapping as the first API stored it: no attributes, perhaps no one answering for it.
		old := func(by *directory.Configurer) {
			t.Helper()
			sd, err := st.Directory(ctx, d.ID)
			must(t, err)
			sd.Groups = directory.GroupMapping{Enabled: true, DNs: []string{grp}, By: by}
			must(t, st.UpdateDirectory(ctx, sd))
		}
		by := d.Groups.By
		old(by)
		l.SetMembers(t, grp, ada, bob)
		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{0, 1, 0, 1, 0} || len(run.Errors) != 0 {
			t.Fatalf("the sync of a mapping without attributes %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}

		old(nil)
		l.SetMembers(t, grp, bob)
		run = f.sync(d.ID)
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{} || len(run.Errors) != 1 ||
			!strings.Contains(run.Errors[0].Reason, "Save the directory's groups again to choose who answers for them.") {
			t.Fatalf("the sync of a mapping no one answers for %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}
		if got := f.dirGroups(d.ID)["old-g-"+dia]; !slices.Equal(got, []string{"ada", "bob"}) {
			t.Fatalf("the group of a mapping no one answers for changed: %v", got)
		}

		d, err = f.app.Directories.Directory(ctx, f.admin, d.ID)
		must(t, err)
		g := d.Groups
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Groups: &g})
		must(t, err)
		if d.Groups.By == nil || d.Groups.By.ID != f.admin.ID || d.Groups.Primary != "entryUUID" {
			t.Fatalf("saved again: %+v", d.Groups)
		}
		run = f.sync(d.ID)
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{0, 1, 0, 0, 1} || len(run.Errors) != 0 {
			t.Fatalf("the sync once saved again %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}
	})
}

// TestGroupsRecreated: a group deleted and made again in the directory under the same name (a
// new entryUUID) is deleted and made again by the next full sync, the old one gone first so
// that the names do not collide; a name written with decomposed accents is the group's name in
// NFC, not a rename at every sync; deleting a directory group by hand says where it is done.
func TestGroupsRecreated(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		ou := "again-" + dia
		ada := l.AddUser(t, dirtest.UserSpec{UID: "ada-" + dia, GivenName: "ada", SN: "Again", Mail: "ada-" + dia + "@example.com", OU: ou})
		l.AddGroup(t, "again-x-"+dia, ada)
		l.AddGroup(t, "again-E\u0301quipe-"+dia, ada) // É, decomposed
		in := settings(l, "Again "+dia)
		in.Scope, in.OUs, in.Threshold = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}, ptr(100)
		in.Groups = &directory.GroupMapping{Enabled: true, BaseDN: l.Groups, Filter: "(cn=again-*-" + dia + ")"}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{2, 0, 0, 2, 0} {
			t.Fatalf("the first sync %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}
		if _, ok := f.dirGroups(d.ID)["again-\u00c9quipe-"+dia]; !ok {
			t.Fatalf("the group's name is not in NFC: %v", f.dirGroups(d.ID))
		}
		if run := f.sync(d.ID); run.Plan == nil || groupCounts(run.Plan.Counts) != [5]int64{} {
			t.Fatalf("a sync with nothing changed plans %+v %+v", run.Plan, run.Errors)
		}

		old := f.groupNamed(d.ID, "again-x-"+dia)
		err = f.app.Users.DeleteGroup(ctx, f.admin, old.ID, user.AnyVersion)
		if e, ok := errs.As(err); !ok || e.Code != "group.directory_owned" || !strings.Contains(e.Message, "remove it from the group mapping in the directory's settings") {
			t.Fatalf("deleting a directory group by hand: %v", err)
		}
		l.Delete(t, "cn=again-x-"+dia+","+l.Groups)
		l.AddGroup(t, "again-x-"+dia, ada)
		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || groupCounts(run.Done) != [5]int64{1, 0, 1, 1, 1} || len(run.Errors) != 0 {
			t.Fatalf("the sync after the group was made again %s %q %+v %+v", run.Status, run.Reason, run.Done, run.Errors)
		}
		if g := f.groupNamed(d.ID, "again-x-"+dia); g.ID == old.ID || g.MemberCount != 1 {
			t.Fatalf("the group made again %+v, the old one %s", g, old.ID)
		}
	})
}

package directory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestConfirmationNamesThePeople: a confirmation applies to the users the held sync would have
// disabled, not to as many others. When the directory changes so that the same number of other
// users would be disabled, the confirmed sync is held again, and its own confirmation applies.
func TestConfirmationNamesThePeople(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "confirm-" + string(st.Dialect)
		dn := map[string]string{}
		for _, uid := range []string{"ann", "ben", "cy", "dee"} {
			dn[uid] = l.AddUser(t, dirtest.UserSpec{UID: uid + "-c-" + string(st.Dialect), GivenName: "Held", SN: uid,
				Mail: uid + ".c." + string(st.Dialect) + "@example.com", OU: ou})
		}
		in := settings(l, "Confirm "+string(st.Dialect))
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		in.DisabledAttribute, in.DisabledValue = ptr("employeeType"), ptr("disabled")
		in.Threshold = ptr(30)
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); counts(run).Created != 4 {
			t.Fatalf("the first sync: %s %+v", run.Status, counts(run))
		}
		disable := func(uid, v string) {
			l.Modify(t, dn[uid], map[string][]string{"employeeType": {v}})
		}
		disable("ann", "disabled")
		disable("ben", "disabled")
		held := f.sync(d.ID)
		if held.Status != directory.RunHeld || held.Plan == nil || held.Plan.Counts.Disabled != 2 {
			t.Fatalf("2 of 4 disabled with a threshold of 30%%: %s %+v", held.Status, held.Plan)
		}
		// Before the confirmation: ben is back, cy is disabled instead. Still two.
		disable("ben", "enabled")
		disable("cy", "disabled")
		run, err := f.app.Directories.Confirm(ctx, f.admin, d.ID, held.ID)
		must(t, err)
		again := f.wait(d.ID, run.ID)
		if again.Status != directory.RunHeld || !strings.Contains(again.Reason, "not the ones you confirmed") {
			t.Fatalf("a confirmation applied to other people: %s %q %+v", again.Status, again.Reason, counts(again))
		}
		if u := f.user("cy-c-" + string(st.Dialect)); u.Status != user.Active {
			t.Fatalf("cy, whom no one confirmed, is %s", u.Status)
		}
		run, err = f.app.Directories.Confirm(ctx, f.admin, d.ID, again.ID)
		must(t, err)
		if done := f.wait(d.ID, run.ID); done.Status != directory.RunCompleted || counts(done).Disabled != 2 {
			t.Fatalf("the second confirmation: %s %+v (%s)", done.Status, counts(done), done.Reason)
		}
		for uid, want := range map[string]user.Status{"ann": user.Disabled, "ben": user.Active, "cy": user.Disabled, "dee": user.Active} {
			if u := f.user(uid + "-c-" + string(st.Dialect)); u.Status != want {
				t.Errorf("%s is %s, want %s", uid, u.Status, want)
			}
		}
	})
}

package directory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestScopeNone: a directory whose scope is None reads nobody. Its syncs complete with nothing
// to do while it has no users here; once it has some, a sync that would lose them all is held
// with the reason, like any sync that would disable more than the threshold.
func TestScopeNone(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "none-" + string(st.Dialect)
		for _, uid := range []string{"ann", "ben"} {
			l.AddUser(t, dirtest.UserSpec{UID: uid + "-none-" + string(st.Dialect), GivenName: "Scoped", SN: uid,
				Mail: uid + ".none." + string(st.Dialect) + "@example.com", OU: ou})
		}
		in := settings(l, "Nobody "+string(st.Dialect))
		in.Scope = ptr(directory.ScopeNone)
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); run.Status != directory.RunCompleted || counts(run) != (directory.Counts{}) {
			t.Fatalf("a sync of scope None: %s %+v (%s)", run.Status, counts(run), run.Reason)
		}

		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Scope: ptr(directory.ScopeSelected),
			OUs: &[]string{"ou=" + ou + "," + l.BaseDN}})
		must(t, err)
		if run := f.sync(d.ID); run.Status != directory.RunCompleted || counts(run).Created != 2 {
			t.Fatalf("a sync of the OU: %s %+v (%s)", run.Status, counts(run), run.Reason)
		}
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Scope: ptr(directory.ScopeNone)})
		must(t, err)
		run := f.sync(d.ID)
		if run.Status != directory.RunHeld || !strings.Contains(run.Reason, "The scope is None") || !strings.Contains(run.Reason, "all 2 of") {
			t.Fatalf("scope None with users: %s %q", run.Status, run.Reason)
		}
		if u := f.user("ann-none-" + string(st.Dialect)); u.Status != "active" {
			t.Fatalf("a held sync changed ann: %s", u.Status)
		}
	})
}

package directory_test

import (
	"context"
	"testing"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestIncrementalManagers: an incremental sync, which reads only the entries changed since the
// last (Active Directory's uSNChanged), sets a changed entry's new manager and a new user's
// manager when the manager is a user of the directory whose own entry did not change.
func TestIncrementalManagers(t *testing.T) {
	ad := dirtest.ActiveDirectory(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, nil)
		ctx := context.Background()
		ou := "managers-" + string(st.Dialect)
		sfx := "-m" + string(st.Dialect)[:2]
		mk := func(sam, given string, attrs map[string][]string) string {
			return ad.AddUser(t, dirtest.ADUserSpec{SAMAccountName: sam + sfx, GivenName: given, SN: "Manager",
				Mail: sam + sfx + "@example.test", OU: ou, Attributes: attrs})
		}
		ann := mk("ann", "Ann", nil)
		mk("bob", "Bob", nil)
		in := directory.Input{Name: ptr("Managers " + string(st.Dialect)), Kind: ptr(directory.ActiveDirectory), Host: ptr(ad.Host),
			Port: ptr(ad.TLSPort), Security: ptr(directory.LDAPS), CACert: ptr(string(ad.CAPEM)), BaseDN: ptr(ad.BaseDN),
			Scope: ptr(directory.ScopeSelected), OUs: &[]string{"OU=" + ou + "," + ad.BaseDN},
			BindDN: ptr(ad.BindDN), Password: ptr(ad.BindPassword), Threshold: ptr(100)}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); run.Status != directory.RunCompleted || counts(run).Created != 2 {
			t.Fatalf("the full sync: %s %+v (%s)", run.Status, counts(run), run.Reason)
		}
		bob := f.user("bob" + sfx)
		ad.Modify(t, "CN=Bob Manager,OU="+ou+","+ad.BaseDN, map[string][]string{"manager": {ann}})
		mk("cy", "Cy", map[string][]string{"manager": {ann}})

		_, plan, err := f.app.Directories.Sync(ctx, f.admin, d.ID, directory.SyncOptions{DryRun: true})
		must(t, err)
		if plan.Full || plan.Counts.Seen != 2 {
			t.Fatalf("the dry run read %d entries (full %v): want the two changed", plan.Counts.Seen, plan.Full)
		}
		run := f.syncChanges(d.ID)
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 2, Created: 1, Updated: 1}) {
			t.Fatalf("the incremental sync: %s %+v (%s) %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		annID := f.user("ann" + sfx).ID
		if got := f.user("bob" + sfx); got.ID != bob.ID || got.ManagerID != annID {
			t.Fatalf("bob's manager %q, want ann %q", got.ManagerID, annID)
		}
		if got := f.user("cy" + sfx); got.ManagerID != annID {
			t.Fatalf("cy's manager %q, want ann %q", got.ManagerID, annID)
		}
	})
}

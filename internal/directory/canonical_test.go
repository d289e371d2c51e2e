package directory_test

import (
	"context"
	"testing"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestSyncComparesStoredForms: a value usher stores in another form than the directory's (a
// name with its accent typed apart, a number written 007) is no change at the next sync, which
// would otherwise update the user, and audit it, at every sync.
func TestSyncComparesStoredForms(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "forms-" + string(st.Dialect)
		l.AddUser(t, dirtest.UserSpec{UID: "zoe-" + string(st.Dialect), GivenName: "Zoe\u0308", SN: "Forms",
			Mail: "zoe." + string(st.Dialect) + "@example.com", OU: ou, Attributes: map[string][]string{"roomNumber": {"007"}}})
		_, err := f.app.Users.CreateField(ctx, f.admin, user.FieldInput{Name: "room", Label: ptr("Room"), Type: user.NumberField})
		must(t, err)
		in := settings(l, "Forms "+string(st.Dialect))
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		in.Mapping = &directory.Mapping{Custom: map[string]string{"room": "roomNumber"}}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); counts(run) != (directory.Counts{Seen: 1, Created: 1}) {
			t.Fatalf("the first sync: %+v %+v", counts(run), run.Errors)
		}
		u := f.user("zoe-" + string(st.Dialect))
		if u.FirstName != "Zo\u00eb" || u.Custom["room"] != "7" {
			t.Fatalf("stored %q, room %q", u.FirstName, u.Custom["room"])
		}
		if run := f.sync(d.ID); counts(run) != (directory.Counts{Seen: 1}) {
			t.Fatalf("the second sync changed what had not changed: %+v %+v", counts(run), run.Plan.Changes)
		}
	})
}

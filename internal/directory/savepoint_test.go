package directory_test

import (
	"context"
	"testing"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestSyncRefusesOneChangeAlone: a change the database refuses while the sync applies it (here a
// trigger, standing for a name taken between the plan and the write) is undone alone and reported
// with the entry's DN; the other changes of its batch are made. On PostgreSQL a failed statement
// ends its transaction, so without a savepoint of its own it would take the batch with it.
func TestSyncRefusesOneChangeAlone(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "alone-" + string(st.Dialect)
		dns := map[string]string{}
		for _, uid := range []string{"amy", "bea", "cal", "dan", "eli"} {
			dns[uid] = l.AddUser(t, dirtest.UserSpec{UID: uid + "-a-" + string(st.Dialect), GivenName: "Alone", SN: uid,
				Mail: uid + ".a." + string(st.Dialect) + "@example.com", DepartmentNumber: "Research", OU: ou})
		}
		in := settings(l, "Alone "+string(st.Dialect))
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		if run := f.sync(d.ID); counts(run).Created != 5 {
			t.Fatalf("the first sync: %+v", counts(run))
		}
		stmts := []string{
			`CREATE TABLE taken (email TEXT PRIMARY KEY)`,
			`INSERT INTO taken VALUES ('bea.a.` + string(st.Dialect) + `@example.com'), ('dan.a.` + string(st.Dialect) + `@example.com')`,
			`CREATE TRIGGER users_taken AFTER UPDATE ON users WHEN NEW.department = 'Sales' BEGIN INSERT INTO taken VALUES (NEW.email_lower); END`,
		}
		if st.Dialect == store.Postgres {
			stmts[2] = `CREATE FUNCTION users_taken() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN INSERT INTO taken VALUES (NEW.email_lower); RETURN NEW; END $$`
			stmts = append(stmts, `CREATE TRIGGER users_taken AFTER UPDATE ON users FOR EACH ROW WHEN (NEW.department = 'Sales') EXECUTE FUNCTION users_taken()`)
		}
		for _, q := range stmts {
			if st.Dialect == store.Postgres {
				_, err = st.Pool().Exec(ctx, q)
			} else {
				_, err = st.DB().ExecContext(ctx, q)
			}
			must(t, err)
		}
		for _, dn := range dns {
			l.Modify(t, dn, map[string][]string{"departmentNumber": {"Sales"}})
		}
		run := f.sync(d.ID)
		if run.Status != directory.RunCompleted || counts(run) != (directory.Counts{Seen: 5, Updated: 3, Failed: 2}) || len(run.Errors) != 2 {
			t.Fatalf("the sync: %s %+v (%s) %+v", run.Status, counts(run), run.Reason, run.Errors)
		}
		for _, e := range run.Errors {
			if e.DN != dns["bea"] && e.DN != dns["dan"] {
				t.Errorf("refused %s: %s", e.DN, e.Reason)
			}
		}
		for uid, want := range map[string]string{"amy": "Sales", "bea": "Research", "cal": "Sales", "dan": "Research", "eli": "Sales"} {
			if u := f.user(uid + "-a-" + string(st.Dialect)); u.Department != want {
				t.Errorf("%s's department %q, want %q", uid, u.Department, want)
			}
		}
	})
}

package imports_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// fixture is a whole usher on a real database, with an import service of small batches whose
// jobs run (with the outbox's) on a runner of its own.
type fixture struct {
	t     *testing.T
	app   *app.App
	st    *store.Store
	svc   *imports.Service
	jobs  *job.Runner
	admin user.Actor
}

func newFixture(t *testing.T, st *store.Store, batch int) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), []string{"USHER_DATA_DIR=" + t.TempDir(),
		"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.SyncBuiltinRoles(ctx))
	must(t, job.Migrate(ctx, st))
	a, err := app.New(cfg, st, slog.New(slog.DiscardHandler))
	must(t, err)
	_, err = a.EnsureDefaultAdmin(ctx)
	must(t, err)
	f := &fixture{t: t, app: a, st: st}
	f.jobs, err = job.New(st, job.Options{PollInterval: 50 * time.Millisecond})
	must(t, err)
	f.svc, err = imports.NewService(st, a.Users, a.Invitations, f.jobs, imports.Options{BatchSize: batch, Lease: 2 * time.Second})
	must(t, err)
	must(t, job.AddWorker(f.jobs, f.svc.Worker()))
	must(t, job.AddWorker(f.jobs, a.Background.Outbox.Worker()))
	admin, err := a.Users.UserByLogin(ctx, user.System("test"), "admin@example.org")
	must(t, err)
	f.admin = user.Actor{ID: admin.ID, Name: admin.Username, Permissions: user.AllPermissions()}
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	must(f.t, f.jobs.Start(context.Background()))
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f.jobs.Stop(ctx)
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// stage stages a file with the given name and content.
func (f *fixture) stage(name string, content []byte, invite bool) *imports.Preview {
	f.t.Helper()
	path := filepath.Join(f.t.TempDir(), name)
	must(f.t, os.WriteFile(path, content, 0o600))
	file, err := os.Open(path)
	must(f.t, err)
	defer file.Close()
	p, err := f.svc.Stage(context.Background(), f.admin, imports.Upload{Name: name, File: file, Size: int64(len(content)), Invite: invite})
	must(f.t, err)
	return p
}

// wait polls an import until it is final.
func (f *fixture) wait(id string) *imports.Import {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		imp, err := f.svc.Get(context.Background(), f.admin, id)
		must(f.t, err)
		if imp.Status.Final() {
			return imp
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("import still %s after a minute: %d of %d rows", imp.Status, imp.Done, imp.Rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) user(login string) *user.Detail {
	f.t.Helper()
	d, err := f.app.Users.UserByLogin(context.Background(), user.System("test"), login)
	if err != nil {
		f.t.Fatalf("user %s: %v", login, err)
	}
	return d
}

// rowsFile is a CSV file of n new users.
func rowsFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Email,First name,Last name\n")
	for i := range n {
		fmt.Fprintf(&b, "user%05d@example.com,User,Number %d\n", i, i)
	}
	return b.Bytes()
}

// checkOutcomes: every row of the import has exactly one result, and the counts add up.
func (f *fixture) checkOutcomes(imp *imports.Import) {
	f.t.Helper()
	var n int64
	var after int64
	for {
		rows, err := f.st.ImportRows(context.Background(), imp.ID, nil, after, 1000)
		must(f.t, err)
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			if r.Result == "" {
				f.t.Fatalf("row %d has no result", r.No)
			}
			n++
			after = r.No
		}
	}
	if n != imp.Rows || imp.Done != imp.Rows || imp.Result.Sum() != imp.Rows {
		f.t.Fatalf("%d rows with a result, %d done, results %+v, of %d rows", n, imp.Done, imp.Result, imp.Rows)
	}
}

// TestSeedTemplates: each vendor's template style imports as it is.
func TestSeedTemplates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f := newFixture(t, st, 100)
		f.start()
		ctx := context.Background()
		for _, g := range []string{"Sales", "Support"} {
			_, err := f.app.Users.CreateGroup(ctx, user.System("test"), user.GroupInput{Name: &g})
			must(t, err)
		}
		read := func(name string) []byte {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			must(t, err)
			return b
		}

		// 000: pipes, a Name column, the User Status action; invitations sent.
		p := f.stage("seed000.txt", read("seed000.txt"), true)
		if p.Plan.Create != 3 || p.Plan.Error != 0 {
			t.Fatalf("seed 000 plan %+v: %+v", p.Plan, p.First[imports.Error])
		}
		_, err := f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		f.checkOutcomes(f.wait(p.ID))
		ada := f.user("ada@example.com")
		if ada.Status != user.Invited || ada.FirstName != "Ada" || ada.LastName != "Lovelace" {
			t.Fatalf("seed 000: %+v", ada.User)
		}
		if a := f.user("augusta@example.com"); a.FirstName != "Augusta" || a.LastName != "Lovelace" {
			t.Fatalf("seed 000 Lovelace, Augusta: %+v", a.User)
		}
		sent, _, err := f.st.Outbox(ctx, mail.Filter{Kind: "invitation", UserID: ada.ID, Limit: 10})
		must(t, err)
		if len(sent) != 1 {
			t.Fatalf("seed 000: %d invitations to Ada, want 1", len(sent))
		}

		// 001: usher's own columns with semicolon lists; created active without a password.
		p = f.stage("seed001.csv", read("seed001.csv"), false)
		if p.Plan.Create != 2 || p.Plan.Error != 0 {
			t.Fatalf("seed 001 plan %+v: %+v", p.Plan, p.First[imports.Error])
		}
		_, err = f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		f.checkOutcomes(f.wait(p.ID))
		alan := f.user("alan.t")
		if alan.Status != user.Active || alan.PasswordHash != "" || len(alan.Groups) != 2 || len(alan.Roles) != 2 {
			t.Fatalf("seed 001: %+v roles %+v groups %+v", alan.User, alan.Roles, alan.Groups)
		}
		if k := f.user("katherine"); len(k.Roles) != 1 || k.Roles[0].ID != user.ViewerRole {
			t.Fatalf("seed 001: a row without roles gets %+v, want Viewer", k.Roles)
		}

		// 002: an XLSX file; a formula-looking department is text.
		p = f.stage("seed002.xlsx", read("seed002.xlsx"), false)
		_, err = f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		f.checkOutcomes(f.wait(p.ID))
		if fr := f.user("frances@example.com"); fr.Department != "=1+1" {
			t.Fatalf("seed 002: department %q", fr.Department)
		}

		// 003: an invitation file with a quoted, comma-separated group cell.
		p = f.stage("seed003.csv", read("seed003.csv"), false)
		if !p.Invitations || p.Plan.Create != 2 {
			t.Fatalf("seed 003: invitations %v, plan %+v %+v", p.Invitations, p.Plan, p.First[imports.Error])
		}
		_, err = f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		f.checkOutcomes(f.wait(p.ID))
		if e := f.user("edsger@example.com"); e.Status != user.Invited || len(e.Groups) != 2 {
			t.Fatalf("seed 003: %+v groups %+v", e.User, e.Groups)
		}

		// Inviting someone who is a user already sends nothing: the row is skipped.
		p = f.stage("again.csv", []byte("email\nada@example.com\nalan@example.com\n"), false)
		if p.Plan.Skip != 2 || !strings.Contains(p.First[imports.Skip][0].Reason, "user already") {
			t.Fatalf("invitations to users: plan %+v, rows %+v", p.Plan, p.First[imports.Skip])
		}
	})
}

// TestCancel: a cancel takes effect before the next batch, nothing is written after it is
// acknowledged, and every row ends with one outcome.
func TestCancel(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f := newFixture(t, st, 20)
		ctx := context.Background()
		p := f.stage("many.csv", rowsFile(2000), false)
		f.start()
		_, err := f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		for {
			imp, err := f.svc.Get(ctx, f.admin, p.ID)
			must(t, err)
			if imp.Done >= 40 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		asked := time.Now()
		_, err = f.svc.Cancel(ctx, f.admin, p.ID)
		must(t, err)
		counts, err := f.app.Users.Counts(ctx, f.admin)
		must(t, err)
		imp := f.wait(p.ID)
		if took := time.Since(asked); took > 5*time.Second {
			t.Fatalf("the cancel took %s", took)
		}
		after, err := f.app.Users.Counts(ctx, f.admin)
		must(t, err)
		if imp.Status != imports.Cancelled || after.Total != counts.Total {
			t.Fatalf("status %s; %d users when the cancel returned, %d after", imp.Status, counts.Total, after.Total)
		}
		if imp.Result.Create != counts.Total-1 || imp.Result.Skip == 0 || imp.CancelledBy != f.admin.Name {
			t.Fatalf("result %+v with %d users", imp.Result, counts.Total)
		}
		f.checkOutcomes(imp)
	})
}

// TestResume: an import whose job died (its lease ran out) is applied by a new job, from the
// first row without a result, and no row is applied twice.
func TestResume(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f := newFixture(t, st, 50)
		ctx := context.Background()
		p := f.stage("many.csv", rowsFile(300), false)
		// Started while no worker runs; then a dead process's lease on it, not yet run out.
		_, err := f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		ok, err := st.ClaimImport(ctx, p.ID, "dead-process/1", time.Now(), time.Now().Add(time.Hour))
		if err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		f.start()
		time.Sleep(300 * time.Millisecond)
		if imp, _ := f.svc.Get(ctx, f.admin, p.ID); imp.Done != 0 {
			t.Fatalf("a job applied %d rows under another's lease", imp.Done)
		}
		// Resume without taking over waits for the lease; taking over (SQLite at start) does not.
		must(t, f.svc.Resume(ctx, false))
		time.Sleep(200 * time.Millisecond)
		if imp, _ := f.svc.Get(ctx, f.admin, p.ID); imp.Done != 0 {
			t.Fatalf("Resume applied %d rows under a live lease", imp.Done)
		}
		must(t, f.svc.Resume(ctx, true))
		imp := f.wait(p.ID)
		if imp.Status != imports.Completed || imp.Result.Create != 300 {
			t.Fatalf("resumed import %s %+v", imp.Status, imp.Result)
		}
		f.checkOutcomes(imp)
	})
}

// TestRunFailsAsAWhole: a run of new users whose write fails once the job applies it (here a
// trigger the preview did not meet, standing for a name taken between the look-up and the
// write) is done again row by row: the one row is refused with the reason, the others are made.
func TestRunFailsAsAWhole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f := newFixture(t, st, 50)
		ctx := context.Background()
		p := f.stage("many.csv", rowsFile(120), false)
		if p.Plan.Create != 120 {
			t.Fatalf("preview %+v", p.Plan)
		}
		stmts := []string{
			`CREATE TABLE taken (email TEXT PRIMARY KEY)`,
			`INSERT INTO taken VALUES ('user00077@example.com')`,
			`CREATE TRIGGER users_taken AFTER INSERT ON users BEGIN INSERT INTO taken VALUES (NEW.email_lower); END`,
		}
		if st.Dialect == store.Postgres {
			stmts[2] = `CREATE FUNCTION users_taken() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN INSERT INTO taken VALUES (NEW.email_lower); RETURN NEW; END $$`
			stmts = append(stmts, `CREATE TRIGGER users_taken AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_taken()`)
		}
		for _, q := range stmts {
			var err error
			if st.Dialect == store.Postgres {
				_, err = st.Pool().Exec(ctx, q)
			} else {
				_, err = st.DB().ExecContext(ctx, q)
			}
			must(t, err)
		}
		f.start()
		_, err := f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		imp := f.wait(p.ID)
		if imp.Status != imports.Completed || imp.Result.Create != 119 || imp.Result.Error != 1 {
			t.Fatalf("import %s %+v (%s)", imp.Status, imp.Result, imp.Error)
		}
		f.checkOutcomes(imp)
		rows, err := f.st.ImportRows(ctx, imp.ID, []imports.Outcome{imports.Error}, 0, 10)
		must(t, err)
		if len(rows) != 1 || rows[0].No != 79 || rows[0].Reason != "This already exists." {
			t.Fatalf("refused rows %+v", rows)
		}
		if _, err := f.app.Users.UserByLogin(ctx, f.admin, "user00076@example.com"); err != nil {
			t.Fatalf("the row before the refused one: %v", err)
		}
	})
}

// TestRoundTrip: users exported (CSV and XLSX) and imported again as they are change nothing,
// hostile cells included; the file edited in one cell changes that one user.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f := newFixture(t, st, 100)
		f.start()
		ctx := context.Background()
		sys := user.System("test")
		_, err := f.app.Users.CreateField(ctx, sys, user.FieldInput{Name: "cost_center", Label: ptr("Cost center"), Type: user.TextField})
		must(t, err)
		g, err := f.app.Users.CreateGroup(ctx, sys, user.GroupInput{Name: ptr("=Sales, EMEA")})
		must(t, err)
		boss, err := f.app.Users.CreateUser(ctx, sys, user.CreateInput{Profile: user.Profile{Email: ptr("boss@example.com"),
			FirstName: ptr("Big"), LastName: ptr("Boss")}})
		must(t, err)
		hostile := []string{"=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tTab", "'quoted", "O'Brien", "line\nbreak"}
		for i, v := range hostile {
			dept := v
			if strings.ContainsAny(v, "\t\n") {
				dept = "Plain" // a department is one line; a text custom field takes tabs and new lines
			}
			_, err := f.app.Users.CreateUser(ctx, sys, user.CreateInput{Profile: user.Profile{Email: ptr(fmt.Sprintf("h%d@example.com", i)),
				FirstName: ptr("Hostile"), LastName: ptr(fmt.Sprint(i)), Department: ptr(dept), Manager: ptr("boss@example.com"),
				Custom: map[string]*string{"cost_center": ptr(v)}}, RoleIDs: []string{user.ViewerRole, user.AuditorRole}, GroupIDs: []string{g.ID}})
			must(t, err)
		}
		for _, format := range []string{"csv", "xlsx"} {
			x, err := f.app.Users.ExportUsers(ctx, f.admin, user.Filter{}, format)
			must(t, err)
			var file bytes.Buffer
			_, err = imports.Export(ctx, x, sheet.Format(format), &file)
			must(t, err)
			p := f.stage("users."+format, file.Bytes(), false)
			// Everyone but the Default Administrator (whom an import does not touch) is as the file says.
			if p.Plan.Skip != int64(len(hostile)+1) || p.Plan.Error != 1 || p.Plan.Update != 0 {
				t.Fatalf("%s: plan %+v; errors %+v; updates %+v", format, p.Plan, p.First[imports.Error], p.First[imports.Update])
			}
		}
		// One cell edited: that user alone changes, to exactly that value.
		x, err := f.app.Users.ExportUsers(ctx, f.admin, user.Filter{}, "csv")
		must(t, err)
		var file bytes.Buffer
		_, err = imports.Export(ctx, x, "csv", &file)
		must(t, err)
		edited := strings.Replace(file.String(), "h3@example.com,Hostile,3,Update", "h3@example.com,Hostile,Three,Update", 1)
		if edited == file.String() {
			t.Fatalf("the export has no row for h3:\n%s", file.String())
		}
		p := f.stage("edited.csv", []byte(edited), false)
		if p.Plan.Update != 1 || p.Plan.Skip != int64(len(hostile)) {
			t.Fatalf("edited: plan %+v", p.Plan)
		}
		_, err = f.svc.Start(ctx, f.admin, p.ID)
		must(t, err)
		f.checkOutcomes(f.wait(p.ID))
		h3 := f.user("h3@example.com")
		if h3.LastName != "Three" || h3.Department != hostile[3] || h3.Custom["cost_center"] != hostile[3] || h3.ManagerID != boss.ID ||
			len(h3.Groups) != 1 || len(h3.Roles) != 2 {
			t.Fatalf("h3 after the import: %+v roles %+v groups %+v", h3.User, h3.Roles, h3.Groups)
		}
	})
}

func ptr(s string) *string { return &s }

// TestRefusedFileLeavesNothing: a file refused after some batches were staged leaves no import
// and no staged rows behind, and a staged import whose rows are still read cannot start.
func TestRefusedFileLeavesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f := newFixture(t, st, 100)
		ctx := context.Background()
		content := append(rowsFile(250), "bad\xff@example.com,Bad,Byte\n"...)
		path := filepath.Join(t.TempDir(), "broken.csv")
		must(t, os.WriteFile(path, content, 0o600))
		file, err := os.Open(path)
		must(t, err)
		defer file.Close()
		_, err = f.svc.Stage(ctx, f.admin, imports.Upload{Name: "broken.csv", File: file, Size: int64(len(content))})
		if err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Fatalf("a file with bad UTF-8 on line 252: %v", err)
		}
		list, _, err := f.svc.List(ctx, f.admin, imports.Filter{})
		must(t, err)
		var left int
		must(t, st.DB().QueryRowContext(ctx, `SELECT count(*) FROM import_rows`).Scan(&left))
		if len(list) != 0 || left != 0 {
			t.Fatalf("a refused file left %d imports and %d rows", len(list), left)
		}
	})
}

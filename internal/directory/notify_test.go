package directory_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// mailOf waits for the message of kind the outbox sent to the mail drop last and returns its
// text; kinds counts the outbox's entries of each kind, and to their recipients.
func (f *syncFixture) mailOf(kind string) string {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(f.app.Config.DataDir, "mail", "*-"+kind+"-*.eml"))
		if len(files) > 0 {
			b, err := os.ReadFile(files[len(files)-1])
			must(f.t, err)
			return strings.ReplaceAll(string(b), "=\r\n", "")
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no %s message in the mail drop", kind)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *syncFixture) outbox(kind string) []mail.Entry {
	f.t.Helper()
	es, _, err := f.st.Outbox(context.Background(), mail.Filter{Kind: kind, Limit: 100})
	must(f.t, err)
	return es
}

// TestSyncEmails: the administrators who manage directories hear of a sync held for a
// confirmation (with the plan's counts and a link to the directory), of a failed sync (with
// the reason), and of a completed one only when the directory asks for a summary; each
// message goes through the outbox.
func TestSyncEmails(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "mail-" + string(st.Dialect)
		l.AddUser(t, dirtest.UserSpec{UID: "mailed-" + string(st.Dialect), GivenName: "Mae", SN: "Ling",
			Mail: "mae." + string(st.Dialect) + "@example.com", OU: ou})
		in := settings(l, "Mailed "+string(st.Dialect))
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		in.Filter = ptr("(&(objectClass=inetOrgPerson)(uid=nobody-at-all))")
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)

		// Held: it saw nobody.
		if r := f.sync(d.ID); r.Status != directory.RunHeld {
			t.Fatalf("a sync that saw nobody: %s", r.Status)
		}
		held := f.outbox(mail.KindDirectorySyncHeld)
		if len(held) != 1 || held[0].To != "admin@example.org" || !strings.Contains(held[0].Subject, d.Name) {
			t.Fatalf("held messages %+v", held)
		}
		text := f.mailOf(mail.KindDirectorySyncHeld)
		for _, want := range []string{"stopped", "before changing anything", "It read 0 entries", "/directories/" + d.ID, "confirm"} {
			if !strings.Contains(text, want) {
				t.Errorf("the held message lacks %q:\n%s", want, text)
			}
		}
		if n := len(f.outbox(mail.KindDirectorySyncSummary)); n != 0 {
			t.Fatalf("%d summaries without asking", n)
		}

		// Completed, without summaries: no message; with them: one.
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Filter: ptr("(objectClass=inetOrgPerson)")})
		must(t, err)
		if r := f.sync(d.ID); r.Status != directory.RunCompleted {
			t.Fatalf("sync %s %s", r.Status, r.Reason)
		}
		if n := len(f.outbox(mail.KindDirectorySyncSummary)); n != 0 {
			t.Fatalf("%d summaries without asking", n)
		}
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{EmailSummary: ptr(true)})
		must(t, err)
		if r := f.sync(d.ID); r.Status != directory.RunCompleted {
			t.Fatalf("sync %s %s", r.Status, r.Reason)
		}
		if n := len(f.outbox(mail.KindDirectorySyncSummary)); n != 1 {
			t.Fatalf("%d summaries, want 1", n)
		}
		if text := f.mailOf(mail.KindDirectorySyncSummary); !strings.Contains(text, "completed") || !strings.Contains(text, "It read 1 entry") {
			t.Errorf("the summary:\n%s", text)
		}

		// Failed: the person who started it no longer exists.
		gone := user.Actor{ID: "01a00000-0000-7000-8000-000000000000", Name: "gone", Permissions: user.AllPermissions()}
		run, _, err := f.app.Directories.Sync(ctx, gone, d.ID, directory.SyncOptions{})
		must(t, err)
		if r := f.wait(d.ID, run.ID); r.Status != directory.RunFailed {
			t.Fatalf("a sync by no one: %s", r.Status)
		}
		failed := f.outbox(mail.KindDirectorySyncFailed)
		if len(failed) != 1 || failed[0].To != "admin@example.org" {
			t.Fatalf("failure messages %+v", failed)
		}
		if text := f.mailOf(mail.KindDirectorySyncFailed); !strings.Contains(text, "no longer exists") || !strings.Contains(text, "started by gone") {
			t.Errorf("the failure message:\n%s", text)
		}
	})
}

// TestSyncEmailsSkipAnAddressTheOutboxRefuses: an administrator whose email address the
// outbox refuses gets no message, and neither the end of the sync nor the other
// administrators' messages are undone with it.
func TestSyncEmailsSkipAnAddressTheOutboxRefuses(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		role, err := f.app.Users.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Directory admins " + dia),
			Permissions: &[]user.Permission{user.DirectoryManage}})
		must(t, err)
		var ids []string
		for _, name := range []string{"bad", "good"} {
			u, err := f.app.Users.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{Username: ptr(name + "-" + dia),
				Email: ptr(name + "-" + dia + "@example.com"), FirstName: ptr(name), LastName: ptr("Admin")}, Password: ptr("correct horse battery " + name), RoleIDs: []string{role.ID}})
			must(t, err)
			ids = append(ids, u.ID)
		}
		// An address saved before usher checked them as it does now.
		if _, err := st.DB().ExecContext(ctx, `UPDATE users SET email = $1 WHERE id = $2`, "bad address "+dia, ids[0]); err != nil {
			t.Fatal(err)
		}
		d, err := f.app.Directories.Create(ctx, f.admin, settings(l, "Refused "+dia))
		must(t, err)
		gone := user.Actor{ID: "01a00000-0000-7000-8000-000000000000", Name: "gone", Permissions: user.AllPermissions()}
		run, _, err := f.app.Directories.Sync(ctx, gone, d.ID, directory.SyncOptions{})
		must(t, err)
		if r := f.wait(d.ID, run.ID); r.Status != directory.RunFailed || !strings.Contains(r.Reason, "no longer exists") {
			t.Fatalf("the sync: %s %q", r.Status, r.Reason)
		}
		var to []string
		for _, e := range f.outbox(mail.KindDirectorySyncFailed) {
			to = append(to, e.To)
		}
		slices.Sort(to)
		if want := []string{"admin@example.org", "good-" + dia + "@example.com"}; !slices.Equal(to, want) {
			t.Fatalf("failure messages to %v, want %v", to, want)
		}
	})
}

// TestSyncEndsOnce: a sync that a later one already ended (taken for one whose process died)
// is not ended again when its worker finishes: no second audit event, no message.
func TestSyncEndsOnce(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		d, err := f.app.Directories.Create(ctx, f.admin, settings(l, "Once "+string(st.Dialect)))
		must(t, err)
		hourAgo := time.Now().UTC().Add(-time.Hour)
		run := &directory.Run{ID: "01a00000-0000-7000-8000-000000000001",
			DirectoryID: d.ID, Status: directory.RunQueued, ActorID: f.admin.ID, ActorName: "admin", ActorPermissions: f.admin.Permissions, CreatedAt: hourAgo}
		must(t, st.InsertRun(ctx, run))
		must(t, st.StartRun(ctx, run.ID, hourAgo))
		must(t, st.FailStaleRuns(ctx, d.ID, time.Now().UTC().Add(-time.Minute), time.Now().UTC(), "Replaced."))
		must(t, f.app.Directories.FinishRunForTest(ctx, run, directory.RunFailed, "The sync stopped after repeated errors."))
		r, err := f.app.Directories.GetRun(ctx, f.admin, d.ID, run.ID)
		must(t, err)
		if r.Status != directory.RunFailed || r.Reason != "Replaced." {
			t.Fatalf("the sync ended twice: %s %q", r.Status, r.Reason)
		}
		events, _, err := st.AuditEvents(ctx, audit.Filter{TargetType: "directory", TargetID: d.ID, Limit: 100})
		must(t, err)
		for _, e := range events {
			if e.Action == "directory.sync" {
				t.Fatalf("an audit event for a sync already ended: %+v", e)
			}
		}
		if n := len(f.outbox(mail.KindDirectorySyncFailed)); n != 0 {
			t.Fatalf("%d messages for a sync already ended", n)
		}
	})
}

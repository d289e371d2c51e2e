package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/user"
)

// directoryForm is the edit form of d as the console shows it, to post back with changes.
func directoryForm(d *directory.Directory) url.Values {
	m := d.Mapping
	return url.Values{"version": {strconv.FormatInt(d.Version, 10)}, "name": {d.Name}, "host": {d.Host},
		"port": {strconv.Itoa(d.Port)}, "security": {string(d.Security)}, "ca_cert": {d.CACert}, "base_dn": {d.BaseDN},
		"bind_dn": {d.BindDN}, "scope": {string(d.Scope)}, "ous": {strings.Join(d.OUs, "\n")}, "filter": {d.Filter},
		"disabled_attribute": {d.DisabledAttribute}, "disabled_value": {d.DisabledValue}, "leavers": {string(d.Leavers)},
		"threshold": {strconv.Itoa(d.Threshold)}, "mapping.username": {m.Username}, "mapping.email": {m.Email},
		"mapping.first_name": {m.FirstName}, "mapping.last_name": {m.LastName}, "mapping.phone": {m.Phone},
		"mapping.department": {m.Department}, "mapping.manager": {m.Manager}, "mapping.primary": {m.Primary},
		"schedule.frequency": {"daily"}, "schedule.start_time": {"12:00"}, "schedule.time_zone": {"UTC"}, "action": {"save"}}
}

// TestDirectoryScheduleAndReset: the console's schedule section refuses a start in the past on
// its field and saves a weekly schedule, which the page shows as the next sync in its time zone;
// auto-sync off clears it; a reset asks first, saying what happens to the users, then keeps
// them as local users.
func TestDirectoryScheduleAndReset(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := user.System("test")
		ou := "reset-" + string(e.app.Store.Dialect)
		l.AddUser(t, dirtest.UserSpec{UID: "rita-" + string(e.app.Store.Dialect), GivenName: "Rita", SN: "Reset",
			Mail: "rita-" + string(e.app.Store.Dialect) + "@example.com", OU: ou})
		kind, sec, scope := directory.OpenLDAP, directory.LDAPS, directory.ScopeSelected
		p := func(s string) *string { return &s }
		d, err := e.app.Directories.Create(ctx, sys, directory.Input{Name: p("Branch"), Kind: &kind, Host: &l.Host, Port: &l.TLSPort,
			Security: &sec, CACert: p(string(l.CAPEM)), BaseDN: &l.BaseDN, BindDN: &l.BindDN, Password: &l.BindPassword,
			Scope: &scope, OUs: &[]string{"ou=" + ou + "," + l.BaseDN}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.signIn("admin@example.org")
		b.get("/directories/"+d.ID+"?edit=1").want(http.StatusOK).has("5. Schedule", "Sync automatically on this schedule",
			"Email a summary after each sync")
		b.get("/directories/"+d.ID).want(http.StatusOK).has("Sync status", "Last sync Never", "No schedule")

		form := directoryForm(d)
		form.Set("schedule.enabled", "on")
		form.Set("schedule.frequency", "weekly")
		form.Set("schedule.weekday", "tuesday")
		form.Set("schedule.start_date", "2021-03-02")
		form.Set("schedule.time_zone", "Europe/Paris")
		b.post("/directories/"+d.ID, form).want(http.StatusUnprocessableEntity).has("must be in the future")
		form.Set("schedule.time_zone", "Europe/Pariss")
		form.Set("schedule.start_date", time.Now().AddDate(0, 0, 10).Format("2006-01-02"))
		b.post("/directories/"+d.ID, form).want(http.StatusUnprocessableEntity).has(`"Europe/Pariss" is not a time zone usher knows`)
		form.Set("schedule.time_zone", "Europe/Paris")
		form.Set("schedule.start_time", "06:30")
		form.Set("email_summary", "on")
		b.follow(b.post("/directories/"+d.ID, form)).want(http.StatusOK).has("are saved", "Next sync Tuesday", "06:30 Europe/Paris", "Every Tuesday at 06:30")
		d, err = e.app.Directories.Directory(ctx, sys, d.ID)
		if err != nil || d.NextSyncAt == nil || !d.EmailSummary || d.Schedule.Weekday != "tuesday" {
			t.Fatalf("after saving the schedule: %v %+v", err, d)
		}
		form = directoryForm(d)
		form.Set("schedule.frequency", "weekly")
		form.Set("schedule.weekday", "tuesday")
		form.Set("schedule.start_date", d.Schedule.StartDate)
		form.Set("schedule.start_time", "06:30")
		form.Set("schedule.time_zone", "Europe/Paris") // auto-sync unticked
		b.follow(b.post("/directories/"+d.ID, form)).want(http.StatusOK).has("Next sync Auto-sync is off")

		// Reset: a confirmation first that says what happens to the users.
		run, _, err := e.app.Directories.Sync(ctx, sys, d.ID, directory.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.Background.Jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e.app.Background.Jobs.Stop(ctx)
		})
		for i := 0; ; i++ {
			r, err := e.app.Directories.GetRun(ctx, sys, d.ID, run.ID)
			if err != nil || r.Status.Final() {
				break
			} else if i > 500 {
				t.Fatalf("the sync is still %s", r.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		pg := b.get("/directories/"+d.ID+"?reset=1").want(http.StatusOK).has("Reset Branch?", "Its 1 user stays in usher, as a local user",
			"send them a password reset", "Reset directory and keep 1 user")
		d, _ = e.app.Directories.Directory(ctx, sys, d.ID)
		if !strings.Contains(pg.body, `name="version" value="`+strconv.FormatInt(d.Version, 10)+`"`) {
			t.Fatalf("the reset form lacks the version:\n%s", pg.body)
		}
		b.follow(b.post("/directories/"+d.ID+"/reset", url.Values{"version": {strconv.FormatInt(d.Version, 10)}})).want(http.StatusOK).
			has("The directory is reset", "Its user stays, as a local user")
		u, err := e.app.Users.UserByLogin(ctx, sys, "rita-"+string(e.app.Store.Dialect)+"@example.com")
		if err != nil || u.Source != user.Local || u.DirectoryID != "" {
			t.Fatalf("the kept user: %v %+v", err, u)
		}
	})
}

// TestDirectorySkippedRunHidesNoSync: an occurrence of the schedule skipped because a sync was
// running is recorded after that sync started, yet the directory's page still shows the
// running sync's progress, and the list of directories shows it as the last sync.
func TestDirectorySkippedRunHidesNoSync(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := user.System("test")
		kind, sec := directory.OpenLDAP, directory.LDAPS
		p := func(s string) *string { return &s }
		d, err := e.app.Directories.Create(ctx, sys, directory.Input{Name: p("Skipper"), Kind: &kind, Host: &l.Host, Port: &l.TLSPort,
			Security: &sec, CACert: p(string(l.CAPEM)), BaseDN: &l.BaseDN, BindDN: &l.BindDN, Password: &l.BindPassword})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		running := &directory.Run{ID: uuid.Must(uuid.NewV7()).String(), DirectoryID: d.ID, Status: directory.RunQueued,
			ActorName: "Ann Lee", CreatedAt: now.Add(-time.Minute)}
		skipped := &directory.Run{ID: uuid.Must(uuid.NewV7()).String(), DirectoryID: d.ID, Status: directory.RunSkipped,
			ActorName: directory.ScheduleActor, CreatedAt: now}
		for _, step := range []error{
			e.app.Store.InsertRun(ctx, running),
			e.app.Store.StartRun(ctx, running.ID, now.Add(-time.Minute)),
			e.app.Store.RecordPlan(ctx, running.ID, &directory.Plan{Counts: directory.Counts{Seen: 40, Created: 40}}),
			e.app.Store.RecordRun(ctx, running.ID, directory.Counts{Seen: 40, Created: 10}, nil),
			e.app.Store.InsertRun(ctx, skipped),
		} {
			if step != nil {
				t.Fatal(step)
			}
		}
		if _, err := e.app.Store.FinishRun(ctx, skipped.ID, directory.RunSkipped, directory.RunSkipped, now, "Skipped: a sync was still running."); err != nil {
			t.Fatal(err)
		}
		b := e.signIn("admin@example.org")
		b.get("/directories/"+d.ID).want(http.StatusOK).has("Syncing", "10 of 40 changes made")
		b.get("/directories").want(http.StatusOK).has("Skipper", "Syncing") // before: "Skipped", the occurrence
	})
}

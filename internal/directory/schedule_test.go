package directory_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/secret"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestScheduledSync: a schedule saved with a directory sets its next sync (in its time zone);
// two schedulers that find it due at once start one sync, as "schedule", and move the next
// sync on by a day; an occurrence that finds a sync still queued starts none and is recorded
// as skipped; turning auto-sync off clears the next sync.
func TestScheduledSync(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		ou := "sched-" + string(st.Dialect)
		l.AddUser(t, dirtest.UserSpec{UID: "sched-" + string(st.Dialect), GivenName: "Sam", SN: "Cron",
			Mail: "sam." + string(st.Dialect) + "@example.com", OU: ou})
		paris, err := time.LoadLocation("Europe/Paris")
		must(t, err)
		tomorrow := time.Now().In(paris).AddDate(0, 0, 1)

		in := settings(l, "Scheduled "+string(st.Dialect))
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		in.Schedule = &directory.Schedule{Enabled: true, Frequency: directory.Daily, StartDate: tomorrow.AddDate(0, 0, -2).Format("2006-01-02"),
			StartTime: "03:00", TimeZone: "Europe/Paris"}
		if _, err := f.app.Directories.Create(ctx, f.admin, in); err == nil {
			t.Fatal("a schedule that starts in the past was saved")
		} else if field, code := fieldCode(err); field != "schedule.start_date" || code != "directory.start_in_past" {
			t.Fatalf("a start in the past: %s %s (%v)", field, code, err)
		}
		in.Schedule.StartDate = tomorrow.Format("2006-01-02")
		d, err := f.app.Directories.Create(ctx, f.admin, in)
		must(t, err)
		first := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 3, 0, 0, 0, paris)
		if d.NextSyncAt == nil || !d.NextSyncAt.Equal(first) {
			t.Fatalf("next sync %v, want %s", d.NextSyncAt, first)
		}

		// Two replicas' schedulers, a minute after the occurrence.
		clock := first.Add(time.Minute)
		scheduler := func() *directory.Service {
			key, err := secret.GenerateKey()
			must(t, err)
			box, err := secret.NewBox(key)
			must(t, err)
			svc, err := directory.NewService(st, box, f.app.Users, f.app.Background.Jobs, discardNotices{},
				directory.Options{Now: func() time.Time { return clock }})
			must(t, err)
			return svc
		}
		replicas := []*directory.Service{scheduler(), scheduler(), scheduler()}
		var wg sync.WaitGroup
		started := make([]int, len(replicas))
		for i, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := r.StartDue(ctx)
				if err != nil {
					t.Errorf("scheduler %d: %v", i, err)
				}
				started[i] = n
			}()
		}
		wg.Wait()
		if started[0]+started[1]+started[2] != 1 {
			t.Fatalf("the schedulers started %v syncs, want one in all", started)
		}
		runs, err := f.app.Directories.Runs(ctx, f.admin, d.ID, 10)
		must(t, err)
		if len(runs) != 1 || runs[0].ActorName != directory.ScheduleActor {
			t.Fatalf("runs %+v, want one started by the schedule", runs)
		}
		run := f.wait(d.ID, runs[0].ID)
		if run.Status != directory.RunCompleted || run.Done.Created != 1 {
			t.Fatalf("the scheduled sync %s (%s), created %d", run.Status, run.Reason, run.Done.Created)
		}
		d, err = f.app.Directories.Directory(ctx, f.admin, d.ID)
		must(t, err)
		if second := first.AddDate(0, 0, 1); d.NextSyncAt == nil || !d.NextSyncAt.Equal(second) {
			t.Fatalf("next sync after the first %v, want %s", d.NextSyncAt, second)
		}
		// Nothing is due any more at that time.
		if n, err := replicas[0].StartDue(ctx); err != nil || n != 0 {
			t.Fatalf("started %d again (%v)", n, err)
		}

		// Auto-sync off: no next sync; on again: the next occurrence after now.
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Schedule: &directory.Schedule{
			Enabled: false, Frequency: directory.Daily, StartDate: in.Schedule.StartDate, StartTime: "03:00", TimeZone: "Europe/Paris"}})
		must(t, err)
		if d.NextSyncAt != nil {
			t.Fatalf("auto-sync off, next sync %s", d.NextSyncAt)
		}
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Schedule: &directory.Schedule{
			Enabled: true, Frequency: directory.Daily, StartDate: in.Schedule.StartDate, StartTime: "03:00", TimeZone: "Europe/Paris"}})
		must(t, err)
		if d.NextSyncAt == nil || !d.NextSyncAt.Equal(first) {
			t.Fatalf("auto-sync on again, next sync %v, want %s", d.NextSyncAt, first)
		}

		// A due occurrence while a sync is queued: skipped, and said so in the history. The jobs
		// stop first, so that the sync stays queued; the occurrence is minutes away, so that
		// the queued sync is not yet taken for one whose process died.
		soon := time.Now().In(paris).Add(2 * time.Minute).Truncate(time.Minute)
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Schedule: &directory.Schedule{
			Enabled: true, Frequency: directory.EveryNDays, Every: 2, StartDate: soon.Format("2006-01-02"), StartTime: soon.Format("15:04"),
			TimeZone: "Europe/Paris"}})
		must(t, err)
		if d.NextSyncAt == nil || !d.NextSyncAt.Equal(soon) {
			t.Fatalf("next sync %v, want %s", d.NextSyncAt, soon)
		}
		clock = soon.Add(time.Second)
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		must(t, f.app.Background.Jobs.Stop(stop))
		manual, _, err := f.app.Directories.Sync(ctx, f.admin, d.ID, directory.SyncOptions{})
		must(t, err)
		if n, err := replicas[1].StartDue(ctx); err != nil || n != 0 {
			t.Fatalf("started %d beside a queued sync (%v)", n, err)
		}
		runs, err = f.app.Directories.Runs(ctx, f.admin, d.ID, 10)
		must(t, err)
		var skipped []directory.Run
		for _, r := range runs {
			if r.Status == directory.RunSkipped {
				skipped = append(skipped, r)
			}
		}
		if len(runs) != 3 || len(skipped) != 1 || skipped[0].ActorName != directory.ScheduleActor ||
			!strings.Contains(skipped[0].Reason, "still queued") {
			t.Fatalf("after an occurrence beside a queued sync: %d runs, skipped %+v", len(runs), skipped)
		}
		if r, err := f.app.Directories.GetRun(ctx, f.admin, d.ID, manual.ID); err != nil || r.Status != directory.RunQueued {
			t.Fatalf("the queued sync: %v %v", r, err)
		}
		if d, err = f.app.Directories.Directory(ctx, f.admin, d.ID); err != nil || d.NextSyncAt == nil || !d.NextSyncAt.Equal(soon.AddDate(0, 0, 2)) {
			t.Fatalf("after a skipped occurrence the next is %v (%v), want %s", d.NextSyncAt, err, soon.AddDate(0, 0, 2))
		}
	})
}

// clockScheduler is a directory service of its own whose clock reads *clock: a replica's
// scheduler, at a time the test chooses.
func (f *syncFixture) clockScheduler(clock *time.Time) *directory.Service {
	f.t.Helper()
	key, err := secret.GenerateKey()
	must(f.t, err)
	box, err := secret.NewBox(key)
	must(f.t, err)
	svc, err := directory.NewService(f.st, box, f.app.Users, f.app.Background.Jobs, discardNotices{},
		directory.Options{Now: func() time.Time { return *clock }})
	must(f.t, err)
	return svc
}

// scheduledRun starts the occurrence due at *clock and waits for its sync to end.
func (f *syncFixture) scheduledRun(sched *directory.Service, dirID string) *directory.Run {
	f.t.Helper()
	if n, err := sched.StartDue(context.Background()); err != nil || n != 1 {
		f.t.Fatalf("the scheduler started %d syncs (%v), want 1", n, err)
	}
	runs, err := f.app.Directories.Runs(context.Background(), f.admin, dirID, 1)
	must(f.t, err)
	return f.wait(dirID, runs[0].ID)
}

// TestScheduledSyncActsAsItsSaver: a scheduled sync acts with the permissions the schedule
// was saved with (an API token's scopes, not all its owner holds), cut to what its saver
// holds when it runs; saving the schedule again, unchanged, makes it the new saver's, and a
// sync whose saver lost the right to manage directories fails naming them.
func TestScheduledSyncActsAsItsSaver(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newSyncFixture(t, st, l)
		ctx := context.Background()
		dia := string(st.Dialect)
		ou := "saver-" + dia
		l.AddUser(t, dirtest.UserSpec{UID: "saved-" + dia, GivenName: "Sol", SN: "Saver", Mail: "sol." + dia + "@example.com", OU: ou})
		paris, err := time.LoadLocation("Europe/Paris")
		must(t, err)
		tomorrow := time.Now().In(paris).AddDate(0, 0, 1)
		schedule := directory.Schedule{Enabled: true, Frequency: directory.Daily, StartDate: tomorrow.Format("2006-01-02"),
			StartTime: "03:00", TimeZone: "Europe/Paris"}
		first := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 3, 0, 0, 0, paris)
		clock := first.Add(time.Minute)
		sched := f.clockScheduler(&clock)

		// Saved through a token that may manage directories and read users, not create them.
		token := f.admin
		token.Permissions = user.NewPermissions(user.DirectoryManage, user.UsersRead)
		in := settings(l, "Saver "+dia)
		in.Scope, in.OUs = ptr(directory.ScopeSelected), &[]string{"ou=" + ou + "," + l.BaseDN}
		sc := schedule
		in.Schedule = &sc
		d, err := f.app.Directories.Create(ctx, token, in)
		must(t, err)
		run := f.scheduledRun(sched, d.ID)
		if !slices.Equal(run.ActorPermissions, token.Permissions) || run.Done.Created != 0 {
			t.Fatalf("the sync of a schedule saved through a token acts with %v and created %d, want %v and none",
				run.ActorPermissions, run.Done.Created, token.Permissions)
		}

		// Ann, who may manage directories, saves the same schedule again: it is hers.
		role, err := f.app.Users.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Schedulers " + dia), Permissions: &[]user.Permission{
			user.UsersRead, user.UsersWrite, user.UsersLock, user.DirectoryManage}})
		must(t, err)
		ann, err := f.app.Users.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{Username: ptr("ann-" + dia),
			Email: ptr("ann-" + dia + "@example.com"), FirstName: ptr("Ann"), LastName: ptr("Lee")}, Password: ptr("correct horse battery ann"), RoleIDs: []string{role.ID}})
		must(t, err)
		annActor := user.Actor{ID: ann.ID, Name: "Ann Lee", Permissions: role.Permissions}
		sc = schedule
		d, err = f.app.Directories.Update(ctx, annActor, d.ID, d.Version, directory.Input{Schedule: &sc})
		must(t, err)
		if d.Schedule.SavedBy == nil || d.Schedule.SavedBy.ID != ann.ID || d.Schedule.SetBy != ann.ID {
			t.Fatalf("Ann saved the schedule again: saved by %+v (%s)", d.Schedule.SavedBy, d.Schedule.SetBy)
		}

		// Ann loses the right: the next scheduled sync fails and names her.
		_, err = f.app.Users.UpdateRole(ctx, f.admin, role.ID, user.AnyVersion, user.RoleInput{Permissions: &[]user.Permission{user.UsersRead}})
		must(t, err)
		clock = first.AddDate(0, 0, 1).Add(time.Minute)
		run = f.scheduledRun(sched, d.ID)
		want := "The schedule was saved by Ann Lee, who can no longer manage directories: save the schedule again as an administrator who can."
		if run.Status != directory.RunFailed || run.Reason != want {
			t.Fatalf("the sync of a schedule whose saver lost the right: %s %q", run.Status, run.Reason)
		}

		// The administrator saves it again, unchanged: the next sync is theirs, and creates.
		sc = schedule
		d, err = f.app.Directories.Update(ctx, f.admin, d.ID, d.Version, directory.Input{Schedule: &sc})
		must(t, err)
		clock = first.AddDate(0, 0, 2).Add(time.Minute)
		if run = f.scheduledRun(sched, d.ID); run.Status != directory.RunCompleted || run.Done.Created != 1 {
			t.Fatalf("the sync after the administrator saved the schedule: %s %q, created %d", run.Status, run.Reason, run.Done.Created)
		}
	})
}

package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/user"
)

// directoryServer is the env's slapd subtree, started on first use.
func (e *env) directoryServer() *dirtest.LDAP {
	if e.ldap == nil {
		e.ldap = dirtest.OpenLDAP(e.t)
	}
	return e.ldap
}

// directorySettings is the body of a directory on the env's slapd over LDAPS; without a name,
// the connection settings alone.
func (e *env) directorySettings(name string) map[string]any {
	l := e.directoryServer()
	b := map[string]any{"kind": "ldap", "host": l.Host, "port": l.TLSPort, "security": "ldaps", "ca_cert": string(l.CAPEM),
		"base_dn": l.BaseDN, "bind_dn": l.BindDN, "bind_password": l.BindPassword}
	if name != "" {
		b["name"] = name
	}
	return b
}

// savedDirectory saves a directory as the Administrator and returns its id.
func (e *env) savedDirectory() string {
	e.t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	e.admin.do("POST", "/api/v1/directories", e.directorySettings(unique("dir"))).want(http.StatusCreated).into(&d)
	return d.ID
}

// heldRun saves a directory with a sync the safety rules held, and returns both ids.
func (e *env) heldRun() (dir, run string) {
	e.t.Helper()
	ctx := context.Background()
	dir = e.savedDirectory()
	r := &directory.Run{ID: unique("run"), DirectoryID: dir, Status: directory.RunQueued, Full: true, ActorName: "admin",
		ActorPermissions: user.AllPermissions(), CreatedAt: time.Now().UTC()}
	must(e.t, e.app.Store.InsertRun(ctx, r))
	must(e.t, e.app.Store.StartRun(ctx, r.ID, time.Now().UTC()))
	must(e.t, e.app.Store.HoldRun(ctx, r.ID, &directory.Plan{Counts: directory.Counts{Seen: 0}, Version: 1, Full: true}, "The directory returned no users.", time.Now().UTC()))
	return dir, r.ID
}

// TestDirectories: a directory over HTTP: saved once its test passes, never showing its
// password, updated with If-Match, its test and OU browse; a connection that fails says why.
func TestDirectories(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		l := e.directoryServer()
		body := e.directorySettings("Head office")
		body["filter"] = "(&(objectClass=inetOrgPerson)(!(departmentNumber=Contractors)))"
		res := e.admin.do("POST", "/api/v1/directories", body).want(http.StatusCreated)
		if strings.Contains(string(res.body), l.BindPassword) || strings.Contains(string(res.body), "bind_password") {
			t.Fatalf("the answer shows the password: %s", res.body)
		}
		var d struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
			Mapping struct {
				Username string `json:"username"`
				Primary  string `json:"primary"`
			} `json:"mapping"`
			Filter string `json:"filter"`
		}
		res.into(&d)
		if d.Mapping.Username != "uid" || d.Mapping.Primary != "entryUUID" || d.Filter != body["filter"] {
			t.Fatalf("created %s", res.body)
		}
		list := e.admin.do("GET", "/api/v1/directories", nil).want(http.StatusOK)
		if !strings.Contains(string(list.body), `"Head office"`) || strings.Contains(string(list.body), l.BindPassword) {
			t.Fatalf("list %s", list.body)
		}

		// Without If-Match, with a stale one, and with a filter that does not parse.
		e.admin.do("PATCH", "/api/v1/directories/"+d.ID, map[string]any{"threshold": 20}).want(http.StatusPreconditionRequired)
		e.admin.do("PATCH", "/api/v1/directories/"+d.ID, map[string]any{"threshold": 20}, "If-Match", `"9"`).want(http.StatusPreconditionFailed)
		bad := e.admin.do("PATCH", "/api/v1/directories/"+d.ID, map[string]any{"filter": "(uid=ada"}, "If-Match", `"1"`).want(http.StatusUnprocessableEntity)
		if !strings.Contains(string(bad.body), "directory.filter_invalid") || !strings.Contains(string(bad.body), `"filter"`) {
			t.Fatalf("bad filter: %s", bad.body)
		}
		moved := e.admin.do("PATCH", "/api/v1/directories/"+d.ID, map[string]any{"port": l.Port, "security": "starttls"}, "If-Match", `"1"`).want(http.StatusUnprocessableEntity)
		if !strings.Contains(string(moved.body), "directory.password_again") {
			t.Fatalf("moved without the password: %s", moved.body)
		}
		e.admin.do("PATCH", "/api/v1/directories/"+d.ID, map[string]any{"threshold": 20}, "If-Match", `"1"`).want(http.StatusOK)

		var test struct {
			OK    bool `json:"ok"`
			Steps []struct {
				Step string `json:"step"`
				OK   bool   `json:"ok"`
			} `json:"steps"`
		}
		e.admin.do("POST", "/api/v1/directories/"+d.ID+"/test", nil).want(http.StatusOK).into(&test)
		if !test.OK || len(test.Steps) != 3 {
			t.Fatalf("test %+v", test)
		}
		wrong := e.directorySettings("")
		wrong["bind_password"] = "wrong"
		var failed struct {
			OK    bool `json:"ok"`
			Steps []struct {
				Step, Code, Field, Message string
			} `json:"steps"`
		}
		e.admin.do("POST", "/api/v1/directories/test", wrong).want(http.StatusOK).into(&failed)
		last := failed.Steps[len(failed.Steps)-1]
		if failed.OK || last.Step != "bind" || last.Code != "directory.bad_credentials" || last.Field != "bind_password" {
			t.Fatalf("a wrong password: %+v", failed)
		}
		refused := e.admin.do("POST", "/api/v1/directories", func() map[string]any { w := e.directorySettings("Other"); w["bind_password"] = "wrong"; return w }()).want(http.StatusUnprocessableEntity)
		if !strings.Contains(string(refused.body), "directory.test_failed") {
			t.Fatalf("saved with a wrong password: %s", refused.body)
		}

		var ous struct {
			OUs []struct {
				Name string `json:"name"`
			} `json:"ous"`
		}
		e.admin.do("GET", "/api/v1/directories/"+d.ID+"/ous", nil).want(http.StatusOK).into(&ous)
		if len(ous.OUs) != 2 || ous.OUs[0].Name != "groups" {
			t.Fatalf("ous %+v", ous)
		}
		e.viewer.do("GET", "/api/v1/directories", nil).want(http.StatusForbidden)
		e.admin.do("DELETE", "/api/v1/directories/"+d.ID, nil, "If-Match", `"2"`).want(http.StatusNoContent)
		e.admin.do("GET", "/api/v1/directories/"+d.ID, nil).want(http.StatusNotFound)
	})
}

// TestDirectorySync: over HTTP, a dry run answers with the plan, Sync now runs in the
// background and its progress and result are read from the directory's runs; a second sync
// while one is queued is refused; a directory whose server is down answers 502 with the reason.
func TestDirectorySync(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		l := e.directoryServer()
		e.startJobs()
		for _, uid := range []string{"ann", "ben"} {
			l.AddUser(t, dirtest.UserSpec{UID: uid + "-" + unique("u"), GivenName: "Test", SN: uid, Mail: unique(uid) + "@example.com"})
		}
		id := e.savedDirectory()
		var dry struct {
			Plan struct {
				Counts  struct{ Seen, Created int64 } `json:"counts"`
				Changes []struct{ Kind string }       `json:"changes"`
			} `json:"plan"`
			Run *struct{} `json:"run"`
		}
		e.admin.do("POST", "/api/v1/directories/"+id+"/sync", map[string]any{"dry_run": true}).want(http.StatusOK).into(&dry)
		if dry.Run != nil || dry.Plan.Counts.Seen != 2 || dry.Plan.Counts.Created != 2 || len(dry.Plan.Changes) != 2 {
			t.Fatalf("dry run %+v", dry)
		}
		var started struct {
			Run struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"run"`
		}
		e.admin.do("POST", "/api/v1/directories/"+id+"/sync", map[string]any{}).want(http.StatusOK).into(&started)
		if started.Run.ID == "" || started.Run.Status != "queued" {
			t.Fatalf("started %+v", started)
		}
		var run struct {
			Status string                                `json:"status"`
			Counts struct{ Seen, Created, Failed int64 } `json:"counts"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for run.Status != "completed" && run.Status != "failed" {
			if time.Now().After(deadline) {
				t.Fatalf("the sync is still %s", run.Status)
			}
			time.Sleep(20 * time.Millisecond)
			e.admin.do("GET", "/api/v1/directories/"+id+"/runs/"+started.Run.ID, nil).want(http.StatusOK).into(&run)
		}
		if run.Status != "completed" || run.Counts.Seen != 2 || run.Counts.Created != 2 {
			t.Fatalf("run %+v", run)
		}
		list := e.admin.do("GET", "/api/v1/users?source=directory", nil).want(http.StatusOK)
		if n := strings.Count(string(list.body), `"source":"directory"`); n != 2 {
			t.Fatalf("%d directory users: %s", n, list.body)
		}
		var runs struct {
			Runs []struct{ ID string } `json:"runs"`
		}
		e.admin.do("GET", "/api/v1/directories/"+id+"/runs", nil).want(http.StatusOK).into(&runs)
		if len(runs.Runs) != 1 || runs.Runs[0].ID != started.Run.ID {
			t.Fatalf("runs %+v", runs)
		}

		// The server down: the directory's host and port point at nothing.
		down := e.savedDirectory()
		must(t, e.app.Store.InTx(context.Background(), func(ctx context.Context) error {
			d, err := e.app.Store.LockDirectory(ctx, down)
			if err != nil {
				return err
			}
			d.Port = 1
			return e.app.Store.UpdateDirectory(ctx, d)
		}))
		res := e.admin.do("GET", "/api/v1/directories/"+down+"/ous", nil).want(http.StatusBadGateway)
		if !strings.Contains(string(res.body), "directory.unreachable") {
			t.Fatalf("OUs of a server that is down: %s", res.body)
		}
		e.admin.do("POST", "/api/v1/directories/"+down+"/sync", map[string]any{"dry_run": true}).want(http.StatusBadGateway)
	})
}

// TestDirectoryStatusScheduleReset: a directory's status after a sync (the last sync, its
// users by status, the scope); a schedule refused on its field, then saved with its next sync;
// a reset refused while a sync is queued, then done: the directory is gone and its users stay,
// local and editable.
func TestDirectoryStatusScheduleReset(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		l := e.directoryServer()
		e.startJobs()
		ou := unique("status")
		for _, uid := range []string{"cat", "dan"} {
			l.AddUser(t, dirtest.UserSpec{UID: uid + "-" + unique("u"), GivenName: "Test", SN: uid, Mail: unique(uid) + "@example.com", OU: ou})
		}
		body := e.directorySettings(unique("dir"))
		body["scope"], body["ous"] = "selected", []string{"ou=" + ou + "," + l.BaseDN}
		var d struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		}
		e.admin.do("POST", "/api/v1/directories", body).want(http.StatusCreated).into(&d)
		var started struct {
			Run struct{ ID string } `json:"run"`
		}
		e.admin.do("POST", "/api/v1/directories/"+d.ID+"/sync", map[string]any{}).want(http.StatusOK).into(&started)
		type summary struct {
			ID     string                        `json:"id"`
			Status string                        `json:"status"`
			Counts struct{ Seen, Created int64 } `json:"counts"`
		}
		var st struct {
			LastSync   *summary   `json:"last_sync"`
			Running    *summary   `json:"running"`
			NextSyncAt *time.Time `json:"next_sync_at"`
			Users      struct{ Total, Active, Disabled int64 }
			Scope      string   `json:"scope"`
			OUs        []string `json:"ous"`
			LastErrors []any    `json:"last_errors"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for st.LastSync == nil {
			if time.Now().After(deadline) {
				t.Fatal("no last sync in the status after 30 s")
			}
			time.Sleep(20 * time.Millisecond)
			st.LastSync, st.Running = nil, nil
			e.admin.do("GET", "/api/v1/directories/"+d.ID+"/status", nil).want(http.StatusOK).into(&st)
		}
		if st.LastSync.ID != started.Run.ID || st.LastSync.Status != "completed" || st.LastSync.Counts.Created != 2 ||
			st.Running != nil || st.NextSyncAt != nil || st.Users.Total != 2 || st.Users.Active != 2 ||
			st.Scope != "selected" || len(st.OUs) != 1 || st.LastErrors == nil {
			t.Fatalf("status %+v", st)
		}

		// A schedule: a start in the past is refused on its field; one in the future is saved.
		past := map[string]any{"schedule": map[string]any{"enabled": true, "frequency": "monthly", "day_of_month": 31,
			"start_date": "2020-01-01", "time_zone": "Europe/Paris"}}
		p := e.admin.do("PATCH", "/api/v1/directories/"+d.ID, past, "If-Match", etagOf(d.Version)).problem(http.StatusUnprocessableEntity, "directory.start_in_past")
		if len(p.Errors) != 1 || p.Errors[0].Field != "schedule.start_date" || p.Errors[0].Code != "directory.start_in_past" {
			t.Fatalf("a start in the past: %+v", p)
		}
		past["schedule"].(map[string]any)["start_date"] = time.Now().AddDate(0, 1, 0).Format("2006-01-02")
		var saved struct {
			Version    int64      `json:"version"`
			NextSyncAt *time.Time `json:"next_sync_at"`
			Schedule   struct {
				StartTime string `json:"start_time"`
			} `json:"schedule"`
		}
		e.admin.do("PATCH", "/api/v1/directories/"+d.ID, past, "If-Match", etagOf(d.Version)).want(http.StatusOK).into(&saved)
		if saved.NextSyncAt == nil || saved.Schedule.StartTime != "12:00" {
			t.Fatalf("saved schedule %+v", saved)
		}
		e.admin.do("GET", "/api/v1/directories/"+d.ID+"/status", nil).want(http.StatusOK).into(&st)
		if st.NextSyncAt == nil || !st.NextSyncAt.Equal(*saved.NextSyncAt) {
			t.Fatalf("status next sync %v, want %v", st.NextSyncAt, saved.NextSyncAt)
		}

		// Reset: refused while a sync is queued, with the reason.
		ctx := context.Background()
		queued := &directory.Run{ID: unique("run"), DirectoryID: d.ID, Status: directory.RunQueued, ActorName: "admin",
			ActorPermissions: user.AllPermissions(), CreatedAt: time.Now().UTC()}
		must(t, e.app.Store.InsertRun(ctx, queued))
		p = e.admin.do("POST", "/api/v1/directories/"+d.ID+"/reset", nil, "If-Match", etagOf(saved.Version)).problem(http.StatusConflict, "directory.sync_running")
		if !strings.Contains(p.Detail, "queued") {
			t.Fatalf("refusal %+v", p)
		}
		must(t, e.app.Store.FinishRun(ctx, queued.ID, directory.RunQueued, directory.RunFailed, time.Now().UTC(), "test"))
		e.admin.do("POST", "/api/v1/directories/"+d.ID+"/reset", nil).problem(http.StatusPreconditionRequired, "version.required")
		var reset struct {
			UsersKept int64 `json:"users_kept"`
		}
		e.admin.do("POST", "/api/v1/directories/"+d.ID+"/reset", nil, "If-Match", etagOf(saved.Version)).want(http.StatusOK).into(&reset)
		if reset.UsersKept != 2 {
			t.Fatalf("kept %d users", reset.UsersKept)
		}
		e.admin.do("GET", "/api/v1/directories/"+d.ID, nil).want(http.StatusNotFound)
		var list struct {
			Users []struct {
				ID      string `json:"id"`
				Source  string `json:"source"`
				Version int64  `json:"version"`
			} `json:"users"`
		}
		e.admin.do("GET", "/api/v1/users?q=Test&source=local", nil).want(http.StatusOK).into(&list)
		n := 0
		for _, u := range list.Users {
			if u.Source != "local" {
				t.Fatalf("a kept user's source is %s", u.Source)
			}
			e.admin.do("PATCH", "/api/v1/users/"+u.ID, map[string]any{"department": "Kept"}, "If-Match", etagOf(u.Version)).want(http.StatusOK)
			e.admin.do("POST", "/api/v1/users/"+u.ID+"/reset-password", nil).want(http.StatusNoContent)
			n++
		}
		if n < 2 {
			t.Fatalf("%d kept users found as local: %+v", n, list)
		}
	})
}

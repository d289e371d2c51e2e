package api_test

import (
	"context"
	"fmt"
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

// TestDirectoryGroups: over HTTP, a directory's group mapping is saved with its fields (an
// invalid filter or a DN outside the base refused, naming the field), a sync makes the groups,
// and a directory group's members and name cannot be changed through the API while its
// description and roles can.
func TestDirectoryGroups(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		l := e.directoryServer()
		e.startJobs()
		ou := unique("gou")
		ann := l.AddUser(t, dirtest.UserSpec{UID: unique("ann"), GivenName: "Ann", SN: "Grp", Mail: unique("ann") + "@example.com", OU: ou})
		l.AddUser(t, dirtest.UserSpec{UID: unique("ben"), GivenName: "Ben", SN: "Grp", Mail: unique("ben") + "@example.com", OU: ou})
		cn := unique("team")
		group := l.AddGroup(t, cn, ann)
		body := e.directorySettings(unique("dir"))
		body["scope"], body["ous"] = "selected", []string{"ou=" + ou + "," + l.BaseDN}
		for _, c := range []struct {
			groups      map[string]any
			field, code string
		}{
			{map[string]any{"enabled": true, "filter": "(cn=" + cn}, "groups.filter", "directory.filter_invalid"},
			{map[string]any{"enabled": true, "dns": []string{"cn=x,dc=elsewhere"}}, "groups.dns[0]", "directory.group_outside_base"},
			{map[string]any{"enabled": true, "dns": []string{group}, "member_attributes": []string{"mem ber"}}, "groups.member_attributes[0]", "directory.attribute_invalid"},
		} {
			body["groups"] = c.groups
			res := e.admin.do("POST", "/api/v1/directories", body).want(http.StatusUnprocessableEntity)
			if !strings.Contains(string(res.body), `"`+c.field+`"`) || !strings.Contains(string(res.body), c.code) {
				t.Fatalf("%v: %s", c.groups, res.body)
			}
		}
		body["groups"] = map[string]any{"enabled": true, "dns": []string{group}, "filter": ""}
		var d struct {
			ID     string `json:"id"`
			Groups struct {
				Enabled      bool     `json:"enabled"`
				DNs          []string `json:"dns"`
				Members      []string `json:"member_attributes"`
				Primary      string   `json:"primary"`
				ConfiguredBy string   `json:"configured_by"`
			} `json:"groups"`
		}
		e.admin.do("POST", "/api/v1/directories", body).want(http.StatusCreated).into(&d)
		if !d.Groups.Enabled || len(d.Groups.DNs) != 1 || d.Groups.Primary != "entryUUID" || len(d.Groups.Members) != 2 || d.Groups.ConfiguredBy == "" {
			t.Fatalf("the group mapping saved: %+v", d.Groups)
		}
		none := e.admin.do("PATCH", "/api/v1/directories/"+d.ID, map[string]any{"groups": map[string]any{"enabled": true}}, "If-Match", `"1"`).want(http.StatusUnprocessableEntity)
		if !strings.Contains(string(none.body), `"groups.filter"`) || !strings.Contains(string(none.body), "directory.groups_required") {
			t.Fatalf("a mapping that chooses no group: %s", none.body)
		}
		var dry struct {
			Plan struct {
				Counts struct {
					GroupsCreated int64 `json:"groups_created"`
					MembersAdded  int64 `json:"members_added"`
				} `json:"counts"`
				GroupChanges []struct{ Kind, Name string } `json:"group_changes"`
			} `json:"plan"`
		}
		e.admin.do("POST", "/api/v1/directories/"+d.ID+"/sync", map[string]any{"dry_run": true}).want(http.StatusOK).into(&dry)
		if dry.Plan.Counts.GroupsCreated != 1 || dry.Plan.Counts.MembersAdded != 1 || len(dry.Plan.GroupChanges) != 1 || dry.Plan.GroupChanges[0].Name != cn {
			t.Fatalf("the dry run %+v", dry.Plan)
		}
		var started struct {
			Run struct{ ID string } `json:"run"`
		}
		e.admin.do("POST", "/api/v1/directories/"+d.ID+"/sync", map[string]any{}).want(http.StatusOK).into(&started)
		var run struct {
			Status string `json:"status"`
			Counts struct {
				GroupsCreated int64 `json:"groups_created"`
				MembersAdded  int64 `json:"members_added"`
			} `json:"counts"`
		}
		for deadline := time.Now().Add(30 * time.Second); run.Status != "completed" && run.Status != "failed"; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the sync is still %s", run.Status)
			}
			e.admin.do("GET", "/api/v1/directories/"+d.ID+"/runs/"+started.Run.ID, nil).want(http.StatusOK).into(&run)
		}
		if run.Status != "completed" || run.Counts.GroupsCreated != 1 || run.Counts.MembersAdded != 1 {
			t.Fatalf("run %+v", run)
		}
		var groups struct {
			Groups []struct {
				ID          string `json:"id"`
				Source      string `json:"source"`
				DirectoryID string `json:"directory_id"`
				MemberCount int64  `json:"member_count"`
				Version     int64  `json:"version"`
			} `json:"groups"`
		}
		e.admin.do("GET", "/api/v1/groups?q="+cn, nil).want(http.StatusOK).into(&groups)
		if len(groups.Groups) != 1 || groups.Groups[0].Source != "directory" || groups.Groups[0].DirectoryID != d.ID || groups.Groups[0].MemberCount != 1 {
			t.Fatalf("groups %+v", groups)
		}
		g := groups.Groups[0]
		local := e.createUser(unique("local"), user.ViewerRole).ID
		tag := fmt.Sprintf(`"%d"`, g.Version)
		e.admin.do("POST", "/api/v1/groups/"+g.ID+"/members/add", map[string]any{"user_ids": []string{local}}).problem(http.StatusConflict, "group.directory_owned")
		e.admin.do("POST", "/api/v1/groups/"+g.ID+"/members/remove", map[string]any{"user_ids": []string{local}}).problem(http.StatusConflict, "group.directory_owned")
		if p := e.admin.do("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"name": "renamed"}, "If-Match", tag).want(http.StatusUnprocessableEntity); !strings.Contains(string(p.body), "group.read_only") {
			t.Fatalf("renaming a directory group: %s", p.body)
		}
		if p := e.admin.do("PATCH", "/api/v1/users/"+local, map[string]any{"groups": []string{g.ID}}, "If-Match", "*").want(http.StatusUnprocessableEntity); !strings.Contains(string(p.body), "group.directory_owned") {
			t.Fatalf("joining a directory group through the user: %s", p.body)
		}
		e.admin.do("DELETE", "/api/v1/groups/"+g.ID, nil, "If-Match", tag).problem(http.StatusConflict, "group.directory_owned")
		e.admin.do("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"description": "From LDAP", "roles": []string{user.UserManagerRole}}, "If-Match", tag).want(http.StatusOK)
		e.manager.do("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"roles": []string{user.AdministratorRole}}, "If-Match", fmt.Sprintf(`"%d"`, g.Version+1)).want(http.StatusForbidden)
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
		_, err := e.app.Store.FinishRun(ctx, queued.ID, directory.RunQueued, directory.RunFailed, time.Now().UTC(), "test")
		must(t, err)
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

// TestDirectoryStatusHeldCounts: the status of a directory whose last sync waits for a
// confirmation tells what its plan would do, as it changed nothing yet.
func TestDirectoryStatusHeldCounts(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.savedDirectory()
		now := time.Now().UTC()
		held := &directory.Run{ID: unique("run"), DirectoryID: id, Status: directory.RunQueued, ActorName: "admin",
			ActorPermissions: user.AllPermissions(), CreatedAt: now}
		must(t, e.app.Store.InsertRun(ctx, held))
		must(t, e.app.Store.StartRun(ctx, held.ID, now))
		must(t, e.app.Store.HoldRun(ctx, held.ID, &directory.Plan{Counts: directory.Counts{Seen: 10, Disabled: 7}}, "7 of 10 would be disabled.", now))
		var st struct {
			LastSync *struct {
				Status string                         `json:"status"`
				Counts struct{ Seen, Disabled int64 } `json:"counts"`
			} `json:"last_sync"`
		}
		e.admin.do("GET", "/api/v1/directories/"+id+"/status", nil).want(http.StatusOK).into(&st)
		if st.LastSync == nil || st.LastSync.Status != "needs_confirmation" || st.LastSync.Counts.Seen != 10 || st.LastSync.Counts.Disabled != 7 {
			t.Fatalf("the status of a held sync: %+v", st.LastSync)
		}
	})
}

package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
)

func TestUserLifecycle(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// create
		u := e.admin.do("POST", "/api/v1/users", map[string]any{"email": "Ada.Lovelace@Example.org", "first_name": "Ada",
			"last_name": "Lovelace", "phone": "+44 20 7946 0000"}).want(http.StatusCreated).user()
		if u.Username != "Ada.Lovelace@Example.org" || u.Status != "active" || u.Version != 1 {
			t.Fatalf("created %+v", u)
		}
		if len(u.Roles) != 1 || u.Roles[0].ID != "viewer" || !u.Roles[0].Direct {
			t.Fatalf("default role: %+v", u.Roles)
		}
		// duplicate email, case-insensitively
		p := e.admin.do("POST", "/api/v1/users", map[string]any{"email": "ada.lovelace@example.ORG", "first_name": "A", "last_name": "L"}).
			problem(http.StatusConflict, "user.email_taken")
		if len(p.Errors) != 1 || p.Errors[0].Field != "email" {
			t.Fatalf("duplicate email fields: %+v", p.Errors)
		}
		// every bad field at once
		p = e.admin.do("POST", "/api/v1/users", map[string]any{"email": "not an email", "username": "-x", "first_name": "", "last_name": ""}).
			problem(http.StatusUnprocessableEntity, "validation_failed")
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		slices.Sort(fields)
		if !slices.Equal(fields, []string{"email", "first_name", "last_name", "username"}) {
			t.Fatalf("fields %v", fields)
		}
		// an unknown body field is refused
		e.admin.do("POST", "/api/v1/users", map[string]any{"email": "x@example.org", "first_name": "X", "last_name": "Y", "id": "mine"}).
			problem(http.StatusUnprocessableEntity, "request.invalid")

		// read with ETag; update needs If-Match
		path := "/api/v1/users/" + u.ID
		r := e.viewer.do("GET", path, nil).want(http.StatusOK)
		if r.header.Get("ETag") != `"1"` {
			t.Fatalf("ETag %q", r.header.Get("ETag"))
		}
		e.admin.do("PATCH", path, map[string]any{"department": "Analytics"}).problem(http.StatusPreconditionRequired, "version.required")
		e.admin.do("PATCH", path, map[string]any{"department": "Analytics"}, "If-Match", `"7"`).problem(http.StatusPreconditionFailed, "version.stale")
		u = e.admin.do("PATCH", path, map[string]any{"department": "Analytics"}, "If-Match", `"1"`).want(http.StatusOK).user()
		if u.Version != 2 {
			t.Fatalf("version after update %d", u.Version)
		}
		// a local user's email cannot change
		e.admin.do("PATCH", path, map[string]any{"email": "ada@example.org"}, "If-Match", `"2"`).problem(http.StatusUnprocessableEntity, "user.email_immutable")

		// status changes follow the state machine
		e.manager.do("POST", path+"/lock", nil).want(http.StatusOK)
		e.manager.do("POST", path+"/lock", nil).problem(http.StatusConflict, "user.invalid_transition")
		u = e.manager.do("POST", path+"/unlock", nil).want(http.StatusOK).user()
		if u.Status != "active" {
			t.Fatalf("after unlock %s", u.Status)
		}
		e.manager.do("POST", path+"/disable", nil).want(http.StatusOK)
		e.viewer.do("POST", path+"/enable", nil).problem(http.StatusForbidden, "auth.permission_denied")
		u = e.manager.do("POST", path+"/enable", nil).want(http.StatusOK).user()

		// delete with If-Match, then it is gone
		e.manager.do("DELETE", path, nil, "If-Match", etagOf(u.Version)).want(http.StatusNoContent)
		e.admin.do("GET", path, nil).problem(http.StatusNotFound, "user.not_found")

		// the audit trail has one event per change, newest first
		var trail struct {
			Events []struct {
				Action    string `json:"action"`
				Outcome   string `json:"outcome"`
				ActorName string `json:"actor_name"`
				RequestID string `json:"request_id"`
				ClientIP  string `json:"client_ip"`
			} `json:"events"`
		}
		e.admin.do("GET", path+"/audit", nil).want(http.StatusOK).into(&trail)
		var actions []string
		for _, ev := range trail.Events {
			actions = append(actions, ev.Action)
			if ev.Outcome != "success" || ev.ActorName == "" || ev.RequestID == "" || ev.ClientIP != "127.0.0.1" {
				t.Errorf("audit event %+v lacks its actor, request id or client address", ev)
			}
		}
		want := []string{"user.delete", "user.enable", "user.disable", "user.unlock", "user.lock", "user.update", "user.create"}
		if !slices.Equal(actions, want) {
			t.Fatalf("audit trail %v, want %v", actions, want)
		}
		e.admin.do("GET", "/api/v1/audit?action=user.lock&target="+u.ID, nil).want(http.StatusOK).into(&trail)
		if len(trail.Events) != 1 || trail.Events[0].Action != "user.lock" {
			t.Fatalf("audit filtered by action and target: %+v", trail.Events)
		}
		e.admin.do("GET", "/api/v1/audit?action=user.&limit=2", nil).want(http.StatusOK).into(&trail)
		if len(trail.Events) != 2 {
			t.Fatalf("audit limit: %d events", len(trail.Events))
		}
		e.viewer.do("GET", "/api/v1/audit", nil).problem(http.StatusForbidden, "auth.permission_denied")
	})
}

func etagOf(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

func TestDefaultAdministratorIsProtected(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var me struct {
			ID string `json:"id"`
		}
		e.admin.do("GET", "/api/v1/auth/me", nil).want(http.StatusOK).into(&me)
		path := "/api/v1/users/" + me.ID
		// a second administrator cannot touch the Default Administrator either
		second := e.createUser("second", "administrator")
		other := e.login(second.Username)
		other.do("DELETE", path, nil, "If-Match", "*").problem(http.StatusForbidden, "user.default_admin")
		other.do("POST", path+"/disable", nil).problem(http.StatusForbidden, "user.default_admin")
		other.do("POST", path+"/lock", nil).problem(http.StatusForbidden, "user.default_admin")
		other.do("PATCH", path, map[string]any{"roles": []string{"viewer"}}, "If-Match", "*").problem(http.StatusForbidden, "user.default_admin")
		other.do("POST", "/api/v1/users/bulk", map[string]any{"action": "remove_roles", "ids": []string{me.ID}, "roles": []string{"administrator"}}).want(http.StatusOK)
		u := e.admin.do("GET", path, nil).want(http.StatusOK).user()
		if len(u.Roles) == 0 || u.Roles[0].ID != "administrator" || u.Status != "active" {
			t.Fatalf("default admin changed: %+v", u)
		}
		// nobody deletes themselves
		e.manager.do("GET", "/api/v1/auth/me", nil).want(http.StatusOK).into(&me)
		e.manager.do("DELETE", "/api/v1/users/"+me.ID, nil, "If-Match", "*").problem(http.StatusForbidden, "user.self")
		// a user manager cannot act on an administrator
		e.manager.do("POST", "/api/v1/users/"+second.ID+"/lock", nil).problem(http.StatusForbidden, "auth.superior")
	})
}

func TestConcurrentUpdatesWithOneVersion(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		u := e.createUser("occ")
		var wg sync.WaitGroup
		statuses := make([]int, 20)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.admin.do("PATCH", "/api/v1/users/"+u.ID, map[string]any{"department": fmt.Sprint("D", i)}, "If-Match", `"1"`)
				statuses[i] = r.status
			}()
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[http.StatusOK] != 1 || count[http.StatusPreconditionFailed] != len(statuses)-1 {
			t.Fatalf("statuses %v: want exactly one 200 and the rest 412", count)
		}
	})
}

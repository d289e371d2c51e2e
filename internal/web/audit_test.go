package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/user"
)

func TestAuditPage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		dora := e.createUser("dora", user.ViewerRole)
		erin := e.createUser("erin", user.ViewerRole)
		b := e.signIn("admin@example.org")
		b.follow(b.post("/users/"+dora.ID+"/status", url.Values{"event": {"disable"}})).has("is disabled")
		e.browser().post("/sign-in", url.Values{"login": {"erin"}, "password": {"not the password"}}).want(http.StatusUnauthorized)

		p := b.get("/audit").want(http.StatusOK).has("Audit log", "Download CSV", "Download JSON", "user.disable", "auth.login",
			"Failure", "Success", "reason wrong password")
		if !strings.Contains(p.body, `href="/audit"`) || !strings.Contains(p.body, `aria-current="page">Audit log`) {
			t.Fatal("the navigation has no current Audit log entry")
		}
		if n := strings.Count(tbody(p.body), "<tr>"); n < 6 {
			t.Fatalf("the log shows %d events; the console's and the tests' actions are more", n)
		}

		// Each filter narrows the log.
		b.get("/audit?action=user.disable").has("user.disable", "dora").lacks("auth.login", "user.create")
		b.get("/audit?action=user.").has("user.disable", "user.create").lacks("auth.login")
		b.get("/audit?actor=ADMIN@example.org").has("user.disable").lacks("system:test")
		b.get("/audit?actor=" + erin.ID).has("auth.login").lacks("user.disable")
		b.get("/audit?target="+dora.ID).has("user.disable", "user.create").lacks("erin")
		b.get("/audit?outcome=failure").has("auth.login", "erin").lacks("user.disable")
		future := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
		b.get("/audit?from="+future).has("No event matches these filters.", "Reset filters")
		past := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
		b.get("/audit?from=" + past + "&to=" + future).has("user.disable")

		// Filters that cannot be read say so next to the field.
		b.get("/audit?actor=nobody").want(http.StatusUnprocessableEntity).has("No user has this username or email.")
		b.get("/audit?from=yesterday").want(http.StatusUnprocessableEntity).has("Enter a date and time in UTC")
		b.get("/audit?from=" + future + "&to=" + past).want(http.StatusUnprocessableEntity).has("The end of the time range must be after its start.")
		if l := b.get("/audit?cursor=forged").location; l != "/audit" {
			t.Fatalf("a forged cursor goes to %q", l)
		}

		// The downloads select what the page's filters select.
		if href := b.get("/audit?action=user.").link("Download CSV"); href != "/audit/export?action=user.&format=csv" {
			t.Fatalf("Download CSV links to %q", href)
		}

		v := e.signIn(e.createUser("vic", user.ViewerRole).Username)
		v.get("/audit").want(http.StatusForbidden).has("This needs the audit.read permission.")
		v.get("/users").lacks("Audit log")
	})
}

func TestAuditPages(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		appendEvents(t, e, 120, func(i int, ev *audit.Event) {})
		b := e.signIn("admin@example.org")
		p := b.get("/audit?action=test.").want(http.StatusOK).lacks("Previous")
		p2 := b.get(p.link("Next →")).want(http.StatusOK)
		p3 := b.get(p2.link("Next →")).want(http.StatusOK).lacks("Next →")
		if n := strings.Count(tbody(p3.body), "<tr>"); n != 20 {
			t.Fatalf("the last page shows %d events, want 20", n)
		}
		if back := b.get(p3.link("← Previous")); tbody(back.body) != tbody(p2.body) {
			t.Fatal("Previous from the third page is not the second page")
		}
	})
}

// appendEvents writes n events of action test.bulk straight to the log, in one transaction.
func appendEvents(t *testing.T, e *env, n int, edit func(i int, ev *audit.Event)) {
	t.Helper()
	ctx := context.Background()
	err := e.app.Store.InTx(ctx, func(ctx context.Context) error {
		for i := range n {
			ev := audit.Event{ActorName: "system:test", Action: "test.bulk", TargetType: "user", TargetID: fmt.Sprint(i),
				TargetName: fmt.Sprintf("t%04d", i), Outcome: audit.Success}
			edit(i, &ev)
			if err := e.app.Store.AppendAudit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bearer calls the API with a token.
func (e *env) bearer(token, path string) *page {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.browser().do(req)
}

var tokenSecret = regexp.MustCompile(`usher_[A-Za-z0-9_-]{20,}`)

// makeToken makes an API token on the account page and returns its secret and id.
func (b *browser) makeToken(form url.Values) (secret, id string) {
	b.t.Helper()
	p := b.post("/account/tokens", form).want(http.StatusCreated).has("you will not see it again")
	secret = tokenSecret.FindString(p.body)
	m := regexp.MustCompile(`action="/account/tokens/([^/"]+)/revoke"`).FindAllStringSubmatch(p.body, -1)
	if secret == "" || len(m) == 0 {
		b.t.Fatalf("the page after making a token shows no secret or no token: %s", p.text())
	}
	return secret, m[len(m)-1][1]
}

func readCSV(t *testing.T, p *page) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: not CSV: %v", p.req, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(audit.Columns, ",") {
		t.Fatalf("%s: no header row: %q", p.req, rows)
	}
	return rows
}

// wantFile checks that an answer is a download of the dated file in format.
func wantFile(t *testing.T, p *page, format, contentType string) {
	t.Helper()
	p.want(http.StatusOK)
	name := "usher-audit-" + time.Now().UTC().Format("2006-01-02") + "." + format
	if got := p.header.Get("Content-Disposition"); got != `attachment; filename=`+name && got != `attachment; filename="`+name+`"` {
		t.Fatalf("%s: Content-Disposition %q, want an attachment named %s", p.req, got, name)
	}
	if got := p.header.Get("Content-Type"); !strings.HasPrefix(got, contentType) {
		t.Fatalf("%s: Content-Type %q, want %s", p.req, got, contentType)
	}
}

// TestAuditExport: the API's and the console's downloads hold, newest first and once each, every
// event the filters select, across several pages of the store; CSV cells a spreadsheet would run
// are neutralised; every export writes one audit event naming who exported what.
func TestAuditExport(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const n = 2*audit.MaxPage + 101
		appendEvents(t, e, n, func(i int, ev *audit.Event) {
			if i%2 == 1 {
				ev.Outcome = audit.Failure
			}
			switch i {
			case 7:
				ev.TargetName = `=HYPERLINK("http://evil.example","click")`
			case 8:
				ev.ActorName = "@SUM(A1)"
			case 9:
				ev.TargetName, ev.Details = "+1", map[string]any{"note": "-2", "fields": []string{"a", "b"}}
			}
		})
		b := e.signIn("admin@example.org")
		token, _ := b.makeToken(url.Values{"name": {"exports"}})

		// CSV through the API: every test event, newest first, each once, formulas neutralised.
		p := e.bearer(token, "/api/v1/audit/export?format=csv&action=test.")
		wantFile(t, p, "csv", "text/csv")
		rows := readCSV(t, p)
		if len(rows) != n+1 {
			t.Fatalf("the CSV export has %d rows, want %d events and a header", len(rows), n)
		}
		prev := int64(1 << 62)
		cells := map[string]string{}
		for _, r := range rows[1:] {
			id, _ := strconv.ParseInt(r[0], 10, 64)
			if id >= prev || r[4] != "test.bulk" {
				t.Fatalf("row %q after id %d: not newest first, or not what the filter selects", r, prev)
			}
			prev = id
			cells[r[6]] = r[3] + "|" + r[7] + "|" + r[9]
		}
		for target, want := range map[string]string{
			"7": `system:test|'=HYPERLINK("http://evil.example","click")|`,
			"8": "'@SUM(A1)|t0008|",
			"9": `system:test|'+1|{"fields":["a","b"],"note":"-2"}`,
		} {
			if cells[target] != want {
				t.Errorf("event %s: actor|target|details %q, want %q", target, cells[target], want)
			}
		}

		// JSON through the API, with another filter: one array of exactly what it selects.
		p = e.bearer(token, "/api/v1/audit/export?format=json&action=test.&outcome=failure")
		wantFile(t, p, "json", "application/json")
		var events []map[string]any
		if err := json.Unmarshal([]byte(p.body), &events); err != nil {
			t.Fatalf("the JSON export is not one array: %v", err)
		}
		if len(events) != n/2 {
			t.Fatalf("the JSON export has %d events, want %d", len(events), n/2)
		}
		for _, ev := range events {
			if ev["outcome"] != "failure" || ev["action"] != "test.bulk" {
				t.Fatalf("the JSON export holds %v, which the filter does not select", ev)
			}
		}

		// The console's buttons: the same file, with the page's filters.
		p = b.get("/audit/export?format=csv&action=test.&outcome=success")
		wantFile(t, p, "csv", "text/csv")
		if rows := readCSV(t, p); len(rows) != n-n/2+1 {
			t.Fatalf("the console's CSV has %d rows, want %d and a header", len(rows), n-n/2)
		}
		p = b.get("/audit/export?format=json&target=9")
		wantFile(t, p, "json", "application/json")
		if err := json.Unmarshal([]byte(p.body), &events); err != nil || len(events) != 1 || events[0]["target_name"] != "+1" {
			t.Fatalf("the console's JSON for target 9: %v %v", events, err)
		}
		b.follow(b.get("/audit/export?format=xlsx")).has("Nothing was downloaded: The format must be csv or json.")
		if p := e.bearer(token, "/api/v1/audit/export?format=xlsx"); p.status != http.StatusUnprocessableEntity {
			t.Fatalf("format xlsx through the API: %d", p.status)
		}

		// Each export is one audit event: who, in what format, with which filter.
		p = e.bearer(token, "/api/v1/audit?action=audit.export").want(http.StatusOK)
		var log struct {
			Events []struct {
				ActorName string         `json:"actor_name"`
				Details   map[string]any `json:"details"`
			} `json:"events"`
		}
		if err := json.Unmarshal([]byte(p.body), &log); err != nil {
			t.Fatal(err)
		}
		if len(log.Events) != 4 {
			t.Fatalf("%d export events, want 4 (one per export): %s", len(log.Events), p.body)
		}
		first := log.Events[len(log.Events)-1]
		if filter, _ := first.Details["filter"].(map[string]any); first.ActorName != "admin@example.org" ||
			first.Details["format"] != "csv" || filter["action"] != "test." {
			t.Fatalf("the first export's event: %+v", first)
		}
		b.get("/audit?action=audit.export").has("audit.export", "format json", `filter {"action":"test.","outcome":"failure"}`)

		// Without audit.read: refused in words, and nothing recorded.
		v := e.signIn(e.createUser("vic", user.ViewerRole).Username)
		v.get("/audit/export?format=csv").want(http.StatusForbidden).has("This needs the audit.read permission.")
		vt, _ := v.makeToken(url.Values{"name": {"mine"}})
		if p := e.bearer(vt, "/api/v1/audit/export?format=csv"); p.status != http.StatusForbidden || !strings.Contains(p.body, "audit.read") {
			t.Fatalf("a viewer's export through the API: %d %s", p.status, p.body)
		}
		if p := e.bearer(token, "/api/v1/audit?action=audit.export"); strings.Count(p.body, `"action":"audit.export"`) != 4 {
			t.Fatalf("a refused export was recorded: %s", p.body)
		}
	})
}

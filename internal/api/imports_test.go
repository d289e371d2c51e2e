package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// upload posts a file to stage-import as a browser's form would.
func (c *client) upload(name string, content []byte, fields ...string) *response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(content)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	req, err := http.NewRequest("POST", c.base+"/api/v1/imports", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: c.cookieName, Value: c.cookie})
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{t: c.t, req: "POST /api/v1/imports (" + name + ")", status: res.StatusCode, header: res.Header, body: b}
}

// importJSON is what the tests read of an import.
type importJSON struct {
	ID       string           `json:"id"`
	Status   string           `json:"status"`
	Rows     int64            `json:"rows"`
	RowsDone int64            `json:"rows_done"`
	Plan     map[string]int64 `json:"plan"`
	Result   map[string]int64 `json:"result"`
	Unknown  []string         `json:"unknown_columns"`
	Preview  map[string][]struct {
		Row     int64  `json:"row"`
		Column  string `json:"column"`
		Value   string `json:"value"`
		Message string `json:"message"`
	} `json:"preview"`
}

type reportJSON struct {
	importJSON
	Rows []struct {
		Row     int64  `json:"row"`
		Outcome string `json:"outcome"`
		Column  string `json:"column"`
		Value   string `json:"value"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"rows"`
}

// startJobs runs the background jobs for the rest of the test, as usher serve does.
func (e *env) startJobs() {
	e.t.Helper()
	jobs := e.app.Background.Jobs
	if err := jobs.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		jobs.Stop(ctx)
	})
}

// waitImport polls an import until it is final.
func (c *client) waitImport(id string) importJSON {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var imp importJSON
		c.do("GET", "/api/v1/imports/"+id, nil).want(http.StatusOK).into(&imp)
		switch imp.Status {
		case "completed", "failed", "cancelled":
			return imp
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("import %s still %s after a minute (%d of %d rows)", id, imp.Status, imp.RowsDone, imp.Rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestImportFlow uploads a file of users with good and bad rows, checks the preview, applies
// it, reads the report, downloads the failed rows, corrects them and imports them again.
func TestImportFlow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		e := newEnv(t, st)
		e.startJobs()
		ctx := context.Background()
		sales, err := e.app.Users.CreateGroup(ctx, allPowerful(), user.GroupInput{Name: strptr("Sales")})
		must(t, err)
		gone := e.createUser("leaver", user.ViewerRole)

		var file bytes.Buffer
		w := csv.NewWriter(&file)
		w.Write([]string{"Email Address*", "First name*", "Last name", "Groups", "Roles", "Action", "Shoe size"})
		for i := range 20 {
			w.Write([]string{fmt.Sprintf("person%02d@example.com", i), "Person", fmt.Sprintf("Number %d", i), "sales", "", "", "42"})
		}
		w.Write([]string{"not-an-email", "Bad", "Email", "", "", "", ""})            // row 22
		w.Write([]string{"person03@example.com", "Twice", "Listed", "", "", "", ""}) // row 23
		w.Write([]string{"roles@example.com", "Role", "Less", "", "Astronaut", "", ""})
		w.Write([]string{"ghost@example.com", "Ghost", "User", "", "", "Update", ""})
		w.Write([]string{"admin@example.org", "", "", "", "", "Delete", ""})
		w.Write([]string{"leaver@example.org", "", "", "", "", "Delete", ""})
		w.Write([]string{"noname@example.com", "", "", "", "", "", ""})
		w.Write([]string{"manager@example.org", "Manny", "Tester", "", "", "Update", ""})
		w.Write([]string{"odd@example.com", "Odd", "Action", "", "", "Archive", ""})
		w.Flush()

		// Without import.run: refused before anything is read.
		e.viewer.upload("people.csv", file.Bytes()).problem(http.StatusForbidden, "auth.permission_denied")

		var p importJSON
		r := e.admin.upload("people.csv", file.Bytes())
		r.want(http.StatusCreated).into(&p)
		if p.Status != "staged" || p.Rows != 29 {
			t.Fatalf("staged %+v", p)
		}
		want := map[string]int64{"create": 20, "update": 1, "delete": 1, "skip": 0, "error": 7}
		for k, n := range want {
			if p.Plan[k] != n {
				t.Fatalf("plan %v, want %v; %s", p.Plan, want, r.body)
			}
		}
		if len(p.Unknown) != 1 || p.Unknown[0] != "Shoe size" {
			t.Fatalf("unknown columns %v", p.Unknown)
		}
		msgs := map[int64]string{}
		for _, row := range p.Preview["error"] {
			msgs[row.Row] = row.Message
		}
		for row, want := range map[int64]string{
			22: "Row 22, Email Address: The email address must contain exactly one @.",
			23: "Row 23, Email Address: Row 5 has this email address already: each person may be in the file once.",
			24: `Row 24, Roles: There is no role called "Astronaut"`,
			25: "Row 25, Email Address: No user has this email address. To add them, write New in the Action column.",
			26: "Row 26, Email Address: The Default Administrator cannot be changed or deleted by an import",
			28: "Row 28, First name: This name must not be empty. Also Last name: This name must not be empty.",
			30: "Row 30, Action: The action must be New, Update or Delete",
		} {
			if !strings.HasPrefix(msgs[row], want) {
				t.Errorf("row %d: %q, want it to start with %q", row, msgs[row], want)
			}
		}
		// The preview changed nothing.
		if _, err := e.app.Users.UserByLogin(ctx, allPowerful(), "person00@example.com"); err == nil {
			t.Fatal("the preview created a user")
		}

		// Starting twice starts one job; the import applies every row once.
		e.admin.do("POST", "/api/v1/imports/"+p.ID+"/start", nil).want(http.StatusOK)
		e.admin.do("POST", "/api/v1/imports/"+p.ID+"/start", nil).want(http.StatusOK)
		done := e.admin.waitImport(p.ID)
		if done.Status != "completed" || done.RowsDone != 29 {
			t.Fatalf("finished %+v", done)
		}
		for k, n := range want {
			if done.Result[k] != n {
				t.Fatalf("result %v, want %v", done.Result, want)
			}
		}
		d, err := e.app.Users.UserByLogin(ctx, allPowerful(), "person07@example.com")
		must(t, err)
		if d.Status != user.Active || d.LastName != "Number 7" || len(d.Groups) != 1 || d.Groups[0].ID != sales.ID ||
			len(d.Roles) != 1 || d.Roles[0].ID != user.ViewerRole {
			t.Fatalf("imported user %+v, roles %+v, groups %+v", d.User, d.Roles, d.Groups)
		}
		if _, err := e.app.Users.GetUser(ctx, allPowerful(), gone.ID); err == nil {
			t.Fatal("the Delete row left its user")
		}
		m, err := e.app.Users.UserByLogin(ctx, allPowerful(), "manager@example.org")
		must(t, err)
		if m.FirstName != "Manny" {
			t.Fatalf("the Update row left the first name %q", m.FirstName)
		}
		events, _, err := e.app.Users.Audit(ctx, allPowerful(), audit.Filter{Action: "import.", Limit: 10})
		must(t, err)
		var got []string
		for _, ev := range events {
			got = append(got, ev.Action)
		}
		if strings.Join(got, " ") != "import.finish import.start import.stage" {
			t.Fatalf("import events %q", got)
		}
		created, _, err := e.app.Users.Audit(ctx, allPowerful(), audit.Filter{Action: "user.create", Limit: 100})
		must(t, err)
		n := 0
		for _, ev := range created {
			if ev.RequestID == "import:"+p.ID {
				n++
			}
		}
		if n != 20 {
			t.Fatalf("%d user.create events carry the import's id, want 20", n)
		}

		var rep reportJSON
		e.admin.do("GET", "/api/v1/imports/"+p.ID+"/report", nil).want(http.StatusOK).into(&rep)
		if len(rep.Rows) != 7 || rep.Rows[0].Row != 22 || rep.Rows[0].Column != "Email Address*" || rep.Rows[0].Value != "not-an-email" {
			t.Fatalf("report rows %+v", rep.Rows)
		}

		// The failed rows, corrected in a spreadsheet, import without an error.
		r = e.admin.do("GET", "/api/v1/imports/"+p.ID+"/failed-rows", nil).want(http.StatusOK)
		if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "people-failed-rows.csv") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		failed, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\uFEFF")))).ReadAll()
		must(t, err)
		if len(failed) != 8 || failed[0][len(failed[0])-1] != "Reason" || failed[1][0] != "not-an-email" {
			t.Fatalf("failed rows %q", failed)
		}
		var fixed bytes.Buffer
		w = csv.NewWriter(&fixed)
		w.Write(failed[0])
		for _, row := range failed[1:] {
			switch row[0] {
			case "not-an-email":
				row[0] = "fixed@example.com"
			case "person03@example.com":
				row[0] = "twice@example.com"
			case "ghost@example.com", "admin@example.org":
				continue // dropped, as a person would
			case "noname@example.com":
				row[1], row[2] = "No", "Name"
			}
			row[4] = strings.ReplaceAll(row[4], "Astronaut", "Viewer")
			row[5] = strings.ReplaceAll(row[5], "Archive", "New")
			w.Write(row)
		}
		w.Flush()
		var again importJSON
		e.admin.upload("people-failed-rows.csv", fixed.Bytes()).want(http.StatusCreated).into(&again)
		if again.Plan["error"] != 0 || again.Plan["create"] != 5 {
			t.Fatalf("corrected file planned %v: %+v", again.Plan, again.Preview["error"])
		}
		e.admin.do("POST", "/api/v1/imports/"+again.ID+"/start", nil).want(http.StatusOK)
		if done := e.admin.waitImport(again.ID); done.Result["create"] != 5 || done.Result["error"] != 0 {
			t.Fatalf("corrected import %+v", done)
		}

		// History, newest first.
		var hist struct {
			Items []importJSON `json:"items"`
		}
		e.admin.do("GET", "/api/v1/imports", nil).want(http.StatusOK).into(&hist)
		if len(hist.Items) != 2 || hist.Items[0].ID != again.ID {
			t.Fatalf("history %+v", hist.Items)
		}
		e.admin.do("GET", "/api/v1/imports?q=FAILED", nil).want(http.StatusOK).into(&hist)
		if len(hist.Items) != 1 || hist.Items[0].ID != again.ID {
			t.Fatalf("history of *failed*: %+v", hist.Items)
		}
		var jobs struct {
			Items []struct {
				Kind   string `json:"kind"`
				ID     string `json:"id"`
				Status string `json:"status"`
				Done   int64  `json:"done"`
				Total  int64  `json:"total"`
				Errors int64  `json:"errors"`
			} `json:"items"`
		}
		e.admin.do("GET", "/api/v1/jobs?status=completed", nil).want(http.StatusOK).into(&jobs)
		if len(jobs.Items) != 2 || jobs.Items[1].ID != p.ID || jobs.Items[1].Kind != "import" || jobs.Items[1].Done != 29 ||
			jobs.Items[1].Total != 29 || jobs.Items[1].Errors != 7 {
			t.Fatalf("jobs %+v", jobs.Items)
		}
		e.viewer.do("GET", "/api/v1/jobs", nil).want(http.StatusOK).into(&jobs)
		if len(jobs.Items) != 0 {
			t.Fatalf("a Viewer sees jobs %+v", jobs.Items)
		}
	})
}

// TestImportRefusals: what is refused before a row is read.
func TestImportRefusals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		e := newEnv(t, st, "USHER_IMPORT_MAX_SIZE=4KiB")
		big := bytes.Repeat([]byte("x"), 4<<10+imports.FormOverhead+1)
		e.admin.upload("big.csv", big).problem(http.StatusRequestEntityTooLarge, "import.too_large")
		e.admin.upload("people.pdf", []byte("Email\na@example.com\n")).problem(http.StatusUnprocessableEntity, "file.type")
		e.admin.upload("people.csv", []byte("Phone,First name\n1,2\n")).problem(http.StatusUnprocessableEntity, "file.column_missing")
		e.admin.upload("people.csv", []byte("Email,First name,Last name\n")).problem(http.StatusUnprocessableEntity, "file.no_rows")
		e.admin.upload("people.csv", nil).problem(http.StatusUnprocessableEntity, "file.empty")

		// A file refused part way (bad UTF-8 after 150 rows) leaves no import.
		var broken bytes.Buffer
		broken.WriteString("Email\n")
		for i := range 150 {
			fmt.Fprintf(&broken, "p%d@example.com\n", i)
		}
		broken.WriteString("bad\xff@example.com\n")
		r := e.admin.upload("broken.csv", broken.Bytes())
		r.want(http.StatusUnprocessableEntity)
		var hist struct {
			Items []importJSON `json:"items"`
		}
		e.admin.do("GET", "/api/v1/imports", nil).want(http.StatusOK).into(&hist)
		if len(hist.Items) != 0 {
			t.Fatalf("a refused file left imports %+v (%s)", hist.Items, r.body)
		}

		// A staged import cancelled cannot start; one that finished cannot be cancelled.
		var p importJSON
		e.admin.upload("people.csv", []byte("Email\nsomeone@example.com\n")).want(http.StatusCreated).into(&p)
		e.manager.do("POST", "/api/v1/imports/"+p.ID+"/start", nil).problem(http.StatusForbidden, "import.not_yours")
		e.admin.do("POST", "/api/v1/imports/"+p.ID+"/cancel", nil).want(http.StatusOK)
		e.admin.do("POST", "/api/v1/imports/"+p.ID+"/start", nil).problem(http.StatusConflict, "import.cancelled")
		e.admin.do("POST", "/api/v1/imports/"+p.ID+"/cancel", nil).problem(http.StatusConflict, "import.finished")
		e.admin.do("GET", "/api/v1/imports/nope", nil).problem(http.StatusNotFound, "import.not_found")
	})
}

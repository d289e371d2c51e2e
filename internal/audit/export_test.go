package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
)

func TestCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "ada": "ada", "a=b": "a=b", "{\"a\":1}": "{\"a\":1}", "'=x": "'=x",
	} {
		if got := audit.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

var events = []audit.Event{
	{ID: 3, Time: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), ActorID: "a1", ActorName: "=HYPERLINK(\"http://evil\")",
		Action: "user.update", TargetType: "user", TargetID: "u1", TargetName: "@ada", Outcome: audit.Success,
		Details: map[string]any{"fields": []any{"department"}, "note": "a, \"quoted\"\nline"}, RequestID: "r1", ClientIP: "192.0.2.1"},
	{ID: 2, Time: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), Action: "auth.login", Outcome: audit.Failure, ActorName: "-bob"},
}

// TestCSVParsesBack: a header row and one row per event that a CSV reader reads back to the
// same data, with formulas neutralised and details as compact JSON in one cell.
func TestCSVParsesBack(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	enc, err := audit.NewEncoder(&buf, audit.CSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(audit.Columns, ",") {
		t.Fatalf("rows: %q", rows)
	}
	r := rows[1]
	if r[0] != "3" || r[1] != "2026-12-07T10:00:00Z" || r[3] != "'=HYPERLINK(\"http://evil\")" || r[7] != "'@ada" || r[11] != "192.0.2.1" {
		t.Fatalf("first row: %q", r)
	}
	var details map[string]any
	if err := json.Unmarshal([]byte(r[9]), &details); err != nil || details["note"] != "a, \"quoted\"\nline" || !strings.HasPrefix(r[9], `{"fields":["department"],`) {
		t.Fatalf("details cell %q: %v %v", r[9], details, err)
	}
	if rows[2][3] != "'-bob" || rows[2][9] != "" || rows[2][8] != "failure" {
		t.Fatalf("second row: %q", rows[2])
	}
}

func TestJSONIsOneArray(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2} {
		var buf bytes.Buffer
		enc, _ := audit.NewEncoder(&buf, audit.JSON)
		for _, e := range events[:n] {
			if err := enc.Encode(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil || len(got) != n {
			t.Fatalf("%d events: %v %s", n, err, buf.Bytes())
		}
		if n > 0 && (got[0]["actor_name"] != events[0].ActorName || got[0]["details"].(map[string]any)["note"] == nil) {
			t.Fatalf("JSON keeps the data as it is: %v", got[0])
		}
	}
	if _, err := audit.NewEncoder(&bytes.Buffer{}, "xlsx"); err == nil {
		t.Fatal("an unknown format is accepted")
	}
}

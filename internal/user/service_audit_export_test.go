package user_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
)

// TestExportAudit: an export streams every event the filter selects, over several pages of the
// store, newest first and each once; it is refused without audit.read; and it writes exactly one
// audit event of its own, which it never contains.
func TestExportAudit(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const n = 2*audit.MaxPage + 7
		base := time.Now().UTC().Add(-time.Hour)
		if err := f.st.InTx(ctx, func(ctx context.Context) error {
			for i := range n {
				if err := f.st.AppendAudit(ctx, audit.Event{Time: base.Add(time.Duration(i) * time.Millisecond), ActorID: f.admin.ID,
					ActorName: f.admin.Name, Action: "test.bulk", TargetType: "user", TargetID: fmt.Sprint(i), Outcome: audit.Success}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		if _, err := f.svc.ExportAudit(ctx, f.viewer, audit.Filter{}, "csv"); !errs.Is(errs.Forbidden, err) {
			t.Fatalf("a viewer exports: %v", err)
		}
		if _, err := f.svc.ExportAudit(ctx, f.admin, audit.Filter{}, "xml"); !errs.Is(errs.Invalid, err) {
			t.Fatalf("format xml: %v", err)
		}
		if _, err := f.svc.ExportAudit(ctx, f.admin, audit.Filter{ActorID: "nobody-here"}, "csv"); !errs.Is(errs.Invalid, err) {
			t.Fatalf("an unknown actor login: %v", err)
		}
		if got := f.audit(t, audit.Filter{Action: "audit.export"}); len(got) != 0 {
			t.Fatalf("refused exports were recorded: %+v", got)
		}

		// By login, in another letter case: the actor's id.
		x, err := f.svc.ExportAudit(ctx, f.admin, audit.Filter{ActorID: "ROOT", Action: "test."}, "csv")
		if err != nil {
			t.Fatal(err)
		}
		if x.FileName() != "usher-audit-"+time.Now().UTC().Format("2006-01-02")+".csv" {
			t.Fatalf("file name %q", x.FileName())
		}
		var buf bytes.Buffer
		count, err := x.Write(ctx, &buf)
		if err != nil || count != n {
			t.Fatalf("wrote %d events (%v), want %d", count, err, n)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != n+1 {
			t.Fatalf("%d rows (%v), want %d and a header", len(rows), err, n)
		}
		prev := int64(1 << 62)
		for _, r := range rows[1:] {
			id, _ := strconv.ParseInt(r[0], 10, 64)
			if id >= prev || r[4] != "test.bulk" || r[2] != f.admin.ID {
				t.Fatalf("row %q after id %d: not newest first, or not what the filter selects", r, prev)
			}
			prev = id
		}
		rec := f.audit(t, audit.Filter{Action: "audit.export"})
		if len(rec) != 1 || rec[0].ActorID != f.admin.ID || rec[0].Details["format"] != "csv" {
			t.Fatalf("the export's record: %+v", rec)
		}
		if q, _ := rec[0].Details["filter"].(map[string]any); q["action"] != "test." || q["actor"] != f.admin.ID {
			t.Fatalf("the export's record names the filter %v", rec[0].Details["filter"])
		}

		// Everything, as JSON: every event written before the export, not the export's own record.
		before := f.total(t)
		x, err = f.svc.ExportAudit(ctx, f.admin, audit.Filter{}, "json")
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		if _, err := x.Write(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		var all []struct {
			ID     int64  `json:"id"`
			Action string `json:"action"`
		}
		if err := json.Unmarshal(buf.Bytes(), &all); err != nil || len(all) != before {
			t.Fatalf("JSON export: %d events (%v), want %d", len(all), err, before)
		}
		if all[0].Action == "audit.export" && all[0].ID > rec[0].ID {
			t.Fatal("the export holds its own record")
		}
		if got := f.total(t); got != before+1 {
			t.Fatalf("the export wrote %d audit events, want 1", got-before)
		}

		if _, _, err := f.svc.Audit(ctx, f.admin, audit.Filter{From: base, To: base}); !errs.Is(errs.Invalid, err) {
			t.Fatalf("an empty time range: %v", err)
		}
	})
}

// total counts every event of the log, page by page.
func (f *fixture) total(t *testing.T) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		evs, next, err := f.st.AuditEvents(context.Background(), audit.Filter{Limit: audit.MaxPage, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
		if next == "" {
			return n
		}
		cursor = next
	}
}

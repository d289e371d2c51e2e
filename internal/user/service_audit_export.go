package user

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
)

// auditFilter reads a filter of the log as a person means it: the actor may be named by a
// user's id or by the username or email of a user who exists (deleted users are found by their
// id, which their events keep), and a time range must not end before it starts.
func (s *Service) auditFilter(ctx context.Context, f *audit.Filter) error {
	if f.ActorID != "" {
		if _, err := uuid.Parse(f.ActorID); err != nil {
			u, err := s.store.UserByLogin(ctx, CanonicalLogin(f.ActorID))
			if errs.Is(errs.NotFound, err) {
				return errs.Field("actor", "audit.actor_unknown",
					"No user has this username or email. To find the events of a deleted user, use their id.")
			} else if err != nil {
				return err
			}
			f.ActorID = u.ID
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return errs.Field("to", "audit.range_empty", "The end of the time range must be after its start.")
	}
	return nil
}

// AuditExport is an export of the audit log that ExportAudit checked and recorded, ready to be
// written.
type AuditExport struct {
	s      *Service
	filter audit.Filter
	format audit.Format
	at     time.Time
	first  []audit.Event
	next   string
}

// ExportAudit prepares an export, newest first, of every event f selects (its Limit and Cursor
// are ignored) in format "csv" or "json". Before a byte is written it checks that the actor may
// read the log, reads the first page, and records the export in the log (who, in what format,
// with which filter): a refusal is still an error the caller can answer with, and every export
// that hands out events is audited. Because the first page is read before that record is
// written and the following pages go on from it, an export never holds its own record nor any
// event written while it runs.
func (s *Service) ExportAudit(ctx context.Context, a Actor, f audit.Filter, format string) (*AuditExport, error) {
	if err := a.Require(AuditRead); err != nil {
		return nil, err
	}
	x := &AuditExport{s: s, format: audit.Format(format), at: s.now()}
	if !x.format.Valid() {
		return nil, errs.Field("format", "audit.format_invalid", "The format must be csv or json.")
	}
	if err := s.auditFilter(ctx, &f); err != nil {
		return nil, err
	}
	f.Limit, f.Cursor = audit.MaxPage, ""
	x.filter = f
	var err error
	if x.first, x.next, err = s.store.AuditEvents(ctx, f); err != nil {
		return nil, err
	}
	details := map[string]any{"format": format}
	if q := exportQuery(f); len(q) > 0 {
		details["filter"] = q
	}
	if err := s.audit(ctx, a, "audit.export", "audit", "", "", details); err != nil {
		return nil, err
	}
	return x, nil
}

// exportQuery is the filter as the export's audit record shows it: what narrowed it, nothing else.
func exportQuery(f audit.Filter) map[string]string {
	q := map[string]string{}
	for k, v := range map[string]string{"actor": f.ActorID, "target": f.TargetID, "target_type": f.TargetType,
		"action": f.Action, "outcome": f.Outcome} {
		if v != "" {
			q[k] = v
		}
	}
	if !f.From.IsZero() {
		q["from"] = f.From.UTC().Format(time.RFC3339)
	}
	if !f.To.IsZero() {
		q["to"] = f.To.UTC().Format(time.RFC3339)
	}
	return q
}

// FileName is the export's file name, dated with the day it was made.
func (x *AuditExport) FileName() string { return x.format.FileName(x.at) }

// ContentType is the export's media type.
func (x *AuditExport) ContentType() string { return x.format.ContentType() }

// Write streams the export to w a page of the log at a time, each page flushed before the next
// is read, and returns how many events it wrote. An error part way leaves w with a truncated
// file: a caller that has sent part of it should break the connection rather than end it
// cleanly, so that the file is not taken for whole.
func (x *AuditExport) Write(ctx context.Context, w io.Writer) (int, error) {
	enc, err := audit.NewEncoder(w, x.format)
	if err != nil {
		return 0, err
	}
	page, next := x.first, x.next
	x.first = nil
	for {
		for _, ev := range page {
			if err := enc.Encode(ev); err != nil {
				return enc.Count(), err
			}
		}
		if err := enc.Flush(); err != nil {
			return enc.Count(), err
		}
		if next == "" {
			break
		}
		f := x.filter
		f.Cursor = next
		if page, next, err = x.s.store.AuditEvents(ctx, f); err != nil {
			return enc.Count(), fmt.Errorf("audit export: %w", err)
		}
	}
	return enc.Count(), enc.Close()
}

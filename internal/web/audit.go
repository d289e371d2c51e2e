package web

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// auditQuery is the audit log's filters as the address carries them. The times are what a
// datetime-local input sends, read as UTC.
type auditQuery struct {
	Actor, Target, Action, Outcome, From, To string
}

func readAuditQuery(v url.Values) auditQuery {
	t := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return auditQuery{Actor: t("actor"), Target: t("target"), Action: t("action"), Outcome: t("outcome"), From: t("from"), To: t("to")}
}

func (q auditQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "target": q.Target, "action": q.Action, "outcome": q.Outcome, "from": q.From, "to": q.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Filtered reports whether anything narrows the log.
func (q auditQuery) Filtered() bool { return len(q.values()) > 0 }

// URL is the log with these filters, on its first page.
func (q auditQuery) URL() string {
	if v := q.values(); len(v) > 0 {
		return "/audit?" + v.Encode()
	}
	return "/audit"
}

// ExportURL downloads what these filters select in format.
func (q auditQuery) ExportURL(format string) string {
	v := q.values()
	v.Set("format", format)
	return "/audit/export?" + v.Encode()
}

// filter is the query as the service reads it, or the messages for the times that are not ones.
func (q auditQuery) filter() (audit.Filter, map[string]string) {
	f := audit.Filter{ActorID: q.Actor, TargetID: q.Target, Action: q.Action, Outcome: q.Outcome}
	bad := map[string]string{}
	for _, t := range []struct {
		name, value string
		dst         *time.Time
	}{{"from", q.From, &f.From}, {"to", q.To, &f.To}} {
		if t.value == "" {
			continue
		}
		v, ok := parseMoment(t.value)
		if !ok {
			bad[t.name] = "Enter a date and time in UTC, like 2026-12-07T14:30."
			continue
		}
		*t.dst = v
	}
	return f, bad
}

// parseMoment reads what a datetime-local input sends (to the minute or the second), or RFC 3339.
func parseMoment(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

type auditPage struct {
	base
	Query   auditQuery
	Events  []auditRow
	Next    string
	Prev    string
	Errors  map[string]string
	Message string
}

// auditRow is an event with its details as lines a person reads.
type auditRow struct {
	audit.Event
	Details []detail
}

type detail struct{ Key, Value string }

// readable lists an event's details by name, each value as text: strings as they are, lists
// joined with commas, anything else as compact JSON.
func readable(d map[string]any) []detail {
	out := make([]detail, 0, len(d))
	for k, v := range d {
		out = append(out, detail{Key: k, Value: valueText(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "—"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e)
		}
		return strings.Join(parts, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// auditLog is the audit log, newest first, narrowed by the filters, a page at a time.
func (c *Console) auditLog(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.AuditRead); err != nil {
		c.fail(w, r, err)
		return
	}
	v := r.URL.Query()
	p := &auditPage{base: base{Title: "Audit log", Nav: "audit"}, Query: readAuditQuery(v)}
	f, bad := p.Query.filter()
	if len(bad) > 0 {
		p.Errors, p.Message = bad, "Correct the filters marked below."
		c.render(w, r, http.StatusUnprocessableEntity, "audit", p)
		return
	}
	f.Limit, f.Cursor = pageSize, v.Get("cursor")
	events, next, err := c.deps.Users.Audit(r.Context(), m.Actor, f)
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		if _, badCursor := fields["cursor"]; badCursor {
			http.Redirect(w, r, p.Query.URL(), http.StatusSeeOther)
			return
		}
		p.Errors = fields
		p.Message = summary(msg, fields, func(f string) bool { _, ok := p.Query.values()[f]; return ok || f == "from" || f == "to" })
		c.render(w, r, status, "audit", p)
		return
	}
	for _, e := range events {
		p.Events = append(p.Events, auditRow{Event: e, Details: readable(e.Details)})
	}
	p.Next, p.Prev = pageLinks("/audit", p.Query.values(), f.Cursor, v["trail"], next)
	c.render(w, r, http.StatusOK, "audit", p)
}

// auditExport downloads what the audit log's filters select, with the same service call as the
// API's export: checked and recorded before the first byte, then streamed a page at a time.
// crossSite reports whether another site started a request. A download writes an audit event:
// another site may not start one (a GET passes the cross-origin check, and the session cookie
// goes with a top-level link).
func crossSite(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "same-origin" && site != "none"
}

func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, m *me) {
	if crossSite(r) {
		c.fail(w, r, errs.E(errs.Forbidden, "audit.export_cross_site", "Start the download from usher's audit log page."))
		return
	}
	q := readAuditQuery(r.URL.Query())
	f, bad := q.filter()
	if len(bad) > 0 {
		http.Redirect(w, r, q.URL(), http.StatusSeeOther) // the log shows what is wrong with the filters
		return
	}
	x, err := c.deps.Users.ExportAudit(r.Context(), m.Actor, f, r.URL.Query().Get("format"))
	if err != nil {
		c.download(w, r, q.URL(), err, "", "", nil)
		return
	}
	c.download(w, r, q.URL(), nil, x.ContentType(), x.FileName(), func(w io.Writer) error {
		_, err := x.Write(r.Context(), w)
		return err
	})
}

// download answers a request for a file that the service prepared (err is its refusal): the
// file, written as it is made; a refusal that is about the request on the page it came from
// (back), with the reason; an error that cuts the file short breaks the connection, so that
// a cut file cannot look whole.
func (c *Console) download(w http.ResponseWriter, r *http.Request, back string, err error, contentType, name string, write func(io.Writer) error) {
	if err != nil {
		if errs.Is(errs.Invalid, err) {
			c.redirect(w, r, back, flash{Kind: "error", Text: "Nothing was downloaded: " + message(err)})
			return
		}
		c.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if err := write(w); err != nil {
		c.deps.Logger.Error("download broke off", "path", r.URL.Path, "request_id", client(r).RequestID, "err", err)
		panic(http.ErrAbortHandler)
	}
}

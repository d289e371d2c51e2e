package web

import (
	"net/http"
	"net/url"

	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/user"
)

type outboxPage struct {
	base
	Status   string
	Messages []outboxRow
	Next     string
	Prev     string
	Errors   map[string]string
	Message  string
}

// outboxRow is an outbox entry as the page shows it: never its content, which may hold live links.
type outboxRow struct {
	mail.Entry
	State string // queued, retrying, sent or failed: the badge's word and class
}

// stateOf is where a message is, in the words of the page: a queued message whose last try
// failed is being retried.
func stateOf(e mail.Entry) string {
	if e.Status == mail.Queued && e.LastError != "" {
		return "retrying"
	}
	return string(e.Status)
}

// outbox lists the emails usher sent, is sending or gave up on, newest first, for administrators.
func (c *Console) outbox(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.SettingsManage); err != nil {
		c.fail(w, r, err)
		return
	}
	v := r.URL.Query()
	p := &outboxPage{base: base{Title: "Email outbox", Nav: "outbox"}, Status: v.Get("status")}
	query := url.Values{}
	if p.Status != "" {
		query.Set("status", p.Status)
	}
	cursor := v.Get("cursor")
	entries, next, err := c.deps.Mail.List(r.Context(), m.Actor, mail.Filter{Status: mail.Status(p.Status), Limit: pageSize, Cursor: cursor})
	if err != nil {
		msg, fields, status, ok := formError(err)
		if !ok {
			c.fail(w, r, err)
			return
		}
		if _, badCursor := fields["cursor"]; badCursor {
			http.Redirect(w, r, "/outbox", http.StatusSeeOther)
			return
		}
		p.Errors, p.Message = fields, summary(msg, fields, func(f string) bool { return f == "status" })
		c.render(w, r, status, "outbox", p)
		return
	}
	for _, e := range entries {
		p.Messages = append(p.Messages, outboxRow{Entry: e, State: stateOf(e)})
	}
	p.Next, p.Prev = pageLinks("/outbox", query, cursor, v["trail"], next)
	c.render(w, r, http.StatusOK, "outbox", p)
}

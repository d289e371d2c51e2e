package mail

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// LogStore reads the outbox: a page of entries, newest first, and the cursor of the next page
// ("" on the last).
type LogStore interface {
	Outbox(ctx context.Context, f Filter) ([]Entry, string, error)
}

// Log shows administrators what usher sent and what it could not send, so failures stay
// visible. It never shows a message's body: reset links in it are live secrets.
type Log struct{ store LogStore }

// NewLog returns the outbox log on st.
func NewLog(st LogStore) *Log { return &Log{store: st} }

// List returns a page of outbox entries, newest first (Filter.PageSize of them), and the cursor
// of the next page. It needs settings.manage: the list names every recipient.
func (l *Log) List(ctx context.Context, a user.Actor, f Filter) ([]Entry, string, error) {
	if err := a.Require(user.SettingsManage); err != nil {
		return nil, "", err
	}
	if f.Status != "" && f.Status != Queued && f.Status != Sent && f.Status != Failed {
		return nil, "", errs.Field("status", "mail.status_invalid", "The status must be queued, sent or failed.")
	}
	f.Limit = f.PageSize()
	entries, next, err := l.store.Outbox(ctx, f)
	for i := range entries {
		entries[i].Body = ""
	}
	return entries, next, err
}

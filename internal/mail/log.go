package mail

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// LogStore reads the outbox.
type LogStore interface {
	Outbox(ctx context.Context, f Filter) ([]Entry, error)
}

// Log shows administrators what usher sent and what it could not send, so failures stay
// visible. It never shows a message's body: reset links in it are live secrets.
type Log struct{ store LogStore }

// NewLog returns the outbox log on st.
func NewLog(st LogStore) *Log { return &Log{store: st} }

// List returns outbox entries, newest first. It needs settings.manage: the list names every
// recipient.
func (l *Log) List(ctx context.Context, a user.Actor, f Filter) ([]Entry, error) {
	if err := a.Require(user.SettingsManage); err != nil {
		return nil, err
	}
	if f.Status != "" && f.Status != Queued && f.Status != Sent && f.Status != Failed {
		return nil, errs.Field("status", "mail.status_invalid", "The status must be queued, sent or failed.")
	}
	entries, err := l.store.Outbox(ctx, f)
	for i := range entries {
		entries[i].Body = ""
	}
	return entries, err
}

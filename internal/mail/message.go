// Package mail is usher's email: messages rendered from embedded templates, an outbox written in
// the transaction of the change that causes each message, a background job that sends it with
// retries, and the senders (SMTP, or .eml files in the data directory when no SMTP server is
// configured).
package mail

import (
	"context"
	"time"
)

// Kinds of message.
const (
	KindPasswordReset      = "password_reset"
	KindAccountLocked      = "account_locked"
	KindAccountLockedAdmin = "account_locked_admin"
	KindInvitation         = "invitation"
	KindTest               = "test"
)

// Message is one email to send: what services hand to Outbox.Enqueue.
type Message struct {
	Kind    string
	UserID  string // the user the message is about; empty when none
	To      string // one address
	Subject string
	Text    string
	HTML    string
}

// Status is where an outbox entry is.
type Status string

// The statuses of an outbox entry. A queued entry with attempts and a last error is being
// retried; failed means River gave up after the last attempt.
const (
	Queued Status = "queued"
	Sent   Status = "sent"
	Failed Status = "failed"
)

// Entry is one message in the outbox, as stored.
type Entry struct {
	ID        string // UUIDv7, so ids sort by creation
	Kind      string
	UserID    string
	To        string
	Subject   string
	Body      string // the text and HTML parts, sealed; empty once sent
	Status    Status
	Attempts  int
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
	SentAt    *time.Time
}

// Filter narrows a listing of the outbox. Zero values match everything.
type Filter struct {
	Status Status
	UserID string
	Kind   string
	Limit  int    // see PageSize
	Cursor string // the next cursor of the page before; the store made it and checks it
}

// A listing of the outbox returns DefaultPage entries when it names no limit, and never more
// than MaxPage.
const (
	DefaultPage = 100
	MaxPage     = 500
)

// PageSize is how many entries a listing of f returns at most: its Limit, within the bounds
// above. Every surface and the store go by it.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultPage
	case f.Limit > MaxPage:
		return MaxPage
	}
	return f.Limit
}

// Attempt is the outcome of one try at sending an entry.
type Attempt struct {
	Number int    // River's attempt number, from 1
	Status Status // Queued when it will be retried, Sent or Failed
	Error  string // empty when sent
	At     time.Time
}

// Store is the outbox's persistence; the store package implements it.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	InsertOutbox(ctx context.Context, e *Entry) error
	OutboxEntry(ctx context.Context, id string) (*Entry, error)
	// RecordOutboxAttempt stores an attempt's outcome; a sent entry loses its body.
	RecordOutboxAttempt(ctx context.Context, id string, a Attempt) error
}

// Sender delivers a message. The outbox id makes a stable Message-ID, so that a message sent
// twice (a retry after a lost reply) can be recognised as one.
type Sender interface {
	Send(ctx context.Context, outboxID string, m *Message) error
}

package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/secret"
)

// MaxAttempts is how many times a message is tried before it is marked failed. With River's
// default backoff (attempt⁴ seconds) the last try comes about four hours after the first.
const MaxAttempts = 10

// Jobs inserts background jobs in the caller's transaction (job.Runner does).
type Jobs interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// SendArgs is the job that sends one outbox entry.
type SendArgs struct {
	OutboxID string `json:"outbox_id"`
}

// Kind names the job in River.
func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts gives every send job MaxAttempts.
func (SendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: MaxAttempts} }

// Outbox writes messages in the caller's transaction and sends them from a background job.
type Outbox struct {
	store  Store
	jobs   Jobs
	box    *secret.Box
	sender Sender
	logger *slog.Logger
	now    func() time.Time
}

// NewOutbox returns the outbox. box seals message bodies at rest; sender delivers them. Register
// Worker with the job runner before starting it.
func NewOutbox(st Store, jobs Jobs, box *secret.Box, sender Sender, logger *slog.Logger) *Outbox {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{store: st, jobs: jobs, box: box, sender: sender, logger: logger.With("component", "mail"),
		now: func() time.Time { return time.Now().UTC() }}
}

// Sender is where the outbox delivers.
func (o *Outbox) Sender() Sender { return o.sender }

// body is what Entry.Body seals.
type body struct {
	Text string `json:"text"`
	HTML string `json:"html,omitempty"`
}

// Enqueue writes m to the outbox together with the job that sends it, and returns the entry's
// id. Called inside store.InTx, both commit or roll back with the caller's change: a message
// is sent exactly when the change that causes it happened. Outside a transaction it makes one.
func (o *Outbox) Enqueue(ctx context.Context, m *Message) (string, error) {
	if m.Kind == "" || m.Subject == "" || m.Text == "" {
		return "", errors.New("mail: a message needs a kind, a subject and a text part")
	}
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return "", errs.Field("to", "mail.bad_address", fmt.Sprintf("%q is not an email address usher can send to.", m.To))
	}
	plain, err := json.Marshal(body{Text: m.Text, HTML: m.HTML})
	if err != nil {
		return "", err
	}
	sealed, err := o.box.Seal(plain)
	if err != nil {
		return "", fmt.Errorf("mail: seal: %w", err)
	}
	now := o.now()
	e := &Entry{ID: uuid.Must(uuid.NewV7()).String(), Kind: m.Kind, UserID: m.UserID, To: m.To, Subject: m.Subject,
		Body: sealed, Status: Queued, CreatedAt: now, UpdatedAt: now}
	err = o.store.InTx(ctx, func(ctx context.Context) error {
		if err := o.store.InsertOutbox(ctx, e); err != nil {
			return err
		}
		_, err := o.jobs.Insert(ctx, SendArgs{OutboxID: e.ID}, nil)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("mail: enqueue %s: %w", m.Kind, err)
	}
	return e.ID, nil
}

// Open reads a stored entry back into a message, body and all: for the worker that sends it,
// and for tests that check what usher sent. Nothing shows it to a person (see Log).
func (o *Outbox) Open(e *Entry) (*Message, error) {
	plain, err := o.box.Open(e.Body)
	if err != nil {
		return nil, fmt.Errorf("mail: open the stored message: %w", err)
	}
	var b body
	if err := json.Unmarshal(plain, &b); err != nil {
		return nil, fmt.Errorf("mail: the stored message is damaged: %w", err)
	}
	return &Message{Kind: e.Kind, UserID: e.UserID, To: e.To, Subject: e.Subject, Text: b.Text, HTML: b.HTML}, nil
}

// Worker is the River worker of SendArgs jobs.
func (o *Outbox) Worker() river.Worker[SendArgs] { return &sendWorker{o: o} }

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	o *Outbox
}

// maxErrorLen bounds the last error kept on an entry.
const maxErrorLen = 1000

// Work sends one entry and records the attempt on it. An error makes River retry with backoff;
// the entry shows each attempt's number and error, and becomes failed after the last one.
// Delivery is at least once: a message whose sending succeeded but could not be recorded is
// sent again, with the same Message-ID.
func (w *sendWorker) Work(ctx context.Context, j *river.Job[SendArgs]) error {
	o := w.o
	e, err := o.store.OutboxEntry(ctx, j.Args.OutboxID)
	if errs.Is(errs.NotFound, err) {
		return river.JobCancel(fmt.Errorf("mail: outbox entry %s is gone", j.Args.OutboxID))
	} else if err != nil {
		return err
	}
	if e.Status == Sent {
		return nil
	}
	m, err := o.Open(e)
	if err == nil {
		err = o.sender.Send(ctx, e.ID, m)
	}
	// Record even when the job's context has ended, so that the failure is visible.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		status := Queued
		if j.Attempt >= j.MaxAttempts {
			status = Failed
		}
		msg := err.Error()
		if len(msg) > maxErrorLen {
			msg = msg[:maxErrorLen]
		}
		if rerr := o.store.RecordOutboxAttempt(rctx, e.ID, Attempt{Number: j.Attempt, Status: status, Error: msg, At: o.now()}); rerr != nil {
			o.logger.Error("could not record a failed email attempt", "outbox_id", e.ID, "error", rerr)
		}
		o.logger.Warn("email not sent", "outbox_id", e.ID, "kind", e.Kind, "attempt", j.Attempt,
			"max_attempts", j.MaxAttempts, "status", string(status), "error", msg)
		return err
	}
	if err := o.store.RecordOutboxAttempt(rctx, e.ID, Attempt{Number: j.Attempt, Status: Sent, At: o.now()}); err != nil {
		return fmt.Errorf("mail: sent, but recording it failed (it will be sent again): %w", err)
	}
	o.logger.Info("email sent", "outbox_id", e.ID, "kind", e.Kind, "attempt", j.Attempt)
	return nil
}

package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/mail/mailtest"
	"github.com/usherhq/usher/internal/secret"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

const (
	smtpUser     = "usher-relay"
	smtpPassword = "correct horse battery staple"
	from         = "usher@example.org"
	resetLink    = "https://usher.example.com/reset?token=s3cr3t-t0ken"
)

// logBuffer collects every log line, of usher and of River, to check what reaches the log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fastRetry retries after 100 ms, so that ten attempts take about a second.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

type fixture struct {
	st     *store.Store
	outbox *mail.Outbox
	logs   *logBuffer
}

// newFixture starts River on st with the outbox's worker and fast retries.
func newFixture(t *testing.T, st *store.Store, sender mail.Sender) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := job.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runner, err := job.New(st, job.Options{Logger: logger, RetryPolicy: fastRetry{}, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := secret.GenerateKey()
	box, _ := secret.NewBox(key)
	outbox := mail.NewOutbox(st, runner, box, sender, logger)
	if err := job.AddWorker(runner, outbox.Worker()); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
	return &fixture{st: st, outbox: outbox, logs: logs}
}

// tlsServer starts an SMTP server that offers STARTTLS and requires AUTH, and returns it with
// the client TLS configuration that trusts it.
func tlsServer(t *testing.T, addr string) (*mailtest.Server, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := mailtest.Certificate(t)
	return mailtest.Start(t, mailtest.Options{Addr: addr, Username: smtpUser, Password: smtpPassword, TLS: serverTLS}), clientTLS
}

// smtpSender sends to addr with STARTTLS (the default mode) and AUTH.
func smtpSender(t *testing.T, addr, password string, clientTLS *tls.Config) *mail.SMTP {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: p, TLS: mail.TLSStartTLS, Username: smtpUser, Password: password,
		From: from, Timeout: 5 * time.Second, TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func resetMessage(t *testing.T, to string) *mail.Message {
	t.Helper()
	m, err := mail.PasswordReset{To: mail.Recipient{Name: "Ada", Email: to}, Link: resetLink, ExpiresIn: 30 * time.Minute}.Message()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitEntry polls the outbox entry until ok says yes.
func waitEntry(t *testing.T, st *store.Store, id string, timeout time.Duration, what string, ok func(*mail.Entry) bool) *mail.Entry {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e, err := st.OutboxEntry(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox entry not %s within %s: %+v", what, timeout, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parts parses a received message and returns its text and HTML parts, decoded.
func parts(t *testing.T, msg *netmail.Message) (text, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative (%v)", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	if text == "" || html == "" {
		t.Fatalf("want a text and an HTML part, got text %q html %q", text, html)
	}
	return text, html
}

var errRollback = errors.New("the change failed")

// TestOutboxSMTP (MAIL): a message enqueued with a committed change arrives over SMTP with the
// right headers and both parts; one enqueued with a change that rolls back never exists.
func TestOutboxSMTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		srv, clientTLS := tlsServer(t, "")
		f := newFixture(t, st, smtpSender(t, srv.Addr, smtpPassword, clientTLS))
		ctx := context.Background()

		err := st.InTx(ctx, func(ctx context.Context) error {
			if err := st.AppendAudit(ctx, audit.Event{Action: "test.doomed", Outcome: audit.Success}); err != nil {
				return err
			}
			if _, err := f.outbox.Enqueue(ctx, resetMessage(t, "doomed@example.org")); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("rolled-back change: %v", err)
		}
		var id string
		err = st.InTx(ctx, func(ctx context.Context) error {
			if err := st.AppendAudit(ctx, audit.Event{Action: "test.reset", Outcome: audit.Success}); err != nil {
				return err
			}
			var err error
			id, err = f.outbox.Enqueue(ctx, resetMessage(t, "ada@example.org"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		got := srv.Wait(t, 1, 15*time.Second)[0]
		if got.From != from || len(got.To) != 1 || got.To[0] != "ada@example.org" || got.Auth != smtpUser {
			t.Fatalf("envelope from %q to %v auth %q", got.From, got.To, got.Auth)
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(got.Data))
		if err != nil {
			t.Fatal(err)
		}
		h := msg.Header
		if h.Get("From") != "<"+from+">" && h.Get("From") != from {
			t.Errorf("From: %q", h.Get("From"))
		}
		if h.Get("To") != "<ada@example.org>" && h.Get("To") != "ada@example.org" {
			t.Errorf("To: %q", h.Get("To"))
		}
		if h.Get("Subject") != "Reset your password" {
			t.Errorf("Subject: %q", h.Get("Subject"))
		}
		if h.Get("Message-Id") != "<"+id+"@example.org>" {
			t.Errorf("Message-ID %q, want <%s@example.org>", h.Get("Message-Id"), id)
		}
		if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
			t.Errorf("Date: %q (%v)", h.Get("Date"), err)
		}
		if h.Get("Mime-Version") != "1.0" {
			t.Errorf("MIME-Version: %q", h.Get("Mime-Version"))
		}
		text, html := parts(t, msg)
		if !strings.Contains(text, resetLink) || !strings.Contains(text, "Hello Ada") {
			t.Errorf("text part:\n%s", text)
		}
		if !strings.Contains(html, `href="`+resetLink+`"`) {
			t.Errorf("HTML part:\n%s", html)
		}

		e := waitEntry(t, st, id, 10*time.Second, "sent", func(e *mail.Entry) bool { return e.Status == mail.Sent })
		if e.Attempts != 1 || e.LastError != "" || e.SentAt == nil || e.Body != "" || e.Kind != mail.KindPasswordReset {
			t.Errorf("sent entry %+v: want 1 attempt, no error, a sent time and no body kept", e)
		}
		// the rolled-back message: no entry, no job, no delivery
		entries, _, err := st.Outbox(ctx, mail.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].ID != id {
			t.Fatalf("outbox holds %+v, want only the committed message", entries)
		}
		var n int
		if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d jobs (%v), want 1", n, err)
		}
		time.Sleep(300 * time.Millisecond)
		if msgs := srv.Messages(); len(msgs) != 1 {
			t.Fatalf("%d messages received, want 1", len(msgs))
		}
		logs := f.logs.String()
		for _, secretText := range []string{smtpPassword, "s3cr3t-t0ken"} {
			if strings.Contains(logs, secretText) {
				t.Errorf("the log shows %q:\n%s", secretText, logs)
			}
		}
	})
}

// TestOutboxSMTPDown (MAIL): with nothing listening the message stays queued, its attempts and
// last error visible; once a server listens on that port it is delivered.
func TestOutboxSMTPDown(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		addr := mailtest.FreeAddr(t)
		serverTLS, clientTLS := mailtest.Certificate(t)
		f := newFixture(t, st, smtpSender(t, addr, smtpPassword, clientTLS))
		ctx := context.Background()
		id, err := f.outbox.Enqueue(ctx, resetMessage(t, "ada@example.org")) // its own transaction
		if err != nil {
			t.Fatal(err)
		}
		e := waitEntry(t, st, id, 15*time.Second, "retried twice", func(e *mail.Entry) bool { return e.Attempts >= 2 })
		if e.Status != mail.Queued || !strings.Contains(e.LastError, "connection refused") || e.SentAt != nil {
			t.Fatalf("while the server is down: %+v; want queued with the connection error", e)
		}
		if strings.Contains(e.LastError, smtpPassword) {
			t.Fatal("the last error shows the SMTP password")
		}
		queued, _, err := st.Outbox(ctx, mail.Filter{Status: mail.Queued})
		if err != nil || len(queued) != 1 || queued[0].ID != id {
			t.Fatalf("the listing of queued messages: %+v, %v", queued, err)
		}

		srv := mailtest.Start(t, mailtest.Options{Addr: addr, Username: smtpUser, Password: smtpPassword, TLS: serverTLS})
		srv.Wait(t, 1, 15*time.Second)
		e = waitEntry(t, st, id, 10*time.Second, "sent", func(e *mail.Entry) bool { return e.Status == mail.Sent })
		if e.Attempts < 3 || e.SentAt == nil {
			t.Fatalf("after the server came up: %+v; want sent after at least 3 attempts", e)
		}
		if strings.Contains(f.logs.String(), smtpPassword) {
			t.Fatal("the log shows the SMTP password")
		}
	})
}

// TestOutboxGivesUp: after the last attempt the entry is failed, with every attempt counted.
func TestOutboxGivesUp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		srv, clientTLS := tlsServer(t, "")
		f := newFixture(t, st, smtpSender(t, srv.Addr, "a wrong password", clientTLS))
		id, err := f.outbox.Enqueue(context.Background(), resetMessage(t, "ada@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		e := waitEntry(t, st, id, 30*time.Second, "failed", func(e *mail.Entry) bool { return e.Status == mail.Failed })
		if e.Attempts != mail.MaxAttempts || !strings.Contains(e.LastError, "535") {
			t.Fatalf("failed entry %+v: want %d attempts and the server's refusal", e, mail.MaxAttempts)
		}
		if strings.Contains(e.LastError, "a wrong password") || strings.Contains(f.logs.String(), "a wrong password") {
			t.Fatal("the password reached the entry or the log")
		}
		if len(srv.Messages()) != 0 {
			t.Fatal("a message was accepted without authentication")
		}
	})
}

// TestOutboxFileSender: without SMTP, messages become parseable .eml files in the mail drop.
func TestOutboxFileSender(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "mail")
		logs := &logBuffer{}
		sender := mail.NewFileSender(dir, from, slog.New(slog.NewTextHandler(logs, nil)))
		f := newFixture(t, st, sender)
		m, err := mail.Test{To: "ops@example.org", PublicURL: "https://usher.example.com", At: time.Now()}.Message()
		if err != nil {
			t.Fatal(err)
		}
		id, err := f.outbox.Enqueue(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		waitEntry(t, st, id, 15*time.Second, "sent", func(e *mail.Entry) bool { return e.Status == mail.Sent })
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) != 1 || !strings.Contains(files[0], id) {
			t.Fatalf("mail drop holds %v, want one .eml named after %s", files, id)
		}
		if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
			t.Errorf("the .eml file has mode %04o, want 0600", fi.Mode().Perm())
		}
		if !strings.Contains(logs.String(), files[0]) {
			t.Errorf("the log does not name %s:\n%s", files[0], logs.String())
		}
		b, _ := os.ReadFile(files[0])
		msg, err := netmail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Subject") != "usher test message" || !strings.Contains(msg.Header.Get("To"), "ops@example.org") ||
			!strings.Contains(msg.Header.Get("From"), from) || msg.Header.Get("Message-Id") != "<"+id+"@example.org>" {
			t.Fatalf("headers %v", msg.Header)
		}
		text, html := parts(t, msg)
		if !strings.Contains(text, "https://usher.example.com") || !strings.Contains(html, "usher can send email") {
			t.Fatalf("parts: %q / %q", text, html)
		}
	})
}

func TestEnqueueRefusesBadMessages(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	f := newFixture(t, st, mail.NewFileSender(t.TempDir(), from, nil))
	good := resetMessage(t, "ada@example.org")
	for name, m := range map[string]mail.Message{
		"no address":  {Kind: good.Kind, Subject: good.Subject, Text: good.Text},
		"bad address": {Kind: good.Kind, To: "not an address", Subject: good.Subject, Text: good.Text},
		"no kind":     {To: good.To, Subject: good.Subject, Text: good.Text},
		"no text":     {Kind: good.Kind, To: good.To, Subject: good.Subject},
	} {
		if _, err := f.outbox.Enqueue(context.Background(), &m); err == nil {
			t.Errorf("%s: enqueued", name)
		}
	}
	if entries, _, _ := st.Outbox(context.Background(), mail.Filter{}); len(entries) != 0 {
		t.Fatalf("bad messages reached the outbox: %+v", entries)
	}
}

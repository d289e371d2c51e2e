package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// build makes the RFC 5322 message: a text part and an HTML alternative, and a Message-ID made
// from the outbox id so that every attempt at one entry carries the same id.
func build(from, outboxID string, m *Message, now time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: to address %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	domain := "usher.invalid"
	if a, err := netmail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = strings.Trim(d, "[]")
		}
	}
	msg.SetMessageIDWithValue(outboxID + "@" + domain)
	msg.SetGenHeader("X-Usher-Kind", m.Kind)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required
	TLSImplicit = "tls"      // TLS from the first byte (usually port 465)
	TLSNone     = "none"     // no encryption: only for a relay on a trusted network
)

// SMTPConfig is how to reach the SMTP server.
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	Username string // empty for no authentication
	Password string
	From     string
	Timeout  time.Duration // for connecting and for each command; 0 for 30 s
	// TLSConfig overrides the TLS settings (tests use it to trust their own certificate).
	TLSConfig *tls.Config
}

// SMTP sends through an SMTP server, one connection per message.
type SMTP struct {
	cfg  SMTPConfig
	opts []gomail.Option
}

// NewSMTP checks the configuration and returns the sender.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	if c.Host == "" {
		return nil, errors.New("mail: no SMTP host")
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(c.Timeout)}
	switch c.TLS {
	case TLSStartTLS, "":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("mail: unknown SMTP TLS mode %q", c.TLS)
	}
	if c.TLSConfig != nil {
		tc := c.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = c.Host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	// Fail now, not at the first message, on options go-mail refuses.
	if _, err := gomail.NewClient(c.Host, opts...); err != nil {
		return nil, fmt.Errorf("mail: SMTP settings: %w", err)
	}
	return &SMTP{cfg: c, opts: opts}, nil
}

// String names the server, for logs and usher mail test.
func (s *SMTP) String() string {
	return "SMTP " + net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) + " (" + s.cfg.TLS + ")"
}

// Send delivers one message. Its error never contains the password.
func (s *SMTP) Send(ctx context.Context, outboxID string, m *Message) error {
	msg, err := build(s.cfg.From, outboxID, m, time.Now())
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client: %w", err)
	}
	// A deadline for the whole conversation, beyond the per-command timeout.
	ctx, cancel := context.WithTimeout(ctx, 3*s.cfg.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		msg := err.Error()
		if s.cfg.Password != "" {
			msg = strings.ReplaceAll(msg, s.cfg.Password, "xxxxx") // never, but make sure
		}
		return fmt.Errorf("%s: %s", s, msg)
	}
	return nil
}

// FileSender writes each message as an RFC 5322 .eml file in a directory and logs where: the
// mail drop of a usher with no SMTP server, so that a first-time user can open their own links.
type FileSender struct {
	dir    string
	from   string
	logger *slog.Logger
}

// NewFileSender writes into dir (made private to the owner) with from as the sender.
func NewFileSender(dir, from string, logger *slog.Logger) *FileSender {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &FileSender{dir: dir, from: from, logger: logger}
}

// String names the directory, for logs and usher mail test.
func (f *FileSender) String() string { return "the mail drop " + f.dir }

// Send writes the message to <dir>/<time>-<kind>-<outbox id>.eml, readable by the owner only
// (it may hold a single-use link), through a temporary file so that no half message is seen.
func (f *FileSender) Send(_ context.Context, outboxID string, m *Message) error {
	now := time.Now().UTC()
	msg, err := build(f.from, outboxID, m, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("mail: create the mail drop: %w", err)
	}
	path := filepath.Join(f.dir, now.Format("20060102T150405Z")+"-"+m.Kind+"-"+outboxID+".eml")
	tmp, err := os.CreateTemp(f.dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("mail: write to the mail drop: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = msg.WriteTo(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("mail: write %s: %w", path, err)
	}
	f.logger.Info("email written to the mail drop (no SMTP server is configured)", "path", path, "kind", m.Kind, "to", m.To)
	return nil
}

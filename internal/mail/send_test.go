package mail_test

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/mail/mailtest"
)

func sender(t *testing.T, addr, mode, user, password string, clientTLS *tls.Config) *mail.SMTP {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: p, TLS: mode, Username: user, Password: password,
		From: from, Timeout: 5 * time.Second, TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSMTPModes: each TLS mode talks to the server the way it says, and refuses rather than
// falling back to something weaker.
func TestSMTPModes(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := mailtest.Certificate(t)
	for _, tc := range []struct {
		name      string
		server    mailtest.Options
		mode      string
		user      string
		clientTLS *tls.Config
		wantErr   string // empty: delivered
	}{
		{name: "starttls with auth", server: mailtest.Options{TLS: serverTLS, Username: smtpUser, Password: smtpPassword},
			mode: mail.TLSStartTLS, user: smtpUser, clientTLS: clientTLS},
		{name: "implicit tls with auth", server: mailtest.Options{TLS: serverTLS, Implicit: true, Username: smtpUser, Password: smtpPassword},
			mode: mail.TLSImplicit, user: smtpUser, clientTLS: clientTLS},
		{name: "plain relay without auth", server: mailtest.Options{}, mode: mail.TLSNone},
		{name: "starttls required but not offered", server: mailtest.Options{}, mode: mail.TLSStartTLS, clientTLS: clientTLS,
			wantErr: "STARTTLS"},
		{name: "untrusted certificate", server: mailtest.Options{TLS: serverTLS}, mode: mail.TLSStartTLS,
			wantErr: "certificate"},
		{name: "no password over plain text", server: mailtest.Options{Username: smtpUser, Password: smtpPassword},
			mode: mail.TLSNone, user: smtpUser, wantErr: "authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.Start(t, tc.server)
			s := sender(t, srv.Addr, tc.mode, tc.user, smtpPassword, tc.clientTLS)
			m := resetMessage(t, "ada@example.org")
			err := s.Send(context.Background(), "0190aaaa-0000-7000-8000-000000000001", m)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				got := srv.Messages()
				if len(got) != 1 || got[0].Auth != tc.user || !strings.Contains(string(got[0].Data), "Subject: Reset your password") {
					t.Fatalf("received %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v; want one mentioning %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), smtpPassword) {
				t.Fatal("the error shows the password")
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("%d messages accepted", n)
			}
		})
	}
}

func TestNewSMTPRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []mail.SMTPConfig{
		{Port: 587, TLS: mail.TLSStartTLS, From: from},
		{Host: "mail.example.org", Port: 587, TLS: "ssl", From: from},
		{Host: "mail.example.org", Port: 70000, TLS: mail.TLSStartTLS, From: from},
	} {
		if _, err := mail.NewSMTP(c); err == nil {
			t.Errorf("NewSMTP(%+v) accepted", c)
		}
	}
}

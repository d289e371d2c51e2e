package cli_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/mail/mailtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

func TestMailTest(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			opts := storetest.Options(t, d)
			dataDir := t.TempDir()
			args := []string{"--data-dir", dataDir}
			if d == store.Postgres {
				args = append(args, "--database-url", opts.DatabaseURL)
			}

			// no SMTP server configured: the mail drop
			code, stdout, stderr := run(t, nil, append([]string{"mail", "test", "--to", "ops@example.org"}, args...)...)
			if code != 0 || !strings.Contains(stdout, "sent to ops@example.org through the mail drop") {
				t.Fatalf("mail drop: exit %d\n%s%s", code, stdout, stderr)
			}
			files, _ := filepath.Glob(filepath.Join(dataDir, "mail", "*-test-*.eml"))
			if len(files) != 1 || !strings.Contains(stderr, files[0]) {
				t.Fatalf("mail drop holds %v; log:\n%s", files, stderr)
			}
			if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "To: <ops@example.org>") {
				t.Fatalf("the .eml file:\n%s", b)
			}

			// a real SMTP conversation
			srv := mailtest.Start(t, mailtest.Options{})
			host, port, _ := net.SplitHostPort(srv.Addr)
			smtpArgs := append([]string{"mail", "test", "--to", "ops@example.org", "--smtp-host", host, "--smtp-port", port,
				"--smtp-tls", "none", "--mail-from", "usher@example.org"}, args...)
			code, stdout, stderr = run(t, nil, smtpArgs...)
			if code != 0 || !strings.Contains(stdout, "sent to ops@example.org through SMTP "+srv.Addr) {
				t.Fatalf("SMTP: exit %d\n%s%s", code, stdout, stderr)
			}
			got := srv.Wait(t, 1, 5*time.Second)
			if got[0].From != "usher@example.org" || !strings.Contains(string(got[0].Data), "Subject: usher test message") {
				t.Fatalf("received %+v", got[0])
			}

			// nothing listening: the failure and where it stays
			srv.Close()
			code, stdout, stderr = run(t, nil, append(smtpArgs, "--smtp-username", "relay", "--smtp-password", "hunter22hunter")...)
			if code != 1 || !strings.Contains(stderr, "not sent: ") || !strings.Contains(stderr, "connection refused") ||
				!strings.Contains(stderr, "attempt 1 of 10") {
				t.Fatalf("SMTP down: exit %d\n%s%s", code, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "hunter22hunter") {
				t.Fatal("the SMTP password reached the output")
			}
		})
	}
}

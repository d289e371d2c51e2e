package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func load(t *testing.T, environ []string, args ...string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, environ)
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.DataDir != "./usher-data" || c.PublicURL != "http://127.0.0.1:8080" ||
		c.SessionIdle != 2*time.Hour || c.PasswordMinLen != 12 || c.MetricsListen != "" || c.WriteTimeout != 30*time.Second {
		t.Fatalf("defaults %+v", c)
	}
}

// TestPrecedence: defaults < file < environment < flags.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usher.conf")
	os.WriteFile(file, []byte("# comment\nlisten = 127.0.0.1:9000\ndata-dir = /from/file\nlog-level = \"debug\"\npublic-url = https://usher.example.com/\n"), 0o600)
	c, err := load(t, []string{"USHER_CONFIG=" + file, "USHER_DATA_DIR=/from/env", "USHER_LOG_LEVEL=warn"}, "--log-level", "error")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.DataDir != "/from/env" || c.LogLevel != "error" || c.PublicURL != "https://usher.example.com" {
		t.Fatalf("precedence: %+v", c)
	}
}

func TestEveryProblemIsNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usher.conf")
	os.WriteFile(file, []byte("colour = blue\nnot a setting line\n"), 0o600)
	_, err := load(t, []string{"USHER_SESSION_ABSOLUTE=1h", "USHER_PASSWORD_MIN_LENGTH=four"},
		"--config", file, "--listen", "8080", "--public-url", "ftp://x", "--session-idle", "3h", "--log-format", "xml",
		"--admin-password", "short", "--lockout-threshold", "0", "--lockout-auto-unlock", "5s", "--reset-unlocks", "maybe",
		"--metrics-listen", "9090", "--write-timeout", "0s")
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is not a config error", err)
	}
	msg := ce.Error()
	for _, want := range []string{`there is no setting called "colour"`, "line 2 is not name = value", "--listen (USHER_LISTEN, from flag)",
		"--public-url", "--session-idle", "--log-format", "--admin-email (USHER_ADMIN_EMAIL", "--password-min-length (USHER_PASSWORD_MIN_LENGTH, from env)",
		"--lockout-threshold", "--lockout-auto-unlock", `--reset-unlocks (USHER_RESET_UNLOCKS, from flag): "maybe" is not true or false`,
		`--metrics-listen (USHER_METRICS_LISTEN, from flag): "9090" is not host:port`, "--write-timeout (USHER_WRITE_TIMEOUT, from flag): must be at least 1s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
}

// TestMetricsListen: metrics are off unless an address apart from --listen is given.
func TestMetricsListen(t *testing.T) {
	for _, tc := range []struct {
		environ []string
		want    string // "" when valid
	}{
		{[]string{"USHER_METRICS_LISTEN=127.0.0.1:9090"}, ""},
		{[]string{"USHER_METRICS_LISTEN=:9090"}, ""},
		{[]string{"USHER_METRICS_LISTEN=127.0.0.1"}, `"127.0.0.1" is not host:port`},
		{[]string{"USHER_METRICS_LISTEN=metrics.example.org:9090"}, `the host "metrics.example.org" must be an IP address or localhost`},
		{[]string{"USHER_LISTEN=127.0.0.1:8080", "USHER_METRICS_LISTEN=127.0.0.1:8080"}, "must differ from --listen"},
		// The same socket written another way passed, then failed to bind at start.
		{[]string{"USHER_METRICS_LISTEN=:8080"}, `must differ from --listen "127.0.0.1:8080": both would listen on port 8080, --metrics-listen on every address`},
		{[]string{"USHER_METRICS_LISTEN=localhost:8080"}, `must differ from --listen "127.0.0.1:8080": both would listen on port 8080 of 127.0.0.1; metrics are kept off the public address, so give --metrics-listen another port`},
		{[]string{"USHER_METRICS_LISTEN=0.0.0.0:8080"}, "must differ from --listen"},
		{[]string{"USHER_METRICS_LISTEN=[::]:8080"}, "must differ from --listen"},
		{[]string{"USHER_METRICS_LISTEN=[::ffff:127.0.0.1]:8080"}, "must differ from --listen"},
		{[]string{"USHER_METRICS_LISTEN=127.0.0.1:08080"}, "must differ from --listen"},
		{[]string{"USHER_METRICS_LISTEN=[::1]:8080", "USHER_LISTEN=localhost:8080"}, "must differ from --listen"},
		{[]string{"USHER_METRICS_LISTEN=127.0.0.1:8080", "USHER_LISTEN=:8080"}, `both would listen on port 8080, --listen on every address`},
		{[]string{"USHER_METRICS_LISTEN=127.0.0.2:8080"}, ""},
		{[]string{"USHER_METRICS_LISTEN=[::1]:8080"}, ""},
		{[]string{"USHER_METRICS_LISTEN=:9090", "USHER_LISTEN=:8080"}, ""},
		{[]string{"USHER_METRICS_LISTEN=127.0.0.1:0", "USHER_LISTEN=127.0.0.1:0"}, ""},
	} {
		c, err := load(t, tc.environ)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.environ, err)
		case tc.want == "" && c.MetricsListen != strings.TrimPrefix(tc.environ[0], "USHER_METRICS_LISTEN="):
			t.Errorf("%v: metrics-listen %q", tc.environ, c.MetricsListen)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), "--metrics-listen (USHER_METRICS_LISTEN, from env): ") || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one about --metrics-listen saying %q", tc.environ, err, tc.want)
		}
	}
}

func TestPrintHidesSecrets(t *testing.T) {
	c, err := load(t, nil, "--database-url", "postgres://usher:hunter22@db:5432/usher", "--admin-email", "a@example.org", "--admin-password", "a long enough secret")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	c.Print(&b)
	if strings.Contains(b.String(), "hunter22") || strings.Contains(b.String(), "a long enough secret") {
		t.Fatalf("Print shows a secret:\n%s", b.String())
	}
}

// TestInvitationSettings: an invitation link works 15 days unless configured, within bounds.
func TestInvitationSettings(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.InvitationValid != 15*24*time.Hour || c.InviteResend != time.Minute {
		t.Fatalf("defaults: lifetime %s, resend interval %s", c.InvitationValid, c.InviteResend)
	}
	c, err = load(t, []string{"USHER_INVITATION_LIFETIME=48h"}, "--invitation-resend-interval", "0s")
	if err != nil {
		t.Fatal(err)
	}
	if c.InvitationValid != 48*time.Hour || c.InviteResend != 0 {
		t.Fatalf("lifetime %s, resend interval %s", c.InvitationValid, c.InviteResend)
	}
	for _, tc := range []struct{ env, want string }{
		{"USHER_INVITATION_LIFETIME=30m", "--invitation-lifetime (USHER_INVITATION_LIFETIME, from env): must be between 1h and 2160h (90 days)"},
		{"USHER_INVITATION_LIFETIME=2161h", "--invitation-lifetime (USHER_INVITATION_LIFETIME, from env): must be between 1h and 2160h (90 days)"},
		{"USHER_INVITATION_LIFETIME=15d", `"15d" is not a duration`},
		{"USHER_INVITATION_RESEND_INTERVAL=-1s", "--invitation-resend-interval (USHER_INVITATION_RESEND_INTERVAL, from env): must be between 0 (no interval) and 24h"},
	} {
		if _, err := load(t, []string{tc.env}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.env, err, tc.want)
		}
	}
}

func TestImportMaxSize(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ImportMaxSize != 512<<20 {
		t.Fatalf("default import size %d, want 512 MiB", c.ImportMaxSize)
	}
	for in, want := range map[string]int64{"2GiB": 2 << 30, "100MB": 100e6, "65536": 65536, "64 KiB": 64 << 10} {
		c, err := load(t, []string{"USHER_IMPORT_MAX_SIZE=" + in})
		if err != nil || c.ImportMaxSize != want {
			t.Errorf("%q: %d, %v; want %d", in, c.ImportMaxSize, err, want)
		}
	}
	for _, in := range []string{"lots", "-1MiB", "12", "9999999999GiB"} {
		if _, err := load(t, []string{"USHER_IMPORT_MAX_SIZE=" + in}); err == nil || !strings.Contains(err.Error(), "import-max-size") {
			t.Errorf("%q: %v, want an error naming import-max-size", in, err)
		}
	}
}

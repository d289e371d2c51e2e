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
		c.SessionIdle != 2*time.Hour || c.PasswordMinLen != 12 {
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
		"--admin-password", "short", "--lockout-threshold", "0", "--lockout-auto-unlock", "5s", "--reset-unlocks", "maybe")
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is not a config error", err)
	}
	msg := ce.Error()
	for _, want := range []string{`there is no setting called "colour"`, "line 2 is not name = value", "--listen (USHER_LISTEN, from flag)",
		"--public-url", "--session-idle", "--log-format", "--admin-email (USHER_ADMIN_EMAIL", "--password-min-length (USHER_PASSWORD_MIN_LENGTH, from env)",
		"--lockout-threshold", "--lockout-auto-unlock", `--reset-unlocks (USHER_RESET_UNLOCKS, from flag): "maybe" is not true or false`} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
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

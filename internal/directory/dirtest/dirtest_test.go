package dirtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/directory/dirtest"
)

func TestMain(m *testing.M) { dirtest.Main(m) }

// stopper is a testing.TB whose Skip and Fatal record what they were told and end the
// goroutine, as the real ones do, without ending the test that uses it.
type stopper struct {
	testing.TB
	mu   sync.Mutex
	how  string // "skip" or "fatal"
	said string
}

func (s *stopper) stop(how string, args ...any) {
	s.mu.Lock()
	s.how, s.said = how, fmt.Sprint(args...)
	s.mu.Unlock()
	runtime.Goexit()
}

func (s *stopper) Skip(args ...any)  { s.stop("skip", args...) }
func (s *stopper) Fatal(args ...any) { s.stop("fatal", args...) }

func TestMissingServersSkipExceptInCI(t *testing.T) {
	// Not parallel: it sets the environment.
	t.Setenv("PATH", t.TempDir())
	starts := []struct {
		name    string
		start   func(testing.TB)
		install string
	}{
		{"OpenLDAP", func(t testing.TB) { dirtest.OpenLDAP(t) }, "apt-get install slapd ldap-utils"},
		{"OpenLDAPWith", func(t testing.TB) { dirtest.OpenLDAPWith(t, dirtest.LDAPOptions{Users: 10}) }, "apt-get install slapd ldap-utils"},
		{"ActiveDirectory", func(t testing.TB) { dirtest.ActiveDirectory(t) }, "apt-get install --no-install-recommends samba-ad-dc samba-ad-provision"},
	}
	for _, tt := range starts {
		for _, ci := range []string{"", "true"} {
			t.Setenv("CI", ci)
			s := &stopper{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				tt.start(s)
			}()
			<-done
			want := "skip"
			if ci == "true" {
				want = "fatal"
			}
			if s.how != want || !strings.Contains(s.said, tt.install) || !strings.Contains(s.said, "make directory-servers") || strings.Contains(s.said, "\n") {
				t.Errorf("%s with CI=%q: %s %q, want %s with one line saying what to install", tt.name, ci, s.how, s.said, want)
			}
		}
	}
	if _, err := dirtest.StartLDAPServer("", dirtest.LDAPOptions{}); err == nil || !strings.Contains(err.Error(), "make directory-servers") {
		t.Errorf("StartLDAPServer without slapd: %v, want what to install", err)
	}
}

func TestAFailedStartSaysWhatTheServerPrinted(t *testing.T) {
	// Not parallel: it sets the environment.
	slapadd, err := exec.LookPath("slapadd")
	if err != nil {
		t.Skip("slapadd is missing; TestMissingServersSkipExceptInCI covers that")
	}
	bin := t.TempDir()
	fake := "#!/bin/sh\necho 'fake slapd: /etc/ldap/slapd.conf: line 7: unknown directive' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "slapd"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(slapadd, filepath.Join(bin, "slapadd")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	s, err := dirtest.StartLDAPServer("", dirtest.LDAPOptions{})
	if err == nil {
		_ = s.Stop()
		t.Fatal("StartLDAPServer started the fake slapd")
	}
	if msg := err.Error(); !strings.Contains(msg, "slapd did not start") || !strings.Contains(msg, "line 7: unknown directive") {
		t.Errorf("StartLDAPServer: %v; want what slapd printed", err)
	}
}

func TestSilentListenerNeverAnswers(t *testing.T) {
	t.Parallel()
	addr := dirtest.SilentListener(t)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var ne net.Error
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read from the silent listener: %d bytes, %v; want a timeout", n, err)
	}

	// An LDAP client with a timeout gives up on it.
	l, err := ldap.DialURL("ldap://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetTimeout(300 * time.Millisecond)
	start := time.Now()
	if err := l.Bind("cn=admin,dc=example,dc=org", "secret"); err == nil {
		t.Error("a bind to the silent listener succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the bind gave up after %s, want about the 300 ms timeout", d)
	}
}

func TestGenerateLDIF(t *testing.T) {
	t.Parallel()
	gen := func(n int, seed int64) string {
		var b bytes.Buffer
		if err := dirtest.GenerateLDIF(&b, "dc=example,dc=org", n, seed); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	a := gen(2500, 1)
	if a != gen(2500, 1) {
		t.Error("the same seed gave different LDIF")
	}
	if a == gen(2500, 2) {
		t.Error("another seed gave the same LDIF")
	}
	entries := strings.Split(strings.TrimSpace(a), "\n\n")
	count := func(prefix string) int {
		n := 0
		for _, line := range strings.Split(a, "\n") {
			if strings.HasPrefix(line, prefix) {
				n++
			}
		}
		return n
	}
	mails := map[string]bool{}
	for _, line := range strings.Split(a, "\n") {
		if strings.HasPrefix(line, "mail: ") {
			mails[line] = true
		}
	}
	for what, tt := range map[string]struct{ got, want int }{
		"entries":          {len(entries), 2 + 2500 + 25},
		"users":            {count("objectClass: inetOrgPerson"), 2500},
		"groups":           {count("objectClass: groupOfNames"), 25},
		"members":          {count("member: "), 2500},
		"memberOf":         {count("memberOf: "), 2500},
		"passwords":        {count("userPassword: "), 3},
		"distinct mails":   {len(mails), 2500},
		"telephoneNumbers": {count("telephoneNumber: "), 2500},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", what, tt.got, tt.want)
		}
	}
	if got := gen(0, 1); strings.Count(got, "dn: ") != 2 {
		t.Errorf("no users gave:\n%s\nwant only ou=people and ou=groups", got)
	}
}

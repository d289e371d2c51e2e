// Package dirtest starts real directory servers for tests: OpenLDAP's slapd and a Samba Active
// Directory domain controller, each started once per test binary on 127.0.0.1 (Samba on an
// address 127.0.0.N of its own) and stopped when the tests end. Each test gets a subtree of its
// own on the shared server (an ou that is deleted with everything under it when the test ends),
// TLS with a CA the test can trust, and helpers that change entries over the wire as the
// administrator, as a directory's real users would. Only _test.go files import it, except
// StartLDAPServer and GenerateLDIF, which a benchmark program may use too.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { dirtest.Main(m) }
//
// and then, in a test:
//
//	dir := dirtest.OpenLDAP(t)
//	dn := dir.AddUser(t, dirtest.UserSpec{UID: "jdoe", GivenName: "Jane", SN: "Doe"})
//	// … point a directory source at dir.TLSURL, dir.BindDN, dir.BindPassword, dir.CAPEM
//	// and dir.BaseDN, and check what it reads.
//
// ActiveDirectory does the same with Samba (which must run as root: its LDAP ports cannot be
// moved off 389 and 636), OpenLDAPWith gives a test a slapd of its own loaded with many users,
// and SilentListener a server that never answers.
//
// Without slapd (or samba) a test skips with one line saying what to install, except with
// CI=true, where it fails: in CI nothing may be silently skipped. `make test` installs both
// (scripts/directory-servers.sh).
package dirtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds each request a helper sends and each server's start: a server that stops
// answering fails the test after this long instead of hanging the run.
const Timeout = 30 * time.Second

// The one-line messages a test without a server's binaries skips (or, under CI=true, fails) with.
const (
	missingSlapd = "dirtest: slapd or slapadd is not on PATH (Debian puts them in /usr/sbin): install them with `make directory-servers` (apt-get install slapd ldap-utils) to run the OpenLDAP tests"
	missingSamba = "dirtest: samba or samba-tool is not on PATH (Debian puts samba in /usr/sbin): install them with `make directory-servers` (apt-get install --no-install-recommends samba-ad-dc samba-ad-provision) to run the Active Directory tests"
)

var (
	mainRunning atomic.Bool

	// stopping holds what Main stops after the tests: every server this binary started that
	// nothing else has stopped yet.
	stoppingMu sync.Mutex
	stopping   = map[stopper]bool{}
)

type stopper interface{ Stop() error }

func register(s stopper) {
	stoppingMu.Lock()
	defer stoppingMu.Unlock()
	stopping[s] = true
}

func unregister(s stopper) {
	stoppingMu.Lock()
	defer stoppingMu.Unlock()
	delete(stopping, s)
}

// Main runs the package's tests and then stops every server a test started, so that none
// outlives the test binary (the kernel also kills them if the binary dies: see startProcess).
func Main(m *testing.M) {
	done := Within()
	code := m.Run()
	done()
	os.Exit(code)
}

// Within is Main for a TestMain that starts other servers too: it allows the tests to start
// directory servers, and the function it returns, called after m.Run, stops them.
func Within() (stopServers func()) {
	mainRunning.Store(true)
	return stopAll
}

func stopAll() {
	stoppingMu.Lock()
	all := make([]stopper, 0, len(stopping))
	for s := range stopping {
		all = append(all, s)
	}
	stoppingMu.Unlock()
	for _, s := range all {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// needMain fails a test whose package forgot TestMain: without it a shared server would only
// die with the binary.
func needMain(t testing.TB) {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("dirtest: the package's TestMain must call dirtest.Main(m), which stops the servers after the tests")
	}
}

// missing skips a test whose server is not installed, or fails it under CI=true, where nothing
// may be skipped.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// installed reports whether every program is on PATH.
func installed(programs ...string) bool {
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			return false
		}
	}
	return true
}

// process is a server running in the foreground as a child of this binary.
type process struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.Closer // a pipe the server watches (samba -i exits on its EOF), or nil
	output *limitedBuffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // what Wait returned; set before exited is closed
}

// startProcess starts a server in a process group of its own (so that stopping it stops
// anything it forked) which the kernel kills if this binary dies before stopping it.
func startProcess(name string, args []string, keepStdin bool) (*process, error) {
	p := &process{name: name, output: &limitedBuffer{max: 32 << 10}, exited: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if keepStdin {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		p.stdin = w
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("dirtest: starting %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process group, and SIGKILL if it is still there after a few
// seconds.
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// Anything the server forked that outlived it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// failure describes a server that did not start, with what it printed.
func (p *process) failure(err error) error {
	state := "it is still running"
	if !p.running() {
		state = fmt.Sprintf("it exited (%v)", p.err)
	}
	return fmt.Errorf("dirtest: %s did not start: %w; %s and printed:\n%s", p.name, err, state, p.output)
}

// limitedBuffer keeps the first max bytes written to it, from several goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor calls ready until it succeeds, the process exits or Timeout passes.
func waitFor(p *process, ready func() error) error {
	deadline := time.Now().Add(Timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if !p.running() {
			return p.failure(err)
		}
		if time.Now().After(deadline) {
			return p.failure(fmt.Errorf("not ready within %s: %w", Timeout, err))
		}
		select {
		case <-p.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ownedTempDir makes a new directory os.TempDir()/prefix<random> for a server, and removes
// those of binaries that died without removing theirs (killed, or panicking at a test timeout,
// which skips Main). Beside each directory, dir+".lock" holds an exclusive flock for as long as
// the directory is in use; the kernel drops it when its binary dies. release removes both.
func ownedTempDir(prefix string) (dir string, release func() error, err error) {
	sweep(prefix)
	// The lock comes first: a directory without one is never swept.
	f, err := os.CreateTemp("", prefix+"*.lock")
	if err != nil {
		return "", nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return "", nil, fmt.Errorf("dirtest: locking %s: %w", f.Name(), err)
	}
	dir = strings.TrimSuffix(f.Name(), ".lock")
	if err := os.Mkdir(dir, 0o700); err != nil {
		_ = os.Remove(f.Name())
		_ = f.Close()
		return "", nil, err
	}
	return dir, func() error {
		err := os.RemoveAll(dir)
		_ = os.Remove(f.Name())
		_ = f.Close()
		return err
	}, nil
}

// sweep removes the directories of prefix whose lock nobody holds.
func sweep(prefix string) {
	locks, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*.lock"))
	for _, lock := range locks {
		f, err := os.Open(lock) // flock needs no write access
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			_ = os.RemoveAll(strings.TrimSuffix(lock, ".lock"))
			_ = os.Remove(lock)
		}
		_ = f.Close()
	}
}

package dirtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// The domain every Samba started here holds.
const (
	// ADDomainDN is the domain's root.
	ADDomainDN = "DC=example,DC=test"
	// ADRealm is the domain's DNS name in capitals, the realm of its Kerberos and of the
	// administrator's user principal name.
	ADRealm = "EXAMPLE.TEST"
)

// The domain's administrator.
const (
	adAdmin    = "Administrator@" + ADRealm
	adPassword = "Passw0rd!Passw0rd"
)

// The ports Samba's AD DC listens on with "server services = ldap kdc"; none can be moved,
// which is why each Samba gets an address of its own.
var sambaPorts = []int{88, 389, 464, 636, 3268, 3269}

// adServer is a Samba AD DC of a domain provisioned for this binary, on an address 127.0.0.N
// no other binary uses while it runs.
type adServer struct {
	Endpoint
	dir      string
	release  func() error // removes dir
	lock     *os.File     // holds the address: an exclusive flock, released when the file closes
	proc     *process
	stopOnce sync.Once
	stopErr  error
}

// startADServer claims an address, provisions a domain into a new temporary directory
// (about 3–5 s) and starts Samba on it.
func startADServer() (*adServer, error) {
	cas, err := authorities()
	if err != nil {
		return nil, err
	}
	lock, ip, err := claimAddress()
	if err != nil {
		return nil, err
	}
	s := &adServer{lock: lock, Endpoint: newEndpoint(ip, 389, 636, adAdmin, adPassword, cas)}
	if s.dir, s.release, err = ownedTempDir("usher-samba-"); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if err := s.start(cas[0], ip); err != nil {
		_ = s.release()
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

func (s *adServer) start(ca *authority, ip string) error {
	if err := ca.issue(s.dir, net.ParseIP(ip)); err != nil {
		return err
	}
	if err := provision(s.dir, ip); err != nil {
		return err
	}
	proc, err := startProcess("samba", []string{"-i", "-M", "single", "-s", filepath.Join(s.dir, "etc", "smb.conf")}, true)
	if err != nil {
		return err
	}
	if err := waitFor(proc, func() error {
		c, err := s.dialAdmin()
		if err == nil {
			_ = c.Close()
		}
		return err
	}); err != nil {
		proc.stop()
		return err
	}
	s.proc = proc
	return nil
}

// Stop stops Samba, removes its directory and frees its address. Calling it again does nothing.
func (s *adServer) Stop() error {
	s.stopOnce.Do(func() {
		unregister(s)
		s.proc.stop()
		s.stopErr = s.release()
		_ = s.lock.Close()
	})
	return s.stopErr
}

// claimAddress finds an address 127.0.0.N (N from 2 to 250) that no other test binary holds
// (an exclusive flock on a file in os.TempDir(), which the kernel releases if the binary dies)
// and where nothing else listens on Samba's ports, and returns the locked file and the address.
func claimAddress() (*os.File, string, error) {
	for n := 2; n <= 250; n++ {
		ip := fmt.Sprintf("127.0.0.%d", n)
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "usher-dirtest-samba-"+ip+".lock"), os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return nil, "", fmt.Errorf("dirtest: locking an address for Samba: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		if portsFree(ip) {
			return f, ip, nil
		}
		_ = f.Close()
	}
	return nil, "", errors.New("dirtest: no address 127.0.0.2–250 is free for Samba: every one is locked or has ports 389/636 taken")
}

func portsFree(ip string) bool {
	for _, port := range sambaPorts {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err != nil {
			return false
		}
		_ = l.Close()
	}
	return true
}

// provision makes the domain in dir (NOTES.md's "Active Directory for tests") listening on ip
// alone, and adds to its smb.conf what running it outside /etc and /var needs: the test's
// certificate (Samba's own has no SAN and fails verification), simple binds over plain LDAP,
// and its sockets inside dir.
func provision(dir, ip string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "samba-tool", "domain", "provision",
		"--realm="+ADRealm, "--domain=EXAMPLE", "--server-role=dc", "--dns-backend=NONE",
		"--adminpass="+adPassword, "--use-rfc2307", "--targetdir="+dir, "--host-name=dc1",
		"--option=interfaces="+ip+"/8", "--option=bind interfaces only=yes",
		"--option=pid directory="+dir+"/run", "--option=log file="+dir+"/log/%m",
		"--option=server services=ldap kdc")
	out := &limitedBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dirtest: samba-tool domain provision: %w; it printed:\n%s", err, out)
	}
	for _, d := range []string{"run", "log", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	// Into [global]: appended at the end they would land in the last share's section.
	extra := strings.NewReplacer("DIR", dir).Replace(`[global]
	ldap server require strong auth = no
	tls enabled = yes
	tls certfile = DIR/tls.crt
	tls keyfile = DIR/tls.key
	tls cafile = DIR/ca.crt
	ncalrpc dir = DIR/run/ncalrpc
	winbindd socket directory = DIR/run/winbindd
	ntp signd socket directory = DIR/run/ntp_signd
`)
	if !strings.Contains(string(b), "[global]\n") {
		return fmt.Errorf("dirtest: %s has no [global] section:\n%s", conf, b)
	}
	return os.WriteFile(conf, []byte(strings.Replace(string(b), "[global]\n", extra, 1)), 0o600)
}

package dirtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPSuffix is the suffix of the one database of every slapd started here.
const LDAPSuffix = "dc=example,dc=org"

// The administrator of every slapd started here: its root DN.
const (
	ldapAdminDN  = "cn=admin," + LDAPSuffix
	ldapPassword = "secret"
)

// LDAPServer is a slapd started by StartLDAPServer: OpenLDAP 2.5 with one mdb database for
// LDAPSuffix, the memberof and syncprov overlays (so memberOf is kept and RFC 4533 sync
// searches work), TLS on ldaps:// and StartTLS, and no size limit for paged searches. It has
// no access rules: any bind, an anonymous one too, reads everything, userPassword included.
type LDAPServer struct {
	Endpoint
	// Suffix is LDAPSuffix, the root of everything the server holds.
	Suffix string
	// Dir holds the server's configuration, certificates and database.
	Dir string

	proc     *process
	release  func() error // removes Dir, when StartLDAPServer made it
	stopOnce sync.Once
	stopErr  error
}

// LDAPOptions say what a new server's database holds besides the entry of its suffix. The
// entries are loaded with slapadd before slapd starts, which takes about a second for 100,000
// users where adding them over the wire takes ten times as long.
type LDAPOptions struct {
	// Users, when above 0, loads what GenerateLDIF(w, LDAPSuffix, Users, Seed) writes: so many
	// users under ou=people and their groups under ou=groups.
	Users int
	// Seed makes the generated users differ (the same seed gives the same users).
	Seed int64
	// LDIF, when not nil, is loaded after the generated users: entries under LDAPSuffix, not
	// the suffix's own entry, each parent before its children. slapadd skips the overlays, so
	// the LDIF must itself hold what they would write (memberOf on the members of a group).
	LDIF io.Reader
}

// StartLDAPServer starts a slapd on 127.0.0.1 with its files in dir (a new temporary directory
// when dir is "", removed by Stop), loading what opts say. Its ports are free ones; the caller
// must call Stop. It is for benchmark programs and for tests wanting a server of their own
// (OpenLDAPWith); other tests share one through OpenLDAP.
func StartLDAPServer(dir string, opts LDAPOptions) (*LDAPServer, error) {
	if !installed("slapd", "slapadd") {
		return nil, errors.New(missingSlapd)
	}
	cas, err := authorities()
	if err != nil {
		return nil, err
	}
	s := &LDAPServer{Dir: dir, Suffix: LDAPSuffix}
	if dir == "" {
		if s.Dir, s.release, err = ownedTempDir("usher-slapd-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := s.start(cas, opts); err != nil {
		if s.release != nil {
			_ = s.release()
		}
		return nil, err
	}
	return s, nil
}

func (s *LDAPServer) start(cas [2]*authority, opts LDAPOptions) error {
	db := filepath.Join(s.Dir, "db")
	if entries, err := os.ReadDir(db); err == nil && len(entries) > 0 {
		return fmt.Errorf("dirtest: %s already holds a database: give StartLDAPServer a fresh directory", db)
	}
	if err := os.MkdirAll(db, 0o700); err != nil {
		return err
	}
	if err := cas[0].issue(s.Dir, net.IPv4(127, 0, 0, 1)); err != nil {
		return err
	}
	conf := filepath.Join(s.Dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(slapdConf(s.Dir)), 0o600); err != nil {
		return err
	}
	if err := slapadd(conf, opts); err != nil {
		return err
	}
	// slapd cannot report a port it chose, so the ports are ones that were free a moment ago;
	// when another process took one meanwhile, slapd fails to bind and the start is retried.
	var err error
	for range 5 {
		var ports [2]int
		if ports, err = freePorts(); err != nil {
			return err
		}
		s.Endpoint = newEndpoint("127.0.0.1", ports[0], ports[1], ldapAdminDN, ldapPassword, cas)
		if err = s.run(conf); err == nil || !strings.Contains(err.Error(), "Address already in use") {
			return err
		}
	}
	return err
}

// run starts slapd and waits until the administrator can bind, over ldap:// and ldaps://: a
// bind with the password proves that it is this slapd, not whatever else took the port.
func (s *LDAPServer) run(conf string) error {
	// -d keeps slapd in the foreground; level 32768 ("none") prints only what is always
	// logged: its start, its stop and why it could not start ("bind(6) failed errno=98
	// (Address already in use)"), where -d 0 would print nothing.
	proc, err := startProcess("slapd", []string{"-d", "32768", "-h", s.URL + "/ " + s.TLSURL + "/", "-f", conf}, false)
	if err != nil {
		return err
	}
	err = waitFor(proc, func() error {
		for _, url := range []string{s.URL, s.TLSURL} {
			c, err := ldap.DialURL(url, ldap.DialWithTLSConfig(s.TLSConfig()), ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
			if err != nil {
				return err
			}
			c.SetTimeout(2 * time.Second) // in case what answers is not slapd
			err = c.Bind(s.BindDN, s.BindPassword)
			_ = c.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		proc.stop()
		return err
	}
	s.proc = proc
	return nil
}

// Stop stops slapd (SIGTERM, then SIGKILL after a few seconds) and removes the directory if
// StartLDAPServer made it. Calling it again does nothing.
func (s *LDAPServer) Stop() error {
	s.stopOnce.Do(func() {
		unregister(s)
		s.proc.stop()
		if s.release != nil {
			s.stopErr = s.release()
		}
	})
	return s.stopErr
}

// slapdConf is the configuration NOTES.md's "OpenLDAP for tests" describes, with the CA file
// apart from the server's certificate.
func slapdConf(dir string) string {
	return strings.NewReplacer("DIR", dir, "SUFFIX", LDAPSuffix, "ADMIN", ldapAdminDN, "PASSWORD", ldapPassword).Replace(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile DIR/slapd.pid
argsfile DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload syncprov
loglevel none
TLSCertificateFile DIR/tls.crt
TLSCertificateKeyFile DIR/tls.key
TLSCACertificateFile DIR/ca.crt
sizelimit size.soft=500 size.hard=unlimited size.prtotal=unlimited
database mdb
maxsize 1073741824
dbnosync
suffix "SUFFIX"
rootdn "ADMIN"
rootpw PASSWORD
directory DIR/db
index objectClass eq
index entryCSN,entryUUID eq
index uid eq
index member,memberOf eq
overlay memberof
overlay syncprov
syncprov-checkpoint 100 10
`)
}

// slapadd loads the suffix's entry and what opts say into the fresh database, offline: -q
// skips the checks a load of known-good entries does not need, -w writes the contextCSN that
// sync searches start from.
func slapadd(conf string, opts LDAPOptions) error {
	root := fmt.Sprintf("dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", LDAPSuffix)
	inputs := []io.Reader{strings.NewReader(root)}
	var gen *io.PipeReader
	if opts.Users > 0 {
		r, w := io.Pipe()
		gen = r
		go func() { w.CloseWithError(GenerateLDIF(w, LDAPSuffix, opts.Users, opts.Seed)) }()
		inputs = append(inputs, r)
	}
	if opts.LDIF != nil {
		inputs = append(inputs, strings.NewReader("\n"), opts.LDIF)
	}
	cmd := exec.Command("slapadd", "-q", "-w", "-f", conf)
	cmd.Stdin = io.MultiReader(inputs...)
	out := &limitedBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if gen != nil {
		_ = gen.Close() // unblocks the generator if slapadd stopped reading
	}
	if err != nil {
		return fmt.Errorf("dirtest: slapadd: %w; it printed:\n%s", err, out)
	}
	return nil
}

// freePorts returns two ports of 127.0.0.1 that were free when it looked.
func freePorts() ([2]int, error) {
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

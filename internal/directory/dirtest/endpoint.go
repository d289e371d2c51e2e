package dirtest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Endpoint is where a directory server listens and how to bind to it as its administrator:
// what a directory source in usher is configured with.
type Endpoint struct {
	// Host is the address the server listens on: 127.0.0.1 for slapd, 127.0.0.N for Samba.
	Host string
	// Port and TLSPort are the ports of ldap:// (plain, StartTLS) and ldaps://.
	Port, TLSPort int
	// URL is ldap://Host:Port and TLSURL ldaps://Host:TLSPort.
	URL, TLSURL string
	// BindDN and BindPassword are the administrator's credentials (for Active Directory, a
	// user principal name, which AD takes wherever a bind DN goes).
	BindDN, BindPassword string
	// CAPEM is the certificate (PEM) of the CA that signed the server's certificate, which is
	// valid for Host (an IP SAN) and for localhost.
	CAPEM []byte
	// OtherCAPEM is the certificate of a CA that signed none of the servers' certificates:
	// a client that trusts only it must refuse the server.
	OtherCAPEM []byte
}

// CertPool is a pool holding only CAPEM.
func (e Endpoint) CertPool() *x509.CertPool { return pool(e.CAPEM) }

// OtherCertPool is a pool holding only OtherCAPEM, which a client must refuse the server with.
func (e Endpoint) OtherCertPool() *x509.CertPool { return pool(e.OtherCAPEM) }

// TLSConfig verifies the server's certificate against CertPool for Host, for StartTLS and
// ldaps://.
func (e Endpoint) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: e.CertPool(), ServerName: e.Host, MinVersion: tls.VersionTLS12}
}

func pool(pemCerts []byte) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pemCerts)
	return p
}

// newEndpoint fills in the URLs and the CAs.
func newEndpoint(host string, port, tlsPort int, bindDN, password string, cas [2]*authority) Endpoint {
	return Endpoint{
		Host:         host,
		Port:         port,
		TLSPort:      tlsPort,
		URL:          fmt.Sprintf("ldap://%s", net.JoinHostPort(host, fmt.Sprint(port))),
		TLSURL:       fmt.Sprintf("ldaps://%s", net.JoinHostPort(host, fmt.Sprint(tlsPort))),
		BindDN:       bindDN,
		BindPassword: password,
		CAPEM:        cas[0].pem,
		OtherCAPEM:   cas[1].pem,
	}
}

// Dial opens a connection to the server over ldaps:// (verified with TLSConfig), bound as the
// administrator; it is closed when the test ends.
func (e Endpoint) Dial(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := e.dialAdmin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialAdmin connects over ldaps:// and binds as the administrator.
func (e Endpoint) dialAdmin() (*ldap.Conn, error) {
	c, err := ldap.DialURL(e.TLSURL, ldap.DialWithTLSConfig(e.TLSConfig()), ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("dirtest: connecting to %s: %w", e.TLSURL, err)
	}
	c.SetTimeout(Timeout)
	if err := c.Bind(e.BindDN, e.BindPassword); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("dirtest: binding to %s as %s: %w", e.TLSURL, e.BindDN, err)
	}
	return c, nil
}

// The operations the helpers of LDAP and AD share, on a connection bound as the administrator.

// addEntry adds dn with attrs, in the order of their names so that a failure is reproducible.
func addEntry(c *ldap.Conn, dn string, attrs map[string][]string) error {
	req := ldap.NewAddRequest(dn, nil)
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if vals := attrs[name]; len(vals) > 0 {
			req.Attribute(name, vals)
		}
	}
	if err := c.Add(req); err != nil {
		return fmt.Errorf("dirtest: adding %s: %w", dn, err)
	}
	return nil
}

// replaceAttrs replaces the values of each attribute named in attrs; no values remove it.
func replaceAttrs(c *ldap.Conn, dn string, attrs map[string][]string) error {
	req := ldap.NewModifyRequest(dn, nil)
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		req.Replace(name, attrs[name])
	}
	if err := c.Modify(req); err != nil {
		return fmt.Errorf("dirtest: modifying %s: %w", dn, err)
	}
	return nil
}

// modifyDN gives dn the RDN newRDN (its own when empty) under newParent (its own when empty),
// and returns the entry's new DN.
func modifyDN(c *ldap.Conn, dn, newRDN, newParent string) (string, error) {
	rdn, parent, ok := splitDN(dn)
	if !ok {
		return "", fmt.Errorf("dirtest: %q is not a DN", dn)
	}
	if newRDN == "" {
		newRDN = rdn
	}
	if newParent != "" {
		parent = newParent
	}
	if err := c.ModifyDN(ldap.NewModifyDNRequest(dn, newRDN, true, newParent)); err != nil {
		return "", fmt.Errorf("dirtest: renaming %s to %s under %s: %w", dn, newRDN, parent, err)
	}
	return newRDN + "," + parent, nil
}

// splitDN splits dn into its first RDN and its parent's DN, as they are written (ldap.DN's
// String would change their case).
func splitDN(dn string) (rdn, parent string, ok bool) {
	if _, err := ldap.ParseDN(dn); err != nil {
		return "", "", false
	}
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++ // an escaped character, a comma perhaps
		case ',':
			return strings.TrimSpace(dn[:i]), strings.TrimSpace(dn[i+1:]), true
		}
	}
	return strings.TrimSpace(dn), "", dn != ""
}

// readEntry reads dn's attrs (all user attributes when none are named).
func readEntry(c *ldap.Conn, dn string, attrs ...string) (*ldap.Entry, error) {
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, nil))
	if err != nil {
		return nil, fmt.Errorf("dirtest: reading %s: %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("dirtest: reading %s: %d entries", dn, len(res.Entries))
	}
	return res.Entries[0], nil
}

// deleteTree deletes dn and everything under it: with the tree delete control when the server
// has it (Active Directory), otherwise entry by entry, the deepest first (slapd has no such
// control). A search here may also bring referrals (Samba's), which are not entries to delete.
func deleteTree(c *ldap.Conn, dn string, treeDelete bool) error {
	if treeDelete {
		err := c.Del(ldap.NewDelRequest(dn, []ldap.Control{ldap.NewControlSubtreeDelete()}))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("dirtest: deleting the tree %s: %w", dn, err)
		}
		return nil
	}
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil), 500)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dirtest: listing the tree %s: %w", dn, err)
	}
	type node struct {
		dn    string
		depth int
	}
	nodes := make([]node, 0, len(res.Entries))
	for _, e := range res.Entries {
		parsed, err := ldap.ParseDN(e.DN)
		if err != nil {
			return fmt.Errorf("dirtest: %q is not a DN: %w", e.DN, err)
		}
		nodes = append(nodes, node{e.DN, len(parsed.RDNs)})
	}
	slices.SortStableFunc(nodes, func(a, b node) int { return b.depth - a.depth })
	for _, n := range nodes {
		err := c.Del(ldap.NewDelRequest(n.dn, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("dirtest: deleting %s: %w", n.dn, err)
		}
	}
	return nil
}

var (
	unique      atomic.Int64
	notNameChar = regexp.MustCompile(`[^A-Za-z0-9-]+`)
)

// uniqueName is a name no other test of this binary gets, made from the test's name so that a
// person looking at the server sees whose entries these are.
func uniqueName(t testing.TB) string {
	name := strings.Trim(notNameChar.ReplaceAllString(t.Name(), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d-%s", unique.Add(1), name)
}

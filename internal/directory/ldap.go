package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/errs"
)

// Timeouts are the client's time limits.
type Timeouts struct {
	Dial    time.Duration // reaching the server, TLS handshake included
	Request time.Duration // each request once connected
	Test    time.Duration // a connection test as a whole
}

// DefaultTimeouts are the limits a server uses.
var DefaultTimeouts = Timeouts{Dial: 10 * time.Second, Request: 30 * time.Second, Test: 20 * time.Second}

// Problem is a connection that did not work, in words an administrator can act on: the step
// that failed (connect, tls, starttls, bind, base), a stable code, and the setting to look at.
type Problem struct {
	Step    string
	Code    string
	Field   string // the setting the problem is most likely in
	Message string
	Err     error // the client's own error, for the log
}

func (p *Problem) Error() string { return p.Message }
func (p *Problem) Unwrap() error { return p.Err }

// maxMessage bounds one LDAP message a server sends (an entry with all its values): a hostile
// or broken server cannot make usher hold more. A group of a hundred thousand members is a few
// megabytes.
const maxMessage = 16 << 20

func init() { ber.MaxPacketLengthBytes = maxMessage }

// conn is a bound connection to a directory.
type conn struct {
	l    *ldap.Conn
	t    Timeouts
	stop func() bool // stops closing the connection when the caller's context ends
}

// dial connects to a directory and protects the connection as its settings say (LDAPS or
// StartTLS, the certificate checked against the system's roots and the CA certificate given).
// The connection closes when ctx ends, so that no request outlives the caller.
func dial(ctx context.Context, c Connection, t Timeouts) (*conn, error) {
	var cfg *tls.Config
	var verifyErr error // why the server's certificate was refused, as x509 says
	switch c.Security {
	case LDAPS, StartTLS, Plain:
	default:
		return nil, &Problem{Step: "connect", Code: "directory.security_invalid", Field: "security",
			Message: `Security is "ldaps", "starttls" or "none".`}
	}
	if c.Security != Plain {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if c.CACert != "" {
			extra, msg := certPool(c.CACert)
			if msg != "" {
				return nil, &Problem{Step: "tls", Code: "directory.ca_cert_invalid", Field: "ca_cert", Message: msg}
			}
			roots = extra // a CA certificate given is the one trusted: a public CA cannot stand in
		}
		cfg = verifying(c.Host, roots, &verifyErr)
	}
	d := net.Dialer{Timeout: t.Dial}
	nc, err := d.DialContext(ctx, "tcp", c.Address())
	if err != nil {
		return nil, dialProblem(c, err, t)
	}
	if c.Security == LDAPS {
		tc := tls.Client(nc, cfg)
		hctx, cancel := context.WithTimeout(ctx, t.Dial)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, tlsProblem(c, "tls", errors.Join(verifyErr, err), t)
		}
		nc = tc
	}
	l := ldap.NewConn(nc, c.Security == LDAPS)
	l.Start()
	l.SetTimeout(t.Request)
	out := &conn{l: l, t: t, stop: context.AfterFunc(ctx, func() { l.Close() })}
	if c.Security == StartTLS {
		if err := l.StartTLS(cfg); err != nil {
			out.Close()
			if ldap.IsErrorWithCode(err, ldap.LDAPResultProtocolError) || ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailable) {
				return nil, &Problem{Step: "starttls", Code: "directory.starttls_refused", Field: "security",
					Message: "The server does not offer StartTLS. Choose LDAPS (usually port 636), or ask for StartTLS to be enabled.", Err: err}
			}
			return nil, tlsProblem(c, "starttls", errors.Join(verifyErr, err), t)
		}
	}
	return out, nil
}

// verifying is the TLS configuration of a connection to host: the certificate chain verified
// against roots and for host (a name or an IP address), as crypto/tls does itself, but the
// reason a certificate is refused is kept in *why with its type, which go-ldap's StartTLS
// would otherwise turn into text.
func verifying(host string, roots *x509.CertPool, why *error) *tls.Config {
	return &tls.Config{
		ServerName: host,
		MinVersion: tls.VersionTLS12,
		// The verification below replaces crypto/tls's own, with the same checks.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				*why = errors.New("the server sent no certificate")
				return *why
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
				DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			*why = err
			return err
		},
	}
}

// Close ends the connection.
func (c *conn) Close() {
	c.stop()
	c.l.Close()
}

// bind signs in as dn.
func (c *conn) bind(dn, password string) error {
	if password == "" {
		// An empty password is an unauthenticated bind, which servers accept as anyone.
		return &Problem{Step: "bind", Code: "directory.password_required", Field: "bind_password",
			Message: "Give the bind password."}
	}
	err := c.l.Bind(dn, password)
	if err == nil {
		return nil
	}
	p := &Problem{Step: "bind", Err: err}
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		p.Code, p.Field = "directory.bad_credentials", "bind_password"
		p.Message = "The directory refused the bind DN and password. Check both; on Active Directory the account may also be disabled, locked or expired."
	case ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired), ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired):
		p.Code, p.Field = "directory.tls_required", "security"
		p.Message = "The server accepts a password only over an encrypted connection: choose LDAPS or StartTLS."
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidDNSyntax):
		p.Code, p.Field = "directory.bind_dn_invalid", "bind_dn"
		p.Message = "The server does not accept the bind DN as written."
	default:
		return requestProblem("bind", err, c.t)
	}
	return p
}

// checkBase reads the base DN itself.
func (c *conn) checkBase(base string) error {
	req := ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, max(1, int(c.t.Request/time.Second)), false,
		"(objectClass=*)", []string{"1.1"}, nil)
	_, err := c.l.Search(req)
	switch {
	case err == nil:
		return nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return &Problem{Step: "base", Code: "directory.base_dn_not_found", Field: "base_dn",
			Message: "The base DN " + base + " does not exist on the server.", Err: err}
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights):
		return &Problem{Step: "base", Code: "directory.base_dn_forbidden", Field: "bind_dn",
			Message: "The bind DN may not read the base DN " + base + ".", Err: err}
	}
	return requestProblem("base", err, c.t)
}

// each runs a paged subtree or one-level search and calls fn with each entry as it arrives,
// never holding more than a page. Referrals (Active Directory answers a search of the domain
// root with some) are passed over. At most limit entries are read (0: no limit); truncated
// says whether there were more.
func (c *conn) each(ctx context.Context, base string, scope int, filter string, attrs []string, limit int, fn func(*ldap.Entry) error) (truncated bool, err error) {
	paging := ldap.NewControlPaging(pageSize)
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, []ldap.Control{paging})
	n, pages := 0, 0
	for {
		before := n
		cookie, truncated, err := c.page(ctx, req, base, limit, &n, fn)
		if err != nil || truncated || len(cookie) == 0 {
			return truncated, err
		}
		pages++
		if n == before || pages > maxPages {
			// A server that promises more and sends nothing would keep a sync reading forever.
			return false, &Problem{Step: "search", Code: "directory.paging_broken", Field: "host",
				Message: "The directory kept promising more entries without sending them: the search was stopped."}
		}
		paging.SetCookie(cookie)
	}
}

// maxPages bounds the pages of one search: ten million entries.
const maxPages = 10_000

// pageSize is how many entries a page of a search asks for.
const pageSize = 1000

// page reads one page of a paged search, and returns the cookie of the next (none after the
// last page).
func (c *conn) page(ctx context.Context, req *ldap.SearchRequest, base string, limit int, n *int, fn func(*ldap.Entry) error) (cookie []byte, truncated bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := c.l.SearchAsync(ctx, req, 8)
	for res.Next() {
		e := res.Entry()
		if e == nil {
			continue
		}
		if limit > 0 && *n == limit {
			return nil, true, nil
		}
		*n++
		if err := fn(e); err != nil {
			return nil, false, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if err := res.Err(); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, false, &Problem{Step: "search", Code: "directory.base_dn_not_found", Field: "base_dn",
				Message: "The base DN " + base + " does not exist on the server.", Err: err}
		}
		return nil, false, requestProblem("search", err, c.t)
	}
	// A search ends with its result, which carries the paging control. Without it the
	// connection went away mid-search (go-ldap ends the results without an error then): what
	// was read is not the whole directory, and a sync that took it for whole would treat
	// everyone after it as gone.
	if c.l.IsClosing() {
		return nil, false, &Problem{Step: "search", Code: "directory.connection_lost", Field: "host",
			Message: "The connection to the directory was lost during the search."}
	}
	p, ok := ldap.FindControl(res.Controls(), ldap.ControlTypePaging).(*ldap.ControlPaging)
	if !ok {
		return nil, false, &Problem{Step: "search", Code: "directory.search_incomplete", Field: "host",
			Message: "The directory ended the search without saying whether it was complete (no paging control in its result)."}
	}
	return p.Cookie, false, nil
}

func dialProblem(c Connection, err error, t Timeouts) *Problem {
	p := &Problem{Step: "connect", Field: "host", Err: err}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout):
		p.Code = "directory.dns_unavailable"
		p.Message = "The host name " + c.Host + " could not be looked up: the DNS server did not answer. Try again, or give the server's IP address."
	case errors.As(err, &dnsErr):
		p.Code = "directory.host_unknown"
		p.Message = "The host name " + c.Host + " could not be found (DNS). Check its spelling, or give the server's IP address."
	case errors.Is(err, syscall.ECONNREFUSED):
		p.Code, p.Field = "directory.unreachable", "port"
		p.Message = fmt.Sprintf("%s refused the connection: no directory listens on port %d there. Check the host and the port (usually 636 for LDAPS, 389 otherwise).", c.Host, c.Port)
	case isTimeout(err):
		p.Code = "directory.timeout"
		p.Message = fmt.Sprintf("%s did not answer within %s. Check the host and the port, and that a firewall lets usher reach it.", c.Address(), t.Dial)
	default:
		p.Code = "directory.unreachable"
		p.Message = fmt.Sprintf("usher could not connect to %s: %s.", c.Address(), plainNetError(err))
	}
	return p
}

func tlsProblem(c Connection, step string, err error, t Timeouts) *Problem {
	p := &Problem{Step: step, Code: "directory.tls_failed", Field: "security", Err: err}
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		p.Code, p.Field = "directory.certificate_untrusted", "ca_cert"
		p.Message = "The server's certificate is not signed by a CA usher trusts. Give the CA certificate (PEM) the directory's certificate was issued by."
	case errors.As(err, &host):
		p.Code, p.Field = "directory.certificate_host", "host"
		p.Message = fmt.Sprintf("The server's certificate is not for %s (%s). Connect with a name the certificate lists.", c.Host, plainNetError(err))
	case errors.As(err, &invalid):
		p.Code, p.Field = "directory.certificate_invalid", "ca_cert"
		p.Message = "The server's certificate is not valid: " + plainNetError(err) + "."
	case errors.As(err, &header):
		p.Message = "The server did not answer with TLS: for LDAPS use its LDAPS port (usually 636), or choose StartTLS on port 389."
	case isTimeout(err):
		p.Code = "directory.timeout"
		p.Message = fmt.Sprintf("%s did not complete the TLS handshake within %s.", c.Address(), t.Dial)
	default:
		p.Message = "The encrypted connection could not be set up: " + plainNetError(err) + "."
	}
	return p
}

// requestProblem is a request that failed once connected.
func requestProblem(step string, err error, t Timeouts) *Problem {
	p := &Problem{Step: step, Code: "directory.request_failed", Err: err}
	switch {
	case isTimeout(err):
		p.Code, p.Field = "directory.timeout", "host"
		p.Message = fmt.Sprintf("The directory did not answer within %s.", t.Request)
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		p.Code = "directory.connection_lost"
		p.Message = "The connection to the directory was lost: " + plainNetError(err) + "."
	case ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) || ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailable):
		p.Code, p.Field = "directory.busy", "host"
		p.Message = "The directory is too busy or unavailable to answer now: " + plainLDAPError(err) + "."
	default:
		p.Message = "The directory refused the request: " + plainLDAPError(err) + "."
	}
	return p
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out")
}

// plainNetError is an error's text without Go's "dial tcp 1.2.3.4:5:" prefixes.
func plainNetError(err error) string {
	msg := plainLDAPError(err)
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "dial ") {
		msg = msg[i+2:]
	}
	return strings.TrimPrefix(msg, "tls: ")
}

// retryable tells whether a sync that failed with err may work when tried again: the directory
// was out of reach, slow, busy or lost the connection, the database was, or another change
// raced it. A wrong setting or a lost right fails the sync at once.
func retryable(err error) bool {
	e, ok := errs.As(err)
	if !ok {
		return true
	}
	switch e.Code {
	case "directory.timeout", "directory.connection_lost", "directory.unreachable", "directory.busy",
		"directory.dns_unavailable", "store.concurrent_change":
		return true
	}
	return e.Kind == errs.Internal || e.Kind == errs.Unavailable
}

package directory

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestVerifying: the certificate check that replaces crypto/tls's own refuses what it refuses:
// a certificate for another host and one from an unknown CA; it accepts the right one.
func TestVerifying(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	ts.StartTLS()                                   // a certificate for 127.0.0.1, ::1 and (*.)example.com
	defer ts.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(ts.Certificate())
	dial := func(host string, roots *x509.CertPool) error {
		var why error
		c, err := tls.Dial("tcp", ts.Listener.Addr().String(), verifying(host, roots, &why))
		if err == nil {
			c.Close()
			return nil
		}
		if why == nil {
			t.Fatalf("%s: refused (%v) without a reason kept", host, err)
		}
		return why
	}
	if err := dial("127.0.0.1", trusted); err != nil {
		t.Fatalf("the right host and CA: %v", err)
	}
	if err := dial("example.com", trusted); err != nil {
		t.Fatalf("a name the certificate lists: %v", err)
	}
	var host x509.HostnameError
	for _, other := range []string{"other.test", "127.0.0.2", "::2"} {
		if err := dial(other, trusted); !errors.As(err, &host) {
			t.Fatalf("another host %s: %v", other, err)
		}
	}
	if err := dial("::1", trusted); err != nil {
		t.Fatalf("an IPv6 address the certificate lists: %v", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := dial("127.0.0.1", x509.NewCertPool()); !errors.As(err, &unknown) {
		t.Fatalf("an unknown CA: %v", err)
	}
}

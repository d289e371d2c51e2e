package directory

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/errs"
)

// TestRetryable: a sync is tried again when the directory or the database may answer later
// (busy, unavailable, a DNS server that did not answer, a timeout, a lost connection), and
// fails at once on what only a person can fix (a host name that does not exist, bad
// credentials, a lost right).
func TestRetryable(t *testing.T) {
	c := Connection{Host: "ldap.example.com", Port: 636}
	ts := Timeouts{}
	cases := []struct {
		name  string
		err   error
		retry bool
	}{
		{"busy", problemError(requestProblem("search", ldap.NewError(ldap.LDAPResultBusy, errors.New("server busy")), ts)), true},
		{"unavailable", problemError(requestProblem("search", ldap.NewError(ldap.LDAPResultUnavailable, errors.New("shutting down")), ts)), true},
		{"DNS did not answer", problemError(dialProblem(c, &net.DNSError{Err: "server misbehaving", Name: c.Host, IsTemporary: true}, ts)), true},
		{"DNS timed out", problemError(dialProblem(c, &net.DNSError{Err: "i/o timeout", Name: c.Host, IsTimeout: true}, ts)), true},
		{"timeout", problemError(requestProblem("search", context.DeadlineExceeded, ts)), true},
		{"connection lost", problemError(requestProblem("search", ldap.NewError(ldap.ErrorNetwork, errors.New("reset")), ts)), true},
		{"database busy", errs.E(errs.Unavailable, "store.busy", "The database is busy."), true},
		{"no such host", problemError(dialProblem(c, &net.DNSError{Err: "no such host", Name: c.Host, IsNotFound: true}, ts)), false},
		{"bad credentials", problemError(requestProblem("bind", ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("invalid credentials")), ts)), false},
		{"a lost right", errs.E(errs.Forbidden, "auth.forbidden", "You may not."), false},
	}
	for _, tc := range cases {
		if got := retryable(tc.err); got != tc.retry {
			e, _ := errs.As(tc.err)
			t.Errorf("%s (%v): retryable %v, want %v", tc.name, e, got, tc.retry)
		}
	}
	if e, _ := errs.As(cases[0].err); e.Code != "directory.busy" || e.Message != "The directory is too busy or unavailable to answer now: server busy." {
		t.Errorf("busy: %q %q", e.Code, e.Message)
	}
}

package dirtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// LDAP is one test's part of a slapd: the subtree BaseDN, with People and Groups under it,
// which no other test touches and which is deleted when the test ends. Its helpers change
// entries over the wire as the root DN and fail the test when they cannot.
type LDAP struct {
	Endpoint
	// Suffix is the server's suffix, LDAPSuffix.
	Suffix string
	// BaseDN is the test's subtree: ou=<unique>,dc=example,dc=org for OpenLDAP, the suffix
	// itself for OpenLDAPWith.
	BaseDN string
	// People (ou=people,BaseDN) is where AddUser puts users; Groups (ou=groups,BaseDN) where
	// AddGroup puts groups.
	People, Groups string

	conn *ldap.Conn
}

var (
	ldapOnce   sync.Once
	ldapShared *LDAPServer
	ldapErr    error
)

// OpenLDAP gives the test a subtree of its own on the binary's slapd, starting slapd the
// first time (about 0.1 s). The subtree ou=<unique>,dc=example,dc=org holds ou=people and
// ou=groups; it is deleted, with everything under it, when the test ends.
func OpenLDAP(t testing.TB) *LDAP {
	t.Helper()
	needMain(t)
	if !installed("slapd", "slapadd") {
		missing(t, missingSlapd)
	}
	ldapOnce.Do(func() {
		ldapShared, ldapErr = StartLDAPServer("", LDAPOptions{})
		if ldapErr == nil {
			register(ldapShared)
		}
	})
	if ldapErr != nil {
		t.Fatal(ldapErr)
	}
	l := connect(t, ldapShared, "ou="+uniqueName(t)+","+LDAPSuffix)
	for _, dn := range []string{l.BaseDN, l.People, l.Groups} {
		if err := addEntry(l.conn, dn, ouAttrs(dn)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// OpenLDAPWith starts a slapd of the test's own, loaded as opts say before it starts (100,000
// users in about a second), and stops it when the test ends. BaseDN is the suffix, with the
// generated users in People and their groups in Groups.
func OpenLDAPWith(t testing.TB, opts LDAPOptions) *LDAP {
	t.Helper()
	if !installed("slapd", "slapadd") {
		missing(t, missingSlapd)
	}
	s, err := StartLDAPServer("", opts)
	if err != nil {
		t.Fatal(err)
	}
	register(s)
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("dirtest: stopping slapd: %v", err)
		}
	})
	return connect(t, s, LDAPSuffix)
}

// connect makes the test's LDAP for base on s, with a connection that is closed when the test
// ends, after deleting base if it is a test's subtree.
func connect(t testing.TB, s *LDAPServer, base string) *LDAP {
	t.Helper()
	c, err := s.dialAdmin()
	if err != nil {
		t.Fatal(err)
	}
	l := &LDAP{Endpoint: s.Endpoint, Suffix: s.Suffix, BaseDN: base, People: "ou=people," + base, Groups: "ou=groups," + base, conn: c}
	t.Cleanup(func() {
		defer c.Close()
		if base == s.Suffix {
			return // the server goes with the test
		}
		if err := deleteTree(c, base, false); err != nil {
			t.Errorf("dirtest: removing the test's subtree: %v", err)
		}
	})
	return l
}

func ouAttrs(dn string) map[string][]string {
	rdn, _, _ := strings.Cut(dn, ",")
	_, name, _ := strings.Cut(rdn, "=")
	return map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {name}}
}

// UserSpec is a user for LDAP.AddUser: an inetOrgPerson. Empty fields are left out, except
// that SN defaults to UID and CN to "GivenName SN".
type UserSpec struct {
	// UID (required) names the user in its DN; the others are the attributes of their names.
	UID, CN, GivenName, SN, Mail, TelephoneNumber, DepartmentNumber string
	// Manager is the DN of the user's manager.
	Manager string
	// Password becomes userPassword, as given (slapd then compares it as plain text).
	Password string
	// OU, when not empty, puts the user in ou=OU,BaseDN (made if missing) instead of People.
	OU string
	// Attributes are more attributes, or replace the ones above.
	Attributes map[string][]string
}

// AddUser adds the user and returns its DN, uid=UID under People (or under OU).
func (l *LDAP) AddUser(t testing.TB, u UserSpec) string {
	t.Helper()
	parent := l.People
	if u.OU != "" {
		parent = l.AddOU(t, u.OU)
	}
	if u.SN == "" {
		u.SN = u.UID
	}
	if u.CN == "" {
		u.CN = strings.TrimSpace(u.GivenName + " " + u.SN)
	}
	attrs := map[string][]string{
		"objectClass": {"inetOrgPerson"},
		"uid":         {u.UID}, "cn": {u.CN}, "sn": {u.SN},
	}
	for name, v := range map[string]string{"givenName": u.GivenName, "mail": u.Mail, "telephoneNumber": u.TelephoneNumber,
		"departmentNumber": u.DepartmentNumber, "manager": u.Manager, "userPassword": u.Password} {
		if v != "" {
			attrs[name] = []string{v}
		}
	}
	for name, vals := range u.Attributes {
		attrs[name] = vals
	}
	dn := "uid=" + ldap.EscapeDN(u.UID) + "," + parent
	if err := addEntry(l.conn, dn, attrs); err != nil {
		t.Fatal(err)
	}
	return dn
}

// AddOU adds ou=name under BaseDN, unless it is there already, and returns its DN.
func (l *LDAP) AddOU(t testing.TB, name string) string {
	t.Helper()
	dn := "ou=" + ldap.EscapeDN(name) + "," + l.BaseDN
	err := addEntry(l.conn, dn, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {name}})
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		t.Fatal(err)
	}
	return dn
}

// AddGroup adds the groupOfNames cn=cn under Groups with these members (DNs) and returns its
// DN; the memberof overlay then lists it in each member's memberOf. A groupOfNames must have a
// member, so a group made without any has the empty DN as its one member.
func (l *LDAP) AddGroup(t testing.TB, cn string, members ...string) string {
	t.Helper()
	dn := "cn=" + ldap.EscapeDN(cn) + "," + l.Groups
	if err := addEntry(l.conn, dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {cn}, "member": groupMembers(members)}); err != nil {
		t.Fatal(err)
	}
	return dn
}

// SetMembers makes these DNs the group's only members.
func (l *LDAP) SetMembers(t testing.TB, group string, members ...string) {
	t.Helper()
	l.Modify(t, group, map[string][]string{"member": groupMembers(members)})
}

func groupMembers(members []string) []string {
	if len(members) == 0 {
		return []string{""}
	}
	return members
}

// Modify replaces the values of each attribute replace names (no values delete the attribute).
func (l *LDAP) Modify(t testing.TB, dn string, replace map[string][]string) {
	t.Helper()
	if err := replaceAttrs(l.conn, dn, replace); err != nil {
		t.Fatal(err)
	}
}

// Delete deletes dn and everything under it.
func (l *LDAP) Delete(t testing.TB, dn string) {
	t.Helper()
	if err := deleteTree(l.conn, dn, false); err != nil {
		t.Fatal(err)
	}
}

// Rename gives dn the RDN newRDN ("uid=new"), in the same place, and returns the new DN.
func (l *LDAP) Rename(t testing.TB, dn, newRDN string) string {
	t.Helper()
	return l.ModifyDN(t, dn, newRDN, "")
}

// Move moves dn, with its RDN, under newParent and returns the new DN.
func (l *LDAP) Move(t testing.TB, dn, newParent string) string {
	t.Helper()
	return l.ModifyDN(t, dn, "", newParent)
}

// ModifyDN gives dn the RDN newRDN (its own when empty) under newParent (its own when empty)
// and returns the new DN.
func (l *LDAP) ModifyDN(t testing.TB, dn, newRDN, newParent string) string {
	t.Helper()
	newDN, err := modifyDN(l.conn, dn, newRDN, newParent)
	if err != nil {
		t.Fatal(err)
	}
	return newDN
}

// Entry reads dn's attributes (all user attributes when none are named; "+" names the
// operational ones).
func (l *LDAP) Entry(t testing.TB, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	e, err := readEntry(l.conn, dn, attrs...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// EntryUUID is dn's entryUUID, the RFC 4530 identifier that survives renames and moves.
func (l *LDAP) EntryUUID(t testing.TB, dn string) string {
	t.Helper()
	id := l.Entry(t, dn, "entryUUID").GetAttributeValue("entryUUID")
	if id == "" {
		t.Fatal(fmt.Errorf("dirtest: %s has no entryUUID", dn))
	}
	return id
}

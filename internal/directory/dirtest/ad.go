package dirtest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// AD is one test's part of the binary's Samba AD DC: the organizational unit BaseDN, which no
// other test touches and which is deleted with everything under it when the test ends. Its
// helpers change objects over ldaps:// as the domain's Administrator and fail the test when
// they cannot.
//
// Samba listens on 127.0.0.N (Host), ports 389 and 636. A subtree search from DomainDN also
// returns a referral to CN=Configuration, which a client must tolerate (go-ldap's Search puts it
// in SearchResult.Referrals).
type AD struct {
	Endpoint
	// DomainDN is the domain's root, ADDomainDN; Realm its DNS name in capitals, ADRealm, which
	// user principal names end with (in lower case by default).
	DomainDN, Realm string
	// BaseDN is the test's unit, OU=<unique>,DC=example,DC=test.
	BaseDN string

	conn *ldap.Conn
}

// userAccountControl flags.
const (
	uacDisabled = 0x2
	uacNormal   = 0x200
)

var (
	adOnce   sync.Once
	adShared *adServer
	adErr    error
)

// ActiveDirectory gives the test an organizational unit of its own in the binary's Samba AD
// domain, provisioning and starting Samba the first time (about 5 s). It must run as root:
// Samba's LDAP ports cannot be moved off 389 and 636.
func ActiveDirectory(t testing.TB) *AD {
	t.Helper()
	needMain(t)
	if !installed("samba", "samba-tool") {
		missing(t, missingSamba)
	}
	if os.Geteuid() != 0 {
		missing(t, "dirtest: Samba's AD DC binds ports 389 and 636, so the Active Directory tests must run as root (as `make test` in CI does)")
	}
	adOnce.Do(func() {
		adShared, adErr = startADServer()
		if adErr == nil {
			register(adShared)
		}
	})
	if adErr != nil {
		t.Fatal(adErr)
	}
	c, err := adShared.dialAdmin()
	if err != nil {
		t.Fatal(err)
	}
	a := &AD{Endpoint: adShared.Endpoint, DomainDN: ADDomainDN, Realm: ADRealm, BaseDN: "OU=" + uniqueName(t) + "," + ADDomainDN, conn: c}
	t.Cleanup(func() {
		defer c.Close()
		if err := deleteTree(c, a.BaseDN, true); err != nil {
			t.Errorf("dirtest: removing the test's unit: %v", err)
		}
	})
	if err := addEntry(c, a.BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}}); err != nil {
		t.Fatal(err)
	}
	return a
}

// AddOU adds OU=name under BaseDN, unless it is there already, and returns its DN.
func (a *AD) AddOU(t testing.TB, name string) string {
	t.Helper()
	dn := "OU=" + ldap.EscapeDN(name) + "," + a.BaseDN
	err := addEntry(a.conn, dn, map[string][]string{"objectClass": {"organizationalUnit"}})
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		t.Fatal(err)
	}
	return dn
}

// ADUserSpec is a user for AD.AddUser. Empty fields are left out, except the defaults below.
type ADUserSpec struct {
	// SAMAccountName is the logon name (at most 20 characters); UserPrincipalName defaults to
	// SAMAccountName@example.test, CN to "GivenName SN" or else SAMAccountName.
	SAMAccountName, UserPrincipalName, CN string
	// GivenName, SN, Mail, TelephoneNumber and Department are the attributes of their names.
	GivenName, SN, Mail, TelephoneNumber, Department string
	// Password is the user's password, which must meet the domain's complexity rules (three of
	// upper case, lower case, digits and symbols; 7 characters or more). An enabled account must
	// have one, so by default the user gets a random one.
	Password string
	// Disabled makes the account disabled (userAccountControl 514) instead of enabled (512).
	Disabled bool
	// OU, when not empty, puts the user in OU=OU,BaseDN (made if missing) instead of BaseDN.
	OU string
	// Attributes are more attributes, or replace the ones above.
	Attributes map[string][]string
}

// AddUser adds the user, with its password set (as unicodePwd, which AD accepts only over an
// encrypted connection, as here), and returns its DN: CN=<CN> under BaseDN or OU.
func (a *AD) AddUser(t testing.TB, u ADUserSpec) string {
	t.Helper()
	parent := a.BaseDN
	if u.OU != "" {
		parent = a.AddOU(t, u.OU)
	}
	if u.UserPrincipalName == "" {
		u.UserPrincipalName = u.SAMAccountName + "@" + strings.ToLower(a.Realm)
	}
	if u.CN == "" {
		u.CN = strings.TrimSpace(u.GivenName + " " + u.SN)
		if u.CN == "" {
			u.CN = u.SAMAccountName
		}
	}
	if u.Password == "" {
		u.Password = "Aa1!" + rand.Text()
	}
	uac := uacNormal
	if u.Disabled {
		uac |= uacDisabled
	}
	attrs := map[string][]string{
		"objectClass":        {"user"},
		"sAMAccountName":     {u.SAMAccountName},
		"userPrincipalName":  {u.UserPrincipalName},
		"unicodePwd":         {unicodePwd(u.Password)},
		"userAccountControl": {strconv.Itoa(uac)},
	}
	for name, v := range map[string]string{"givenName": u.GivenName, "sn": u.SN, "mail": u.Mail,
		"telephoneNumber": u.TelephoneNumber, "department": u.Department} {
		if v != "" {
			attrs[name] = []string{v}
		}
	}
	for name, vals := range u.Attributes {
		attrs[name] = vals
	}
	dn := "CN=" + ldap.EscapeDN(u.CN) + "," + parent
	if err := addEntry(a.conn, dn, attrs); err != nil {
		t.Fatal(err)
	}
	return dn
}

// unicodePwd is how AD takes a password: in double quotes, in UTF-16LE.
func unicodePwd(password string) string {
	units := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return string(b)
}

// SetPassword sets the user's password (an administrator's reset, not a change by the user).
// The new password binds at once, but the old one still does too for Samba's "old password
// allowed period" (60 minutes by default, as in Windows; with the period set to 0 the old one
// fails with "data 52e"), so a test cannot expect the old one to fail.
func (a *AD) SetPassword(t testing.TB, dn, password string) {
	t.Helper()
	a.Modify(t, dn, map[string][]string{"unicodePwd": {unicodePwd(password)}})
}

// Disable disables the account (userAccountControl 514 for a normal one): its binds then fail
// with result 49, "data 533".
func (a *AD) Disable(t testing.TB, dn string) {
	t.Helper()
	a.setUAC(t, dn, func(uac int) int { return uac | uacDisabled })
}

// Enable enables the account (userAccountControl 512 for a normal one).
func (a *AD) Enable(t testing.TB, dn string) {
	t.Helper()
	a.setUAC(t, dn, func(uac int) int { return uac &^ uacDisabled })
}

func (a *AD) setUAC(t testing.TB, dn string, change func(int) int) {
	t.Helper()
	uac, err := strconv.Atoi(a.Entry(t, dn, "userAccountControl").GetAttributeValue("userAccountControl"))
	if err != nil {
		t.Fatalf("dirtest: the userAccountControl of %s: %v", dn, err)
	}
	a.Modify(t, dn, map[string][]string{"userAccountControl": {strconv.Itoa(change(uac))}})
}

// AddGroup adds the global security group CN=cn under BaseDN (sAMAccountName cn) with these
// members (DNs) and returns its DN. AD keeps each member's memberOf; adding a member changes
// the group's uSNChanged, not the member's.
func (a *AD) AddGroup(t testing.TB, cn string, members ...string) string {
	t.Helper()
	dn := "CN=" + ldap.EscapeDN(cn) + "," + a.BaseDN
	if err := addEntry(a.conn, dn, map[string][]string{"objectClass": {"group"}, "sAMAccountName": {cn}, "member": members}); err != nil {
		t.Fatal(err)
	}
	return dn
}

// SetMembers makes these DNs the group's only members (none empties it).
func (a *AD) SetMembers(t testing.TB, group string, members ...string) {
	t.Helper()
	a.Modify(t, group, map[string][]string{"member": members})
}

// Modify replaces the values of each attribute replace names (no values delete the attribute).
func (a *AD) Modify(t testing.TB, dn string, replace map[string][]string) {
	t.Helper()
	if err := replaceAttrs(a.conn, dn, replace); err != nil {
		t.Fatal(err)
	}
}

// Delete deletes dn and everything under it (with the tree delete control).
func (a *AD) Delete(t testing.TB, dn string) {
	t.Helper()
	if err := deleteTree(a.conn, dn, true); err != nil {
		t.Fatal(err)
	}
}

// Rename gives dn the RDN newRDN ("CN=New Name"), in the same place, and returns the new DN.
// The sAMAccountName and userPrincipalName stay as they were.
func (a *AD) Rename(t testing.TB, dn, newRDN string) string {
	t.Helper()
	return a.ModifyDN(t, dn, newRDN, "")
}

// Move moves dn, with its RDN, under newParent (another OU, say) and returns the new DN.
func (a *AD) Move(t testing.TB, dn, newParent string) string {
	t.Helper()
	return a.ModifyDN(t, dn, "", newParent)
}

// ModifyDN gives dn the RDN newRDN (its own when empty) under newParent (its own when empty)
// and returns the new DN.
func (a *AD) ModifyDN(t testing.TB, dn, newRDN, newParent string) string {
	t.Helper()
	newDN, err := modifyDN(a.conn, dn, newRDN, newParent)
	if err != nil {
		t.Fatal(err)
	}
	return newDN
}

// Entry reads dn's attributes (all user attributes when none are named).
func (a *AD) Entry(t testing.TB, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	e, err := readEntry(a.conn, dn, attrs...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ObjectGUID is dn's objectGUID, the identifier that survives renames and moves, in the form
// AD's tools print (FormatGUID).
func (a *AD) ObjectGUID(t testing.TB, dn string) string {
	t.Helper()
	raw := a.Entry(t, dn, "objectGUID").GetRawAttributeValue("objectGUID")
	if len(raw) != 16 {
		t.Fatalf("dirtest: the objectGUID of %s is %d bytes, not 16", dn, len(raw))
	}
	return FormatGUID(raw)
}

// FormatGUID writes an objectGUID's 16 bytes as AD's tools do: the first three groups are
// little-endian, so the text differs from an RFC 4122 reading of the same bytes.
func FormatGUID(b []byte) string {
	if len(b) != 16 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16])
}

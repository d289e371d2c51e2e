package dirtest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/directory/dirtest"
)

func TestActiveDirectoryBindsOverLDAPSAndStartTLS(t *testing.T) {
	t.Parallel()
	ad := dirtest.ActiveDirectory(t)
	t.Logf("Samba listens on %s", ad.Host)
	checkTLS(t, ad.Endpoint, ad.BaseDN)
}

func TestActiveDirectoryUsers(t *testing.T) {
	t.Parallel()
	ad := dirtest.ActiveDirectory(t)
	const password = "Jane!Pass123"
	dn := ad.AddUser(t, dirtest.ADUserSpec{
		SAMAccountName: "jdoe", GivenName: "Jane", SN: "Doe", Mail: "jane@example.test",
		TelephoneNumber: "+1 555 0100", Department: "Sales", Password: password,
	})
	if want := "CN=Jane Doe," + ad.BaseDN; dn != want {
		t.Errorf("AddUser = %q, want %q", dn, want)
	}

	// From the domain's root, as a directory source searches: Samba adds a referral.
	res, err := ad.Dial(t).Search(ldap.NewSearchRequest(ad.DomainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=user)(sAMAccountName=jdoe))",
		[]string{"objectGUID", "sAMAccountName", "userPrincipalName", "userAccountControl", "uSNChanged", "mail", "department"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("the search found %d entries, want 1", len(res.Entries))
	}
	t.Logf("referrals beside the entry: %q", res.Referrals)
	e := res.Entries[0]
	for attr, want := range map[string]string{"sAMAccountName": "jdoe", "userPrincipalName": "jdoe@example.test",
		"userAccountControl": "512", "mail": "jane@example.test", "department": "Sales"} {
		if got := e.GetAttributeValue(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	if e.GetAttributeValue("uSNChanged") == "" {
		t.Error("no uSNChanged")
	}
	guid := ad.ObjectGUID(t, dn)
	if got := dirtest.FormatGUID(e.GetRawAttributeValue("objectGUID")); got != guid {
		t.Errorf("objectGUID %q, ObjectGUID %q", got, guid)
	}

	userBind := func() error {
		return bind(ad.TLSURL, ad.TLSConfig(), false, "jdoe@example.test", password, ad.DomainDN)
	}
	if err := userBind(); err != nil {
		t.Errorf("the enabled user's bind: %v", err)
	}
	ad.Disable(t, dn)
	if got := ad.Entry(t, dn, "userAccountControl").GetAttributeValue("userAccountControl"); got != "514" {
		t.Errorf("userAccountControl after Disable = %s, want 514", got)
	}
	if err := userBind(); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || !strings.Contains(err.Error(), "data 533") {
		t.Errorf("the disabled user's bind: %v, want 49 with data 533", err)
	}
	ad.Enable(t, dn)
	if err := userBind(); err != nil {
		t.Errorf("the user's bind once enabled again: %v", err)
	}
	ad.SetPassword(t, dn, "Other!Pass456")
	if err := bind(ad.TLSURL, ad.TLSConfig(), false, "jdoe@example.test", "Other!Pass456", ad.DomainDN); err != nil {
		t.Errorf("the user's bind with the password SetPassword set: %v", err)
	}
	// The old password still binds for a while: see SetPassword.
	off := ad.AddUser(t, dirtest.ADUserSpec{SAMAccountName: "off", Disabled: true})
	if got := ad.Entry(t, off, "userAccountControl").GetAttributeValue("userAccountControl"); got != "514" {
		t.Errorf("userAccountControl of a user added Disabled = %s, want 514", got)
	}

	group := ad.AddGroup(t, "Sales Team", dn)
	if got := ad.Entry(t, dn, "memberOf").GetAttributeValues("memberOf"); !slices.Equal(got, []string{group}) {
		t.Errorf("memberOf = %q, want %q", got, group)
	}
	ad.SetMembers(t, group)
	if got := ad.Entry(t, group, "member").GetAttributeValues("member"); len(got) != 0 {
		t.Errorf("the group's members after SetMembers with none: %q", got)
	}

	moved := ad.Move(t, ad.Rename(t, dn, "CN=Jane Roe"), ad.AddOU(t, "Former"))
	if want := "CN=Jane Roe,OU=Former," + ad.BaseDN; moved != want {
		t.Errorf("after Rename and Move: %q, want %q", moved, want)
	}
	if got := ad.ObjectGUID(t, moved); got != guid {
		t.Errorf("objectGUID after Rename and Move = %q, want %q", got, guid)
	}
	ad.Delete(t, moved)
	if _, err := ad.Dial(t).Search(ldap.NewSearchRequest(moved, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("after Delete: %v, want no such object", err)
	}
}

// dirSync runs DirSync searches of the whole domain from cookie until the server has nothing
// more, and returns the entries and the last cookie.
func dirSync(t *testing.T, c *ldap.Conn, base string, cookie []byte) ([]*ldap.Entry, []byte) {
	t.Helper()
	var all []*ldap.Entry
	for range 100 {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=user)", []string{"sAMAccountName", "telephoneNumber", "mail"}, nil)
		res, err := c.DirSync(req, 0, 0, cookie)
		if err != nil {
			t.Fatalf("DirSync: %v", err)
		}
		all = append(all, res.Entries...)
		ctl, ok := ldap.FindControl(res.Controls, ldap.ControlTypeDirSync).(*ldap.ControlDirSync)
		if !ok || len(ctl.Cookie) == 0 {
			t.Fatalf("DirSync's response has no cookie: %v", res.Controls)
		}
		cookie = ctl.Cookie
		if ctl.Flags == 0 { // no more to come
			return all, cookie
		}
	}
	t.Fatal("DirSync kept saying there was more")
	return nil, nil
}

// Not parallel: a DirSync sees every change in the domain, so no other test may make any.
func TestActiveDirectoryDirSyncReturnsOnlyChanges(t *testing.T) {
	ad := dirtest.ActiveDirectory(t)
	ann := ad.AddUser(t, dirtest.ADUserSpec{SAMAccountName: "ann", Mail: "ann@example.test"})
	ad.AddUser(t, dirtest.ADUserSpec{SAMAccountName: "bob"})
	c := ad.Dial(t)
	all, cookie := dirSync(t, c, ad.DomainDN, nil)
	var names []string
	for _, e := range all {
		names = append(names, e.GetAttributeValue("sAMAccountName"))
	}
	if !slices.Contains(names, "ann") || !slices.Contains(names, "bob") || !slices.Contains(names, "Administrator") {
		t.Errorf("the first DirSync returned %q, want every user, ann, bob and Administrator among them", names)
	}

	ad.Modify(t, ann, map[string][]string{"telephoneNumber": {"+1 555 0199"}})
	changed, _ := dirSync(t, c, ad.DomainDN, cookie)
	if len(changed) != 1 || !strings.EqualFold(changed[0].DN, ann) {
		var dns []string
		for _, e := range changed {
			dns = append(dns, e.DN)
		}
		t.Fatalf("DirSync from the cookie returned %q, want only %s", dns, ann)
	}
	e := changed[0]
	if got := e.GetAttributeValue("telephoneNumber"); got != "+1 555 0199" {
		t.Errorf("the changed telephoneNumber = %q", got)
	}
	if got := e.GetAttributeValue("mail"); got != "" {
		t.Errorf("the unchanged mail came back too: %q", got)
	}
}

package dirtest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/directory/dirtest"
)

// bind dials url (StartTLS first when startTLS), binds as dn and reads base: what a directory
// source does before anything else.
func bind(url string, tc *tls.Config, startTLS bool, dn, password, base string) error {
	c, err := ldap.DialURL(url, ldap.DialWithTLSConfig(tc), ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(10 * time.Second)
	if startTLS {
		if err := c.StartTLS(tc); err != nil {
			return err
		}
	}
	if err := c.Bind(dn, password); err != nil {
		return err
	}
	_, err = c.Search(ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	return err
}

// checkTLS binds as the administrator over every way to reach the server's TLS: with the
// server's CA each must work, with the untrusted CA or for the wrong name each must be refused.
func checkTLS(t *testing.T, e dirtest.Endpoint, base string) {
	t.Helper()
	for _, tt := range []struct {
		name     string
		url      string
		tc       *tls.Config
		startTLS bool
		ok       bool
	}{
		{"ldaps", e.TLSURL, e.TLSConfig(), false, true},
		{"StartTLS", e.URL, e.TLSConfig(), true, true},
		{"ldaps for the name localhost", e.TLSURL, &tls.Config{RootCAs: e.CertPool(), ServerName: "localhost"}, false, true},
		{"StartTLS for the name localhost", e.URL, &tls.Config{RootCAs: e.CertPool(), ServerName: "localhost"}, true, true},
		{"ldaps, untrusted CA", e.TLSURL, &tls.Config{RootCAs: e.OtherCertPool(), ServerName: e.Host}, false, false},
		{"StartTLS, untrusted CA", e.URL, &tls.Config{RootCAs: e.OtherCertPool(), ServerName: e.Host}, true, false},
		{"ldaps, wrong name", e.TLSURL, &tls.Config{RootCAs: e.CertPool(), ServerName: "ldap.example.org"}, false, false},
		{"StartTLS, wrong name", e.URL, &tls.Config{RootCAs: e.CertPool(), ServerName: "ldap.example.org"}, true, false},
	} {
		err := bind(tt.url, tt.tc, tt.startTLS, e.BindDN, e.BindPassword, base)
		// go-ldap's StartTLS keeps only the text of crypto/tls's error.
		refused := err != nil && (strings.Contains(err.Error(), "x509: certificate signed by unknown authority") ||
			strings.Contains(err.Error(), "x509: certificate is valid for"))
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && !refused:
			t.Errorf("%s: %v, want the certificate refused", tt.name, err)
		}
	}
}

func TestOpenLDAPBindsOverPlainStartTLSAndLDAPS(t *testing.T) {
	t.Parallel()
	dir := dirtest.OpenLDAP(t)
	if err := bind(dir.URL, nil, false, dir.BindDN, dir.BindPassword, dir.BaseDN); err != nil {
		t.Errorf("plain ldap://: %v", err)
	}
	if err := bind(dir.URL, nil, false, dir.BindDN, "wrong", dir.BaseDN); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("a wrong password: %v, want invalid credentials", err)
	}
	checkTLS(t, dir.Endpoint, dir.BaseDN)
}

func TestOpenLDAPUsersKeepTheirEntryUUID(t *testing.T) {
	t.Parallel()
	dir := dirtest.OpenLDAP(t)
	boss := dir.AddUser(t, dirtest.UserSpec{UID: "boss", GivenName: "Bo", SN: "Ss"})
	dn := dir.AddUser(t, dirtest.UserSpec{
		UID: "jdoe", GivenName: "Jane", SN: "Doe", Mail: "jane@example.org", TelephoneNumber: "+1 555 0100",
		DepartmentNumber: "42", Manager: boss, Password: "pw-jane",
		Attributes: map[string][]string{"title": {"Engineer"}},
	})
	if want := "uid=jdoe," + dir.People; dn != want {
		t.Errorf("AddUser = %q, want %q", dn, want)
	}
	c := dir.Dial(t)
	res, err := c.Search(ldap.NewSearchRequest(dir.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(mail=jane@example.org)", []string{"*", "entryUUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("search: %v, %d entries", err, len(res.Entries))
	}
	e := res.Entries[0]
	id := dir.EntryUUID(t, dn)
	for attr, want := range map[string]string{"cn": "Jane Doe", "givenName": "Jane", "sn": "Doe", "telephoneNumber": "+1 555 0100",
		"departmentNumber": "42", "manager": boss, "title": "Engineer", "entryUUID": id} {
		if got := e.GetAttributeValue(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	if err := bind(dir.URL, nil, false, dn, "pw-jane", dir.BaseDN); err != nil {
		t.Errorf("the user's own bind: %v", err)
	}

	dir.Modify(t, dn, map[string][]string{"mail": {"jd@example.org"}, "title": nil})
	if e := dir.Entry(t, dn); e.GetAttributeValue("mail") != "jd@example.org" || e.GetAttributeValue("title") != "" {
		t.Errorf("after Modify: mail %q, title %q", e.GetAttributeValue("mail"), e.GetAttributeValue("title"))
	}
	renamed := dir.Rename(t, dn, "uid=jane")
	moved := dir.Move(t, renamed, dir.AddOU(t, "alumni"))
	if want := "uid=jane,ou=alumni," + dir.BaseDN; moved != want {
		t.Errorf("after Rename and Move: %q, want %q", moved, want)
	}
	if got := dir.EntryUUID(t, moved); got != id {
		t.Errorf("entryUUID after Rename and Move = %q, want %q", got, id)
	}
	inOU := dir.AddUser(t, dirtest.UserSpec{UID: "x", OU: "alumni"})
	if want := "uid=x,ou=alumni," + dir.BaseDN; inOU != want {
		t.Errorf("AddUser with an OU = %q, want %q", inOU, want)
	}
	dir.Delete(t, moved)
	if _, err := c.Search(ldap.NewSearchRequest(moved, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("after Delete: %v, want no such object", err)
	}
}

func TestOpenLDAPKeepsMemberOf(t *testing.T) {
	t.Parallel()
	dir := dirtest.OpenLDAP(t)
	ann := dir.AddUser(t, dirtest.UserSpec{UID: "ann"})
	bob := dir.AddUser(t, dirtest.UserSpec{UID: "bob"})
	staff := dir.AddGroup(t, "staff", ann, bob)
	admins := dir.AddGroup(t, "admins")
	memberOf := func(dn string) []string {
		got := dir.Entry(t, dn, "memberOf").GetAttributeValues("memberOf")
		slices.Sort(got)
		return got
	}
	if got := memberOf(bob); !slices.Equal(got, []string{staff}) {
		t.Errorf("bob's memberOf after AddGroup = %q, want %q", got, staff)
	}
	dir.SetMembers(t, admins, ann)
	dir.SetMembers(t, staff, ann)
	if got, want := memberOf(ann), []string{admins, staff}; !slices.Equal(got, want) {
		t.Errorf("ann's memberOf = %q, want %q", got, want)
	}
	if got := memberOf(bob); len(got) != 0 {
		t.Errorf("bob's memberOf after SetMembers left him out = %q, want none", got)
	}
}

// syncSearch runs an RFC 4533 refreshOnly sync search of base from cookie and returns the uid
// of each entry it sends and the new cookie.
func syncSearch(t *testing.T, c *ldap.Conn, base string, cookie []byte) ([]string, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid", "entryUUID"}, nil)
	r := c.Syncrepl(ctx, req, 64, ldap.SyncRequestModeRefreshOnly, cookie, false)
	var uids []string
	var next []byte
	for r.Next() {
		if e := r.Entry(); e != nil {
			uids = append(uids, e.GetAttributeValue("uid"))
		}
		for _, ctl := range r.Controls() {
			if done, ok := ctl.(*ldap.ControlSyncDone); ok {
				next = done.Cookie
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("sync search: %v", err)
	}
	if len(next) == 0 {
		t.Fatal("the sync search's done control has no cookie")
	}
	slices.Sort(uids)
	return uids, next
}

func TestOpenLDAPSyncSearchReturnsACookieAndThenOnlyChanges(t *testing.T) {
	t.Parallel()
	dir := dirtest.OpenLDAP(t)
	ann := dir.AddUser(t, dirtest.UserSpec{UID: "ann"})
	dir.AddUser(t, dirtest.UserSpec{UID: "bob"})
	c := dir.Dial(t)
	uids, cookie := syncSearch(t, c, dir.BaseDN, nil)
	if want := []string{"ann", "bob"}; !slices.Equal(uids, want) {
		t.Errorf("first sync: %q, want %q", uids, want)
	}
	dir.Modify(t, ann, map[string][]string{"mail": {"ann@example.org"}})
	dir.AddUser(t, dirtest.UserSpec{UID: "cy"})
	uids, _ = syncSearch(t, c, dir.BaseDN, cookie)
	if want := []string{"ann", "cy"}; !slices.Equal(uids, want) {
		t.Errorf("sync from the cookie: %q, want %q (the changed and the new)", uids, want)
	}
}

func TestOpenLDAPTestsHaveSeparateSubtrees(t *testing.T) {
	t.Parallel()
	c := dirtest.OpenLDAP(t).Dial(t)
	var bases []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			dir := dirtest.OpenLDAP(t)
			bases = append(bases, dir.BaseDN)
			dn := dir.AddUser(t, dirtest.UserSpec{UID: "same"}) // the same uid in each: no conflict
			res, err := c.Search(ldap.NewSearchRequest(dir.Suffix, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(uid=same)", []string{"1.1"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			// No other test adds uid=same, and the first subtest's subtree went with it.
			if len(res.Entries) != 1 || res.Entries[0].DN != dn {
				t.Errorf("uid=same on the server: %d entries, want only %s", len(res.Entries), dn)
			}
		})
	}
	if len(bases) != 2 || bases[0] == bases[1] {
		t.Fatalf("the subtests' subtrees: %q, want two different ones", bases)
	}
	for _, base := range bases {
		_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("%s after its test: %v, want no such object", base, err)
		}
	}
}

func TestOpenLDAPWithLoads100000Users(t *testing.T) {
	t.Parallel()
	const n = 100_000
	start := time.Now()
	dir := dirtest.OpenLDAPWith(t, dirtest.LDAPOptions{Users: n, Seed: 7})
	t.Logf("slapadd of %d users and slapd's start: %s", n, time.Since(start).Round(time.Millisecond))

	// What a sync reads: every user, paged, over ldaps.
	start = time.Now()
	res, err := dir.Dial(t).SearchWithPaging(ldap.NewSearchRequest(dir.People, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"uid", "cn", "givenName", "sn", "mail", "telephoneNumber", "departmentNumber", "memberOf", "entryUUID"}, nil), 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("paged search of all users over ldaps: %s", time.Since(start).Round(time.Millisecond))
	if len(res.Entries) != n {
		t.Fatalf("the paged search found %d users, want %d", len(res.Entries), n)
	}
	mails := make(map[string]bool, n)
	for _, e := range res.Entries {
		mails[e.GetAttributeValue("mail")] = true
		if e.GetAttributeValue("entryUUID") == "" || len(e.GetAttributeValues("memberOf")) != 1 {
			t.Fatalf("%s: entryUUID %q, memberOf %q, want one of each", e.DN, e.GetAttributeValue("entryUUID"), e.GetAttributeValues("memberOf"))
		}
	}
	if len(mails) != n {
		t.Errorf("%d distinct mails, want %d", len(mails), n)
	}
	i := slices.IndexFunc(res.Entries, func(e *ldap.Entry) bool { return strings.HasSuffix(e.GetAttributeValue("uid"), ".0") })
	if i < 0 {
		t.Fatal("no user has the uid of the first one generated, <given>.<sn>.0")
	}
	user0 := res.Entries[i]
	if err := bind(dir.URL, nil, false, user0.DN, dirtest.GeneratedPassword(user0.GetAttributeValue("uid")), dir.BaseDN); err != nil {
		t.Errorf("bind as %s with GeneratedPassword: %v", user0.DN, err)
	}
	group := dir.Entry(t, "cn=group-0,"+dir.Groups, "member")
	if got := len(group.GetAttributeValues("member")); got != n/100 {
		t.Errorf("group-0 has %d members, want %d", got, n/100)
	}
}

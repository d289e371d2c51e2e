package directory_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/secret"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func TestMain(m *testing.M) { dirtest.Main(m) }

var admin = user.Actor{ID: "admin-id", Name: "admin", Permissions: user.AllPermissions(), RequestID: "req-1"}

// newService is the directory service on a whole usher (its user service and jobs), with short
// time limits for the connection tests.
func newService(t *testing.T, st *store.Store) *directory.Service {
	t.Helper()
	key, err := secret.GenerateKey()
	must(t, err)
	box, err := secret.NewBox(key)
	must(t, err)
	f := newSyncFixture(t, st, nil)
	svc, err := directory.NewService(st, box, f.app.Users, f.app.Background.Jobs, discardNotices{}, directory.Options{
		Timeouts: directory.Timeouts{Dial: time.Second, Request: 2 * time.Second, Test: 2 * time.Second}})
	must(t, err)
	return svc
}

// discardNotices sends no email: for services whose tests are not about them.
type discardNotices struct{}

func (discardNotices) SyncEnded(context.Context, *user.User, *directory.Directory, *directory.Run) error {
	return nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// settings are the connection settings of a slapd subtree, over LDAPS with its CA.
func settings(l *dirtest.LDAP, name string) directory.Input {
	return directory.Input{Name: ptr(name), Kind: ptr(directory.OpenLDAP), Host: ptr(l.Host), Port: ptr(l.TLSPort),
		Security: ptr(directory.LDAPS), CACert: ptr(string(l.CAPEM)), BaseDN: ptr(l.BaseDN), BindDN: ptr(l.BindDN),
		Password: ptr(l.BindPassword)}
}

func fieldCode(err error) (field, code string) {
	e, ok := errs.As(err)
	if !ok {
		return "", ""
	}
	if len(e.Fields) > 0 {
		return e.Fields[0].Field, e.Fields[0].Code
	}
	return "", e.Code
}

// closedPort is a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// hugeMessageServer answers every connection with the start of an LDAP message of a gigabyte,
// and then nothing: the client must refuse it from its header, not wait for it or hold it.
func hugeMessageServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				if _, err := c.Read(buf); err != nil {
					return
				}
				c.Write([]byte{0x30, 0x84, 0x40, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01}) // SEQUENCE of 1 GiB
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				c.Read(buf)
			}()
		}
	}()
	return l.Addr().String()
}

// TestConnectionTest: each way a connection can fail is told apart, with the step, the code and
// the setting to look at; working settings pass over LDAPS, StartTLS and plain LDAP.
func TestConnectionTest(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	svc := newService(t, storetest.Open(t, store.SQLite))
	ctx := context.Background()
	silent := dirtest.SilentListener(t)
	silentHost, silentPort, _ := net.SplitHostPort(silent)
	sp, _ := strconv.Atoi(silentPort)

	cases := []struct {
		name   string
		change func(in *directory.Input)
		steps  string // the steps, the last one failed unless ok
		ok     bool
		code   string
		field  string
	}{
		{"ldaps", func(*directory.Input) {}, "connect bind base", true, "", ""},
		{"starttls", func(in *directory.Input) { in.Security, in.Port = ptr(directory.StartTLS), ptr(l.Port) }, "connect bind base", true, "", ""},
		{"plain", func(in *directory.Input) { in.Security, in.Port = ptr(directory.Plain), ptr(l.Port) }, "connect bind base", true, "", ""},
		{"untrusted CA", func(in *directory.Input) { in.CACert = ptr(string(l.OtherCAPEM)) }, "tls", false, "directory.certificate_untrusted", "ca_cert"},
		{"untrusted CA on StartTLS", func(in *directory.Input) {
			in.Security, in.Port, in.CACert = ptr(directory.StartTLS), ptr(l.Port), ptr(string(l.OtherCAPEM))
		}, "starttls", false, "directory.certificate_untrusted", "ca_cert"},
		{"system roots only", func(in *directory.Input) { in.CACert = ptr("") }, "tls", false, "directory.certificate_untrusted", "ca_cert"},
		{"LDAPS on the plain port", func(in *directory.Input) { in.Port = ptr(l.Port) }, "tls", false, "directory.tls_failed", "security"},
		{"wrong password", func(in *directory.Input) { in.Password = ptr("not the password") }, "connect bind", false, "directory.bad_credentials", "bind_password"},
		{"no password", func(in *directory.Input) { in.Password = ptr("") }, "connect bind", false, "directory.password_required", "bind_password"},
		{"unknown bind DN", func(in *directory.Input) { in.BindDN = ptr("cn=nobody," + l.BaseDN) }, "connect bind", false, "directory.bad_credentials", "bind_password"},
		{"missing base DN", func(in *directory.Input) { in.BaseDN = ptr("ou=missing," + l.BaseDN) }, "connect bind base", false, "directory.base_dn_not_found", "base_dn"},
		{"nothing listens", func(in *directory.Input) { in.Port = ptr(closedPort(t)) }, "connect", false, "directory.unreachable", "port"},
		{"a server that never answers (TLS)", func(in *directory.Input) { in.Host, in.Port = ptr(silentHost), ptr(sp) }, "tls", false, "directory.timeout", "security"},
		{"a server that never answers (LDAP)", func(in *directory.Input) {
			in.Host, in.Port, in.Security = ptr(silentHost), ptr(sp), ptr(directory.Plain)
		}, "connect bind", false, "directory.timeout", "host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := settings(l, "test")
			c.change(&in)
			start := time.Now()
			r, err := svc.Test(ctx, admin, in)
			must(t, err)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the test took %s", took)
			}
			var names []string
			for _, s := range r.Steps {
				names = append(names, s.Name)
				if s.Message == "" {
					t.Errorf("step %s has no message", s.Name)
				}
			}
			if strings.Join(names, " ") != c.steps || r.OK != c.ok {
				t.Fatalf("steps %q ok %v, want %q ok %v: %+v", strings.Join(names, " "), r.OK, c.steps, c.ok, r.Steps)
			}
			last := r.Steps[len(r.Steps)-1]
			if !c.ok && (last.OK || last.Code != c.code || last.Field != c.field) {
				t.Fatalf("failed step %+v, want code %s on %s", last, c.code, c.field)
			}
			if strings.Contains(last.Message, l.BindPassword) {
				t.Fatalf("a message shows the password: %s", last.Message)
			}
		})
	}

	t.Run("a server that sends a huge message", func(t *testing.T) {
		addr := hugeMessageServer(t)
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		in := settings(l, "test")
		in.Host, in.Port, in.Security = ptr(host), ptr(p), ptr(directory.Plain)
		start := time.Now()
		r, err := svc.Test(ctx, admin, in)
		must(t, err)
		last := r.Steps[len(r.Steps)-1]
		if r.OK || last.Name != "bind" || time.Since(start) > 3*time.Second {
			t.Fatalf("%+v after %s", r.Steps, time.Since(start))
		}
	})
	t.Run("invalid settings are refused before connecting", func(t *testing.T) {
		in := settings(l, "test")
		in.Host, in.BaseDN = ptr("ldaps://dc1.example.com"), ptr("not a dn")
		_, err := svc.Test(ctx, admin, in)
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Invalid || len(e.Fields) != 2 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("needs directory.manage", func(t *testing.T) {
		_, err := svc.Test(ctx, user.Actor{ID: "v", Name: "viewer", Permissions: user.NewPermissions(user.UsersRead)}, settings(l, "x"))
		if !errs.Is(errs.Forbidden, err) {
			t.Fatalf("err %v", err)
		}
	})
}

// TestDirectoryLifecycle: a directory is saved only once its connection works; its password is
// sealed, never read back, and needed again when the host, port or security change; the kind's
// preset fills what is left out; rules are checked when saved; a delete leaves its users local.
func TestDirectoryLifecycle(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(t, st)
		ctx := context.Background()

		in := settings(l, "Head office")
		in.Password = ptr("wrong")
		_, err := svc.Create(ctx, admin, in)
		if f, c := fieldCode(err); f != "bind_password" || c != "directory.bad_credentials" {
			t.Fatalf("created with a wrong password: %v (%s %s)", err, f, c)
		}
		if ds, _ := svc.Directories(ctx, admin); len(ds) != 0 {
			t.Fatalf("a refused directory was saved: %+v", ds)
		}

		d, err := svc.Create(ctx, admin, settings(l, "Head office"))
		must(t, err)
		if d.Password != "" || d.SealedPassword != "" || d.Version != 1 {
			t.Fatalf("created %+v", d)
		}
		if d.Mapping.Username != "uid" || d.Mapping.Primary != "entryUUID" || d.Scope != directory.ScopeAll ||
			d.Leavers != directory.DisableLeavers || d.Threshold != 10 || d.Filter != "(objectClass=inetOrgPerson)" {
			t.Fatalf("not the OpenLDAP preset: %+v", d.Config)
		}
		stored, err := st.Directory(ctx, d.ID)
		must(t, err)
		if stored.SealedPassword == "" || strings.Contains(stored.SealedPassword, l.BindPassword) {
			t.Fatalf("the stored password is not sealed: %q", stored.SealedPassword)
		}
		// A mapping given in part: the rest is the preset's.
		partial := settings(l, "Partial")
		partial.Mapping = &directory.Mapping{Username: "cn"}
		pd, err := svc.Create(ctx, admin, partial)
		must(t, err)
		if pd.Mapping.Username != "cn" || pd.Mapping.Email != "mail" || pd.Mapping.Primary != "entryUUID" {
			t.Fatalf("a partial mapping: %+v", pd.Mapping)
		}
		must(t, svc.Delete(ctx, admin, pd.ID, pd.Version))
		if _, err := svc.Create(ctx, admin, settings(l, "HEAD OFFICE")); !errs.Is(errs.Conflict, err) {
			t.Fatalf("a second directory of the same name: %v", err)
		}

		// A rule change is saved without a password; the saved one still works.
		d, err = svc.Update(ctx, admin, d.ID, d.Version, directory.Input{Threshold: ptr(25),
			Exclusions: &[]directory.Exclusion{{Attribute: "departmentNumber", Match: directory.Exact, Values: []string{"Contractors"}, Enabled: true}}})
		must(t, err)
		if d.Threshold != 25 || len(d.Exclusions) != 1 || d.Version != 2 {
			t.Fatalf("updated %+v", d)
		}
		r, err := svc.TestSaved(ctx, admin, d.ID)
		must(t, err)
		if !r.OK {
			t.Fatalf("the saved connection: %+v", r.Steps)
		}
		// Another port (StartTLS) needs the password again, and works with it.
		_, err = svc.Update(ctx, admin, d.ID, d.Version, directory.Input{Security: ptr(directory.StartTLS), Port: ptr(l.Port)})
		if f, c := fieldCode(err); f != "bind_password" || c != "directory.password_again" {
			t.Fatalf("moved without the password: %v", err)
		}
		d, err = svc.Update(ctx, admin, d.ID, d.Version, directory.Input{Security: ptr(directory.StartTLS), Port: ptr(l.Port), Password: ptr(l.BindPassword)})
		must(t, err)
		if d.Security != directory.StartTLS || d.Port != l.Port {
			t.Fatalf("moved %+v", d.Connection)
		}
		// The saved password goes nowhere else and binds as no one else: a new host, port, CA
		// certificate or bind DN needs it again; and a changed bind DN is tested before it is saved.
		for _, moved := range []directory.Input{{Host: ptr("localhost")}, {Port: ptr(l.TLSPort)}, {CACert: ptr(string(l.OtherCAPEM))},
			{CACert: ptr("")}, {BindDN: ptr("cn=nobody," + l.BaseDN)}} {
			_, err = svc.Update(ctx, admin, d.ID, d.Version, moved)
			if f, c := fieldCode(err); f != "bind_password" || c != "directory.password_again" {
				t.Fatalf("%+v without the password: %v", moved, err)
			}
		}
		_, err = svc.Update(ctx, admin, d.ID, d.Version, directory.Input{BindDN: ptr("cn=nobody," + l.BaseDN), Password: ptr(l.BindPassword)})
		if f, c := fieldCode(err); f != "bind_password" || c != "directory.bad_credentials" {
			t.Fatalf("saved a bind DN that cannot bind: %v", err)
		}
		if r, err := svc.TestSaved(ctx, admin, d.ID); err != nil || !r.OK {
			t.Fatalf("the saved connection after refused changes: %v %+v", err, r)
		}
		if _, err := svc.Update(ctx, admin, d.ID, d.Version-1, directory.Input{Threshold: ptr(5)}); !errs.Is(errs.PreconditionFailed, err) {
			t.Fatalf("a stale version: %v", err)
		}

		bad := []struct {
			in    directory.Input
			field string
			code  string
		}{
			{directory.Input{Filter: ptr("(objectClass=person")}, "filter", "directory.filter_invalid"},
			{directory.Input{Filter: ptr("objectClass=person)(")}, "filter", "directory.filter_invalid"},
			{directory.Input{Scope: ptr(directory.ScopeSelected)}, "ous", "directory.ous_required"},
			{directory.Input{Scope: ptr(directory.ScopeSelected), OUs: &[]string{"ou=elsewhere,dc=other"}}, "ous[0]", "directory.ou_outside_base"},
			{directory.Input{Mapping: &directory.Mapping{Username: "uid", Email: "mail", Primary: "entryUUID",
				Custom: map[string]string{"Cost center": "costCenter"}}}, "mapping.custom.Cost center", "directory.field_unknown"},
			{directory.Input{Mapping: &directory.Mapping{Username: "uid", Email: "", Primary: "entryUUID"}}, "mapping.email", "directory.mapping_required"},
			{directory.Input{Mapping: &directory.Mapping{Username: "u id", Email: "mail", Primary: "entryUUID"}}, "mapping.username", "directory.attribute_invalid"},
			{directory.Input{Exclusions: &[]directory.Exclusion{{Attribute: "ou", Match: "regex", Values: []string{"x"}}}}, "exclusions[0].match", "directory.match_invalid"},
			{directory.Input{Exclusions: &[]directory.Exclusion{{Attribute: "ou", Match: directory.Partial}}}, "exclusions[0].values", "directory.values_invalid"},
			{directory.Input{Threshold: ptr(0)}, "threshold", "directory.threshold_invalid"},
			{directory.Input{Kind: ptr(directory.ActiveDirectory)}, "kind", "directory.kind_fixed"},
			{directory.Input{CACert: ptr("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----")}, "ca_cert", "directory.ca_cert_invalid"},
		}
		for _, b := range bad {
			_, err := svc.Update(ctx, admin, d.ID, d.Version, b.in)
			if f, c := fieldCode(err); f != b.field || c != b.code {
				t.Errorf("%+v: %v (%s %s), want %s on %s", b.in, err, f, c, b.code, b.field)
			}
		}

		// A user of the directory becomes a local user when it is deleted.
		uid := "00000000-0000-7000-8000-000000000001"
		_, err = st.DB().ExecContext(ctx, `INSERT INTO users (id, username, username_lower, email, email_lower, status, source,
			external_id, directory_id, created_at, updated_at, version) VALUES ($1, 'ada', 'ada', 'ada@example.com', 'ada@example.com',
			'active', 'directory', 'uuid-1', $2, $3, $3, 1)`, uid, d.ID, time.Now().UTC())
		must(t, err)
		if err := svc.Delete(ctx, admin, d.ID, d.Version-1); !errs.Is(errs.PreconditionFailed, err) {
			t.Fatalf("deleted at a stale version: %v", err)
		}
		must(t, svc.Delete(ctx, admin, d.ID, d.Version))
		u, err := st.User(ctx, uid)
		must(t, err)
		if u.Source != user.Local || u.ExternalID != "" {
			t.Fatalf("the directory's user after the delete: source %s, external id %q", u.Source, u.ExternalID)
		}
		if _, err := svc.Directory(ctx, admin, d.ID); !errs.Is(errs.NotFound, err) {
			t.Fatalf("read after delete: %v", err)
		}

		events, _, err := st.AuditEvents(ctx, audit.Filter{TargetType: "directory", TargetID: d.ID, Limit: 100})
		must(t, err)
		var actions []string
		for _, e := range events {
			if e.TargetType != "directory" {
				continue
			}
			actions = append(actions, e.Action)
			if strings.Contains(fmt.Sprint(e.Details), l.BindPassword) {
				t.Fatalf("an audit event shows the password: %+v", e)
			}
		}
		if strings.Join(actions, " ") != "directory.delete directory.update directory.update directory.create" {
			t.Fatalf("audit %v", actions)
		}
	})
}

// TestOUs: the organisation units under the base DN come as a tree, each after its parent.
func TestOUs(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	st := storetest.Open(t, store.SQLite)
	svc := newService(t, st)
	ctx := context.Background()
	sales := l.AddOU(t, "sales")
	l.AddUser(t, dirtest.UserSpec{UID: "ada", OU: "sales"})
	add := ldap.NewAddRequest("ou=EMEA,"+sales, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{"EMEA"})
	must(t, l.Dial(t).Add(add))
	d, err := svc.Create(ctx, admin, settings(l, "OUs"))
	must(t, err)
	ous, truncated, err := svc.OUs(ctx, admin, d.ID)
	must(t, err)
	var got []string
	for _, o := range ous {
		got = append(got, strings.Repeat("  ", o.Depth-1)+o.Name)
	}
	if truncated || strings.Join(got, "|") != "groups|people|sales|  EMEA" {
		t.Fatalf("OUs %q (truncated %v): %+v", got, truncated, ous)
	}
	if ous[2].Parent != l.BaseDN || ous[2].Depth != 1 {
		t.Fatalf("sales %+v", ous[2])
	}
}

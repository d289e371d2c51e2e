package cli_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/user"
)

// TestDirectoryCommands: usher directory list, test and sync (a dry run, then --wait) on a
// directory saved on a real slapd.
func TestDirectoryCommands(t *testing.T) {
	l := dirtest.OpenLDAP(t)
	ada := l.AddUser(t, dirtest.UserSpec{UID: "cli-ada", GivenName: "Ada", SN: "Lovelace", Mail: "cli-ada@example.com"})
	l.AddGroup(t, "cli-team", ada)
	l.AddUser(t, dirtest.UserSpec{UID: "cli-nomail", GivenName: "No", SN: "Mail"})
	dir := t.TempDir()
	code, stdout, stderr := run(t, nil, "directory", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "No directory yet") {
		t.Fatalf("list with none: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Saved as an administrator would, through the directory service.
	func() {
		ctx := context.Background()
		cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), []string{"USHER_DATA_DIR=" + dir})
		if err != nil {
			t.Fatal(err)
		}
		st, err := app.OpenStore(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, err := app.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		p := func(s string) *string { return &s }
		kind, sec := directory.OpenLDAP, directory.LDAPS
		_, err = a.Directories.Create(ctx, user.System("test"), directory.Input{Name: p("Head Office"), Kind: &kind, Host: &l.Host,
			Port: &l.TLSPort, Security: &sec, CACert: p(string(l.CAPEM)), BaseDN: &l.BaseDN, BindDN: &l.BindDN, Password: &l.BindPassword,
			Groups: &directory.GroupMapping{Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
	}()
	code, stdout, stderr = run(t, nil, "directory", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "Head Office") || !strings.Contains(stdout, "never") || !strings.Contains(stdout, "NEXT SYNC") || !strings.Contains(stdout, "no schedule") || strings.Contains(stdout, l.BindPassword) {
		t.Fatalf("list: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, nil, "directory", "test", "head office", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "ok   bind") || !strings.Contains(stdout, "ok   base") {
		t.Fatalf("test: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, nil, "directory", "test", "Elsewhere", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, `there is no directory named "Elsewhere"; there are "Head Office"`) {
		t.Fatalf("an unknown name: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = run(t, nil, "directory", "sync", "Head Office", "--dry-run", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "2 entries in scope, 0 users in usher. A sync would: create 1, update 0, disable 0, enable 0, delete 0; groups: create 1, update 0, delete 0 (members: add 1, remove 0); 1 entries refused.") ||
		!strings.Contains(stdout, "create  cli-ada <cli-ada@example.com>") || !strings.Contains(stdout, "refused uid=cli-nomail,") ||
		!strings.Contains(stdout, "Dry run: nothing was changed.") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, nil, "directory", "sync", "Head Office", "--wait", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "Sync of Head Office completed") ||
		!strings.Contains(stdout, "2 entries read, 1 created, 0 updated, 0 disabled, 0 enabled, 0 deleted, groups 1 created, 0 updated, 0 deleted (1 members added, 0 removed), 1 refused") {
		t.Fatalf("sync: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, nil, "users", "export", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "cli-ada@example.com") {
		t.Fatalf("the synced user is not there: %s", stdout)
	}
}

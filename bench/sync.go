package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/user"
)

// runSync is P-SYNC: a slapd loaded with -n users (dirtest.GenerateLDIF), or with -ad a Samba
// AD DC given -n users over LDAP, a directory on it over LDAPS, a full sync through the sync job
// (every user created), then -changed percent of the entries changed in the directory (their
// telephone number) and synced again as Sync now does (incremental: the entries changed since
// the full sync). It reports each sync's time and rate and the peak RssAnon of this process.
// Use a database of its own.
func runSync(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	n := fs.Int("n", 100000, "users in the directory")
	changed := fs.Float64("changed", 1, "percent of the entries changed before the second sync")
	ad := fs.Bool("ad", false, "sync from a Samba AD DC (started here, as root) instead of slapd")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loadStart := time.Now()
	var in directory.Input
	var change func(k int) error
	server := "slapd"
	if *ad {
		srv, err := dirtest.StartADServer()
		if err != nil {
			return err
		}
		defer srv.Stop()
		fmt.Printf("sync: Samba AD DC started in %.1f s; adding %d users\n", time.Since(loadStart).Seconds(), *n)
		base, err := srv.AddUsers("bench", *n, 1, 4, func(done int) {
			if done%2000 == 0 {
				fmt.Printf("  %d users added in %.0f s\n", done, time.Since(loadStart).Seconds())
			}
		})
		if err != nil {
			return err
		}
		in = directory.Input{Kind: ptr(directory.ActiveDirectory), Host: &srv.Host, Port: &srv.TLSPort, CACert: ptr(string(srv.CAPEM)),
			BaseDN: &base, BindDN: &srv.BindDN, Password: &srv.BindPassword}
		change = func(k int) error { return changePhones(srv.Endpoint, base, "(objectClass=user)", k) }
		server = "Samba AD DC"
	} else {
		srv, err := dirtest.StartLDAPServer("", dirtest.LDAPOptions{Users: *n, Seed: 1})
		if err != nil {
			return err
		}
		defer srv.Stop()
		in = directory.Input{Kind: ptr(directory.OpenLDAP), Host: &srv.Host, Port: &srv.TLSPort, CACert: ptr(string(srv.CAPEM)),
			BaseDN: &srv.Suffix, BindDN: &srv.BindDN, Password: &srv.BindPassword}
		people := "ou=people," + srv.Suffix
		change = func(k int) error { return changePhones(srv.Endpoint, people, "(objectClass=inetOrgPerson)", k) }
	}
	loaded := time.Since(loadStart)
	a, _, stop, err := serve(ctx, db)
	if err != nil {
		return err
	}
	defer stop()
	if err := a.Background.Jobs.Start(ctx); err != nil {
		return err
	}
	defer a.Background.Jobs.Stop(context.WithoutCancel(ctx))
	admin := user.System("bench")
	before, err := a.Users.Counts(ctx, admin)
	if err != nil {
		return err
	}
	in.Name, in.Security, in.Threshold = ptr(fmt.Sprintf("bench %d", time.Now().UnixNano())), ptr(directory.LDAPS), ptr(100)
	d, err := a.Directories.Create(ctx, admin, in)
	if err != nil {
		return err
	}
	peak, stopSampling := sampleAnon()
	full, fullTook, err := syncOnce(ctx, a.Directories, admin, d.ID, true)
	if err != nil {
		return err
	}
	k := int(float64(*n) * *changed / 100)
	changeStart := time.Now()
	if err := change(k); err != nil {
		return err
	}
	changeTook := time.Since(changeStart)
	again, againTook, err := syncOnce(ctx, a.Directories, admin, d.ID, false)
	if err != nil {
		return err
	}
	stopSampling()
	_, hwm, err := memory(os.Getpid())
	if err != nil {
		return err
	}
	fmt.Printf("sync: %s, %d users before; %s with %d users loaded in %.1f s; %d entries changed in %.1f s\n\n",
		db.name(), before.Total, server, *n, loaded.Seconds(), k, changeTook.Seconds())
	fmt.Println("| sync | time | entries/s | seen | created | updated | disabled | failed |")
	fmt.Println("|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range []struct {
		name string
		run  *directory.Run
		took time.Duration
	}{{"full, all new", full, fullTook}, {fmt.Sprintf("incremental, %.0f%% changed", *changed), again, againTook}} {
		c := r.run.Done
		fmt.Printf("| %s | %.1f s | %.0f | %d | %d | %d | %d | %d |\n", r.name, r.took.Seconds(), float64(c.Seen)/r.took.Seconds(),
			c.Seen, c.Created, c.Updated, c.Disabled, c.Failed)
	}
	fmt.Printf("\npeak RssAnon %d MB, VmHWM %d MB\n", *peak/1024, hwm/1024)
	return nil
}

// syncOnce runs a sync (full, or as Sync now does: only what changed since the last) and waits
// for it.
func syncOnce(ctx context.Context, svc *directory.Service, a user.Actor, id string, full bool) (*directory.Run, time.Duration, error) {
	start := time.Now()
	run, _, err := svc.Sync(ctx, a, id, directory.SyncOptions{Full: full})
	if err != nil {
		return nil, 0, err
	}
	for {
		r, err := svc.GetRun(ctx, a, id, run.ID)
		if err != nil {
			return nil, 0, err
		}
		if r.Status.Final() {
			if r.Status != directory.RunCompleted {
				return nil, 0, fmt.Errorf("the sync %s: %s", r.Status, r.Reason)
			}
			return r, time.Since(start), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// changePhones gives k entries of filter under base a new telephone number.
func changePhones(e dirtest.Endpoint, base, filter string, k int) error {
	c, err := ldap.DialURL(e.TLSURL, ldap.DialWithTLSConfig(e.TLSConfig()), ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Bind(e.BindDN, e.BindPassword); err != nil {
		return err
	}
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, k, 0, false,
		filter, []string{"1.1"}, nil), 500)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return err
	}
	for i, en := range res.Entries {
		if i == k {
			break
		}
		m := ldap.NewModifyRequest(en.DN, nil)
		m.Replace("telephoneNumber", []string{fmt.Sprintf("+1 555 000 %04d", i%10000)})
		if err := c.Modify(m); err != nil {
			return err
		}
	}
	return nil
}

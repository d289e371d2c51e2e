package auth_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// slowDirectory answers a bind after bind, right for password alone.
type slowDirectory struct {
	bind     time.Duration
	password string
}

func (d *slowDirectory) Authenticate(ctx context.Context, _ *user.User, password string) (bool, error) {
	time.Sleep(d.bind)
	return password == d.password, nil
}

// TestENUMDirectoryUserTakesAnyonesTime: a wrong password for a directory user is answered in
// the time of anyone's wrong password, not in a hash's time and then a bind's, which would tell
// who is a directory user. The bind is made as long as a hash here (measured first), so a sign-in
// that binds after hashing takes about twice as long as a made-up login's.
func TestENUMDirectoryUserTakesAnyonesTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		must(t, st.SyncBuiltinRoles(ctx))
		dir := &slowDirectory{password: "the directory's password"}
		pw := auth.NewPasswords(auth.DefaultHashParams, auth.DefaultPolicy)
		signIn, err := auth.NewService(st, pw, &notes{}, auth.Options{Limits: noLimits, Directory: dir})
		must(t, err)
		users, err := user.NewService(st, pw, signIn.SendReset)
		must(t, err)
		now := time.Now().UTC()
		must(t, st.InsertDirectory(ctx, &directory.Directory{ID: "dir-timing", Name: "Timing", Kind: directory.OpenLDAP,
			Connection: directory.Connection{Host: "127.0.0.1", Port: 636, Security: directory.LDAPS, BaseDN: "dc=example,dc=org"},
			Config:     directory.Preset(directory.OpenLDAP), Version: 1, CreatedAt: now, UpdatedAt: now}))
		_, err = users.CreateUser(ctx, user.System("test"), user.CreateInput{DirectoryID: "dir-timing",
			Profile: user.Profile{ExternalID: strptr("e-1"), Email: strptr("dee@example.org"), Username: strptr("dee"), FirstName: strptr("Dee"), LastName: strptr("Lee")}})
		must(t, err)

		client := auth.Client{IP: "127.0.0.1"}
		timed := func(login, password string) time.Duration {
			start := time.Now()
			signIn.Login(ctx, login, password, client)
			return time.Since(start)
		}
		median := func(ds []time.Duration) time.Duration {
			slices.Sort(ds)
			return ds[len(ds)/2]
		}
		var unknown []time.Duration
		for i := range 5 {
			unknown = append(unknown, timed("nobody-"+string(rune('a'+i))+"@example.org", "a guess"))
		}
		dir.bind = median(unknown)
		var directoryUser, madeUp []time.Duration
		for i := range 7 {
			directoryUser = append(directoryUser, timed("dee", "a guess"))
			madeUp = append(madeUp, timed("someone-"+string(rune('a'+i))+"@example.org", "a guess"))
			if _, _, err := signIn.Login(ctx, "dee", dir.password, client); err != nil { // the account's count starts again
				t.Fatalf("the right directory password: %v", err)
			}
		}
		d, m := median(directoryUser), median(madeUp)
		if d-m > dir.bind/2 {
			t.Fatalf("a directory user's wrong password takes %v, a made-up login's %v: the bind (%v) comes after the hash", d, m, dir.bind)
		}
	})
}

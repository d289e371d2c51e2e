package auth_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestSignInTimingDoesNotRevealAccounts: with the real argon2id parameters, a wrong password for
// an existing account and any password for a missing one take the same time (the missing case
// verifies a dummy hash), and give the same answer.
func TestSignInTimingDoesNotRevealAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := st.SyncBuiltinRoles(ctx); err != nil {
			t.Fatal(err)
		}
		pw := auth.NewPasswords(auth.DefaultHashParams, auth.DefaultPolicy)
		// a high threshold so that the existing account does not lock during the measurement
		svc, err := auth.NewService(st, pw, &notes{}, auth.Options{MaxFailures: 1000, Limits: noLimits})
		if err != nil {
			t.Fatal(err)
		}
		users, err := user.NewService(st, pw, svc.SendReset)
		if err != nil {
			t.Fatal(err)
		}
		email, name := "ada@example.org", "ada"
		if _, err := users.CreateUser(ctx, user.System("test"), user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
			FirstName: &name, LastName: &name}, Password: strptr(password)}); err != nil {
			t.Fatal(err)
		}
		// Interleave the two cases so that both see the same load on a busy machine.
		var existingTimes, missingTimes []time.Duration
		var a1, a2 string
		once := func(login string) (time.Duration, string) {
			start := time.Now()
			_, _, err := svc.Login(ctx, login, "not the password", auth.Client{})
			return time.Since(start), code(err)
		}
		once("nobody@example.org") // warm up: the dummy hash is made on first use
		for range 11 {
			var d time.Duration
			d, a1 = once("ada")
			existingTimes = append(existingTimes, d)
			d, a2 = once("nobody@example.org")
			missingTimes = append(missingTimes, d)
		}
		median := func(ds []time.Duration) time.Duration {
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			return ds[len(ds)/2]
		}
		existing, missing := median(existingTimes), median(missingTimes)
		if a1 != a2 {
			t.Fatalf("answers differ: %s vs %s", a1, a2)
		}
		ratio := float64(existing) / float64(missing)
		t.Logf("median sign-in time: existing account %v, missing account %v", existing, missing)
		if ratio < 0.5 || ratio > 2 {
			t.Fatalf("median times differ too much: existing %v, missing %v", existing, missing)
		}
	})
}

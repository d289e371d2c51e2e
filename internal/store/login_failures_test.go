package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestFLOODLoginCounters: a login's failures count to the limit like an account's, end with
// the unlock delay or the retention, and their number stays capped, the counts at the limit
// kept longest.
func TestFLOODLoginCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Second)
		long := t0.Add(-time.Hour)
		reserve := func(login string, now, unlockBefore time.Time) (int, bool) {
			t.Helper()
			n, ok, err := st.ReserveLoginFailure(ctx, login, 3, now, now.Add(-time.Hour), unlockBefore)
			if err != nil {
				t.Fatal(err)
			}
			return n, ok
		}
		for want := 1; want <= 3; want++ {
			if n, ok := reserve("ghost", t0, time.Time{}); !ok || n != want {
				t.Fatalf("attempt %d: %d %v", want, n, ok)
			}
		}
		if _, ok := reserve("ghost", t0.Add(time.Second), time.Time{}); ok {
			t.Fatal("a fourth attempt past the limit was reserved")
		}
		// an unlock delay that has passed since the third failure starts the count again
		if n, ok := reserve("ghost", t0.Add(2*time.Second), t0.Add(time.Second)); !ok || n != 1 {
			t.Fatalf("after the unlock delay: %d %v", n, ok)
		}
		// failures older than the retention are forgotten
		if n, ok := reserve("ghost", t0.Add(2*time.Hour), time.Time{}); !ok || n != 1 {
			t.Fatalf("after the retention: %d %v", n, ok)
		}
		// the number kept is capped, newest first, and a count at the limit outlives newer ones below it
		for range 3 {
			reserve("locked-early", t0.Add(-30*time.Minute), time.Time{})
		}
		for i := range 20 {
			reserve(fmt.Sprintf("flood-%02d", i), t0.Add(time.Duration(i)*time.Minute), time.Time{})
		}
		if err := st.PruneLoginFailures(ctx, long, 5); err != nil {
			t.Fatal(err)
		}
		if n, err := st.CountLoginFailures(ctx); err != nil || n != 5 {
			t.Fatalf("%d counters kept, want 5 (%v)", n, err)
		}
		if _, ok := reserve("locked-early", t0.Add(20*time.Minute), time.Time{}); ok {
			t.Fatal("the count at the limit was pruned before newer ones below it")
		}
		if n, ok := reserve("flood-19", t0.Add(19*time.Minute), time.Time{}); !ok || n != 2 {
			t.Fatalf("the newest counter was not kept: %d %v", n, ok)
		}
		if err := st.PruneLoginFailures(ctx, t0.Add(24*time.Hour), 5); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.CountLoginFailures(ctx); n != 0 {
			t.Fatalf("%d counters kept past the retention", n)
		}
	})
}

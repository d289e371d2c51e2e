package auth_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestFLOODResetMailbox: 50 anonymous reset requests for one account, from many addresses,
// send one email per interval, and every requester gets the usual answer; past its limit one
// address is refused with a 429 that says when to come back, whatever account it names.
func TestFLOODResetMailbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		limits := auth.DefaultLimits
		limits.ResetInterval = 3 * time.Second
		f := newFixture(t, st, auth.Options{Limits: &limits})
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := auth.Client{IP: fmt.Sprintf("10.0.0.%d", i)}
				if err := f.auth.RequestReset(ctx, "ada@example.org", c); err != nil {
					t.Errorf("request %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if n := f.mail.sentResets(); n != 1 {
			t.Fatalf("50 requests sent %d emails, want 1", n)
		}
		time.Sleep(3100 * time.Millisecond)
		if err := f.auth.RequestReset(ctx, "ada@example.org", auth.Client{IP: "10.0.1.1"}); err != nil || f.mail.sentResets() != 2 {
			t.Fatalf("after the interval: %v, %d emails", err, f.mail.sentResets())
		}
		// one address: ten requests pass, the eleventh is shed for any account
		for i := range 10 {
			if err := f.auth.RequestReset(ctx, "nobody@example.org", auth.Client{IP: "10.9.9.9"}); err != nil {
				t.Fatalf("request %d from one address: %v", i+1, err)
			}
		}
		for _, email := range []string{"ada@example.org", "nobody@example.org"} {
			err := f.auth.RequestReset(ctx, email, auth.Client{IP: "10.9.9.9"})
			if e, ok := errs.As(err); !ok || e.Kind != errs.TooMany || e.RetryAfter <= 0 || e.Code != "auth.too_many_resets" {
				t.Fatalf("eleventh request from one address for %s: %v", email, err)
			}
		}
	})
}

// TestFLOODSignInLimits: one address past its budget, and one login past its own from many
// addresses, are shed with 429 and Retry-After before any hash or database work; other
// addresses and logins are untouched; many correct sign-ins at once for one account get a 429
// for the ones shed, never a 503.
func TestFLOODSignInLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		limits := auth.Limits{SignInPerAddress: auth.Limit{Count: 20, Per: time.Minute}, SignInPerLogin: auth.Limit{Count: 10, Per: time.Minute}}
		f := newFixture(t, st, auth.Options{Limits: &limits})
		shed := func(err error, code string) bool {
			e, ok := errs.As(err)
			return ok && e.Kind == errs.TooMany && e.Code == code && e.RetryAfter > 0
		}
		for i := range 25 {
			_, _, err := f.auth.Login(ctx, fmt.Sprintf("made-up-%d", i), "guess", auth.Client{IP: "127.0.0.2"})
			if i < 20 && code(err) != "auth.invalid_credentials" || i >= 20 && !shed(err, "auth.too_many_attempts") {
				t.Fatalf("attempt %d from one address: %v", i+1, err)
			}
		}
		if c := f.login(t, password); c != "" {
			t.Fatalf("another address during the flood: %s", c)
		}
		checked := f.pw.Checked()
		var wg sync.WaitGroup
		var ok, limited atomic.Int64
		for i := range 25 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := f.auth.Login(ctx, "ada", password, auth.Client{IP: fmt.Sprintf("10.1.0.%d", i)})
				switch {
				case err == nil:
					ok.Add(1)
				case shed(err, "auth.too_many_attempts") || shed(err, "auth.busy"):
					limited.Add(1)
				default:
					t.Errorf("parallel correct sign-in: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() == 0 || ok.Load()+limited.Load() != 25 || f.pw.Checked()-checked > 10 {
			t.Fatalf("25 parallel correct sign-ins: %d in, %d shed, %d hashes", ok.Load(), limited.Load(), f.pw.Checked()-checked)
		}
	})
}

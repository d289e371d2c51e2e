package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// rawUser writes a user with plain SQL, as an usher from before migration 00009 did (or one
// still running beside a newer one): no look-alike keys, the text exactly as given.
func rawUser(t *testing.T, s *store.Store, id, username, email string) {
	t.Helper()
	_, err := s.DB().ExecContext(context.Background(), `INSERT INTO users (id, username, username_lower, email, email_lower,
		status, source, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, 'active', 'local', $6, $6, 1)`,
		id, username, strings.ToLower(username), email, strings.ToLower(email), t0)
	if err != nil {
		t.Fatalf("insert %s: %v", username, err)
	}
}

// identityOf reads a user's stored identities and their look-alike keys.
type identityOf struct {
	username, usernameLower, email, emailLower string
	usernameSkeleton, emailSkeleton            sql.NullString
}

func readIdentity(t *testing.T, s *store.Store, id string) identityOf {
	t.Helper()
	var r identityOf
	err := s.DB().QueryRowContext(context.Background(), `SELECT username, username_lower, email, email_lower,
		username_skeleton, email_skeleton FROM users WHERE id = $1`, id).
		Scan(&r.username, &r.usernameLower, &r.email, &r.emailLower, &r.usernameSkeleton, &r.emailSkeleton)
	if err != nil {
		t.Fatalf("read user %s: %v", id, err)
	}
	return r
}

// seqID is the i-th of a series of UUIDv7-shaped ids in creation order.
func seqID(i int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012d", i) }

// TestIdentitySkeletonMigration runs migration 00009 on users written before it: each gets the
// look-alike keys of their username and email, oldest first; a later look-alike keeps none, so
// that existing look-alikes do not stop the migration, and stays writable; emails stored in NFD
// become NFC unless that form is another user's. Every start fills in what is still missing.
func TestIdentitySkeletonMigration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		if err := s.MigrateDownTo(ctx, 8); err != nil {
			t.Fatal(err)
		}
		const (
			paypal = iota + 1
			paypalCyrillic
			zeroRoot
			root
			nfdOnly
			nfdOlder
			nfcNewer
			plain // and after: many plain users, more than one batch of the filling
		)
		rawUser(t, s, seqID(paypal), "paypal", "paypal@example.com")
		rawUser(t, s, seqID(paypalCyrillic), "paypal2", "p\u0430ypal@example.com")
		rawUser(t, s, seqID(zeroRoot), "r00t", "r00t@example.com")
		rawUser(t, s, seqID(root), "root", "root@example.org")
		rawUser(t, s, seqID(nfdOnly), "elise", "E\u0301lise@example.com")
		rawUser(t, s, seqID(nfdOlder), "emile", "E\u0301mile@example.com")
		rawUser(t, s, seqID(nfcNewer), "emile2", "\u00c9mile@example.com")
		const many = 2100
		for i := plain; i < plain+many; i++ {
			rawUser(t, s, seqID(i), fmt.Sprintf("plain%d", i), fmt.Sprintf("plain%d@example.com", i))
		}

		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) == 0 || !strings.HasSuffix(applied[0], "00009_identity_skeleton.sql") {
			t.Fatalf("Migrate = %v, %v; want 00009_identity_skeleton.sql applied first", applied, err)
		}
		key := func(s string) sql.NullString { return sql.NullString{String: user.Skeleton(s), Valid: true} }
		none := sql.NullString{}
		for _, tc := range []struct {
			name string
			id   int
			want identityOf
		}{
			{"the first of two look-alike emails", paypal,
				identityOf{"paypal", "paypal", "paypal@example.com", "paypal@example.com", key("paypal"), key("paypal@example.com")}},
			{"the second of two look-alike emails", paypalCyrillic,
				identityOf{"paypal2", "paypal2", "p\u0430ypal@example.com", "p\u0430ypal@example.com", key("paypal2"), none}},
			{"the first of two look-alike usernames", zeroRoot,
				identityOf{"r00t", "r00t", "r00t@example.com", "r00t@example.com", key("root"), key("r00t@example.com")}},
			{"the second of two look-alike usernames", root,
				identityOf{"root", "root", "root@example.org", "root@example.org", none, key("root@example.org")}},
			{"an email in NFD", nfdOnly,
				identityOf{"elise", "elise", "\u00c9lise@example.com", "\u00e9lise@example.com", key("elise"), key("\u00c9lise@example.com")}},
			{"an email in NFD whose NFC form is another user's", nfdOlder,
				identityOf{"emile", "emile", "E\u0301mile@example.com", "e\u0301mile@example.com", key("emile"), key("\u00c9mile@example.com")}},
			{"that other user", nfcNewer,
				identityOf{"emile2", "emile2", "\u00c9mile@example.com", "\u00e9mile@example.com", key("emile2"), none}},
			{"a plain user of the first batch", plain,
				identityOf{fmt.Sprintf("plain%d", plain), fmt.Sprintf("plain%d", plain), fmt.Sprintf("plain%d@example.com", plain), fmt.Sprintf("plain%d@example.com", plain),
					key(fmt.Sprintf("plain%d", plain)), key(fmt.Sprintf("plain%d@example.com", plain))}},
			{"a plain user of the last batch", plain + many - 1,
				identityOf{fmt.Sprintf("plain%d", plain+many-1), fmt.Sprintf("plain%d", plain+many-1), fmt.Sprintf("plain%d@example.com", plain+many-1), fmt.Sprintf("plain%d@example.com", plain+many-1),
					key(fmt.Sprintf("plain%d", plain+many-1)), key(fmt.Sprintf("plain%d@example.com", plain+many-1))}},
		} {
			if got := readIdentity(t, s, seqID(tc.id)); got != tc.want {
				t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
			}
		}
		nulls := `SELECT count(*) FROM users WHERE username_skeleton IS NULL OR email_skeleton IS NULL`
		if n := count(t, s, nulls); n != 3 {
			t.Errorf("%d users without a look-alike key, want the 3 later look-alikes", n)
		}
		if u, err := s.UserByLogin(ctx, user.CanonicalLogin("e\u0301lise@example.com")); err != nil || u.ID != seqID(nfdOnly) {
			t.Errorf("UserByLogin of the NFD email made NFC: %v, %v", u, err)
		}

		// A new look-alike is refused; a user left without a key can still be changed.
		u := newUser("paypal3")
		u.Email = "paypa1@example.com"
		wantErr(t, s.InsertUser(ctx, u), errs.Conflict, "user.lookalike", "email")
		cur, err := s.User(ctx, seqID(paypalCyrillic))
		if err != nil {
			t.Fatal(err)
		}
		cur.Department, cur.Version = "Sales", 2
		if err := s.UpdateUser(ctx, cur, 1); err != nil {
			t.Fatalf("UpdateUser of a look-alike from before: %v", err)
		}

		// Each start fills what is missing: a key that its older holder gave up, and users an
		// older usher wrote meanwhile; the rest stays.
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, seqID(paypal)); err != nil {
			t.Fatal(err)
		}
		rawUser(t, s, seqID(plain+many), "late", "late@example.com")
		if applied, err := s.Migrate(ctx); err != nil || len(applied) != 0 {
			t.Fatalf("Migrate again = %v, %v; want nothing applied", applied, err)
		}
		if got := readIdentity(t, s, seqID(paypalCyrillic)).emailSkeleton; got != key("paypal@example.com") {
			t.Errorf("the look-alike whose older twin is gone has key %v, want %q", got, user.Skeleton("paypal@example.com"))
		}
		if got := readIdentity(t, s, seqID(plain+many)); got.usernameSkeleton != key("late") || got.emailSkeleton != key("late@example.com") {
			t.Errorf("a user written without keys after the migration: %+v, want its keys", got)
		}
		if n := count(t, s, nulls); n != 2 {
			t.Errorf("%d users without a look-alike key, want 2", n)
		}
	})
}

// TestLookalikeInsertRace inserts twelve look-alike users at once straight into the store, as a
// bulk path would: the unique look-alike keys let exactly one in.
func TestLookalikeInsertRace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		emails := []string{"fred@example.com", "FRED@example.com", "fr\u0435d@example.com", "ｆｒｅｄ@example.com",
			"fred@ｅｘａｍｐｌｅ.com", "fred@examp1e.com", "fred@exarnple.com", "fred@example.corn", "Fred@Example.Com",
			"\U0001d41fred@example.com", "fre\u0501@example.com", "FRED@EXAMPLE.C0M"}
		var wg sync.WaitGroup
		errors := make([]error, len(emails))
		for i, email := range emails {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := newUser(fmt.Sprintf("racer%c", 'a'+i))
				u.ID, u.Email = uuid.Must(uuid.NewV7()).String(), email
				errors[i] = s.InsertUser(ctx, u)
			}()
		}
		wg.Wait()
		created := 0
		for i, err := range errors {
			switch e, _ := errs.As(err); {
			case err == nil:
				created++
			case e == nil || e.Kind != errs.Conflict || e.Code != "user.lookalike" && e.Code != "user.email_taken":
				t.Errorf("insert %q: %v, want success or a look-alike or taken conflict", emails[i], err)
			}
		}
		if created != 1 {
			t.Fatalf("%d of %d look-alikes inserted, want exactly 1", created, len(emails))
		}
	})
}

package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func TestUserRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		mustInsertField(t, s, "team", user.TextField)
		mustInsertField(t, s, "level", user.NumberField)
		manager := mustInsertUser(t, s, newUser("boss"))
		login, activated := t0.Add(time.Hour), t0.Add(-time.Hour)
		want := &user.User{
			ID: uuid.NewString(), Username: "Ada.Lovelace", Email: "Ada@Example.ORG",
			FirstName: "Ada", LastName: "Lovelace", Phone: "+44 20 7946 0000", Department: "Engines",
			ManagerID: manager.ID, ManagerName: "Charles Babbage", Status: user.Locked, Source: user.Directory,
			ExternalID: "cn=ada,dc=example,dc=org", DefaultAdmin: true, PasswordHash: "$argon2id$v=19$fake",
			Custom:    map[string]string{"team": "analytical", "level": "3"},
			CreatedAt: t0, UpdatedAt: t0.Add(time.Minute), LastLoginAt: &login, ActivatedAt: &activated, Version: 7,
		}
		if err := s.InsertUser(ctx, want); err != nil {
			t.Fatalf("InsertUser: %v", err)
		}
		byID, err := s.User(ctx, want.ID)
		if err != nil {
			t.Fatalf("User: %v", err)
		}
		assertUser(t, byID, want, true)
		admin, err := s.DefaultAdmin(ctx)
		if err != nil {
			t.Fatalf("DefaultAdmin: %v", err)
		}
		if admin.ID != want.ID {
			t.Errorf("DefaultAdmin = %s, want %s", admin.ID, want.ID)
		}

		plain, err := s.User(ctx, manager.ID)
		if err != nil {
			t.Fatalf("User(manager): %v", err)
		}
		assertUser(t, plain, manager, false)
		if plain.LastLoginAt != nil || plain.ActivatedAt != nil || plain.ManagerID != "" || plain.ExternalID != "" || plain.DefaultAdmin {
			t.Errorf("optional columns of a plain user = %+v, want empty", plain)
		}
		if len(plain.Custom) != 0 {
			t.Errorf("custom values of a user without any = %v, want none", plain.Custom)
		}

		_, err = s.User(ctx, uuid.NewString())
		wantErr(t, err, errs.NotFound, "user.not_found", "")
	})
}

// assertUser compares every stored attribute; custom values only when withCustom.
func assertUser(t *testing.T, got, want *user.User, withCustom bool) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.Email != want.Email ||
		got.FirstName != want.FirstName || got.LastName != want.LastName || got.Phone != want.Phone ||
		got.Department != want.Department || got.ManagerID != want.ManagerID || got.ManagerName != want.ManagerName ||
		got.Status != want.Status || got.Source != want.Source || got.ExternalID != want.ExternalID ||
		got.DefaultAdmin != want.DefaultAdmin || got.PasswordHash != want.PasswordHash || got.Version != want.Version {
		t.Errorf("user =\n%+v\nwant\n%+v", got, want)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt, UpdatedAt are in %v, %v; want UTC", got.CreatedAt.Location(), got.UpdatedAt.Location())
	}
	sameTimePtr(t, "LastLoginAt", got.LastLoginAt, want.LastLoginAt)
	sameTimePtr(t, "ActivatedAt", got.ActivatedAt, want.ActivatedAt)
	if withCustom && !equalMaps(got.Custom, want.Custom) {
		t.Errorf("Custom = %v, want %v", got.Custom, want.Custom)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestUserUniqueness(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		existing := newUser("grace")
		existing.Username, existing.Email = "Grace.Hopper", "Grace@Navy.example"
		existing.Source, existing.ExternalID = user.Directory, "ext-1"
		existing.DefaultAdmin = true
		mustInsertUser(t, s, existing)

		tests := []struct {
			name        string
			change      func(u *user.User)
			code, field string
			updatable   bool // UpdateUser writes the attribute (it never moves the Default Administrator flag)
		}{
			{"username in other case", func(u *user.User) { u.Username = "grace.HOPPER" }, "user.username_taken", "username", true},
			{"email in other case", func(u *user.User) { u.Email = "GRACE@navy.EXAMPLE" }, "user.email_taken", "email", true},
			{"external id of the same source", func(u *user.User) { u.Source, u.ExternalID = user.Directory, "ext-1" }, "user.external_id_taken", "external_id", true},
			{"a second Default Administrator", func(u *user.User) { u.DefaultAdmin = true }, "user.default_admin_exists", "", false},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u := newUser("other" + string(rune('a'+i)))
				tc.change(u)
				err := s.InsertUser(ctx, u)
				wantErr(t, err, errs.Conflict, tc.code, tc.field)
				if _, err := s.User(ctx, u.ID); !errs.Is(errs.NotFound, err) {
					t.Errorf("the refused user was stored: User = %v", err)
				}

				if !tc.updatable {
					return
				}
				// The same clash through an update of a user that exists.
				v := mustInsertUser(t, s, newUser("upd"+string(rune('a'+i))))
				prev := v.Version
				tc.change(v)
				v.Version++
				wantErr(t, s.UpdateUser(ctx, v, prev), errs.Conflict, tc.code, tc.field)
			})
		}

		t.Run("external id of another source is free", func(t *testing.T) {
			u := newUser("scimmy")
			u.Source, u.ExternalID = user.SCIM, "ext-1"
			mustInsertUser(t, s, u)
		})
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		mustInsertField(t, s, "team", user.TextField)
		mustInsertField(t, s, "desk", user.TextField)
		u := newUser("linus")
		u.Custom = map[string]string{"team": "kernel", "desk": "12"}
		mustInsertUser(t, s, u)

		tests := []struct {
			name string
			prev int64
			ok   bool
		}{
			{"version from the past", 0, false},
			{"version from the future", 2, false},
			{"current version", 1, true},
			{"the same version again", 1, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				changed := *u
				changed.Email = "Linus@Kernel.example"
				changed.FirstName, changed.Status = "Linus B.", user.Disabled
				changed.Custom = map[string]string{"team": "git"}
				changed.UpdatedAt = t0.Add(time.Hour)
				changed.Version = 2
				err := s.UpdateUser(ctx, &changed, tc.prev)
				if !tc.ok {
					wantErr(t, err, errs.PreconditionFailed, "version.stale", "")
					got, err := s.User(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Version == 1 && (got.Email != u.Email || got.Custom["desk"] != "12") {
						t.Errorf("a refused update changed the user: %+v", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
				got, err := s.User(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				assertUser(t, got, &changed, true)
				// The new email is the login now, in any case; the old one is free.
				if byLogin, err := s.UserByLogin(ctx, "LINUS@kernel.EXAMPLE"); err != nil || byLogin.ID != u.ID {
					t.Errorf("UserByLogin(new email) = %v, %v", byLogin, err)
				}
				successor := newUser("successor")
				successor.Email = strings.ToUpper(u.Email)
				mustInsertUser(t, s, successor)
			})
		}
		missing := newUser("ghost")
		wantErr(t, s.UpdateUser(ctx, missing, 1), errs.PreconditionFailed, "version.stale", "")
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		mustInsertField(t, s, "team", user.TextField)
		boss := mustInsertUser(t, s, newUser("boss"))
		u := newUser("leaver")
		u.ManagerID = boss.ID
		u.Custom = map[string]string{"team": "x"}
		mustInsertUser(t, s, u)
		report := newUser("report")
		report.ManagerID = u.ID
		mustInsertUser(t, s, report)
		r := mustInsertRole(t, s, "Leavers", user.UsersRead)
		g := mustInsertGroup(t, s, "Leaving")
		if err := s.SetUserRoles(ctx, u.ID, []string{r.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupMembers(ctx, g.ID, []string{u.ID, boss.ID}); err != nil {
			t.Fatal(err)
		}
		insertSession(t, s, u.ID, "s-leaver")
		insertToken(t, s, u.ID, "hash-leaver")

		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err := s.User(ctx, u.ID)
		wantErr(t, err, errs.NotFound, "user.not_found", "")
		_, err = s.UserByLogin(ctx, u.Username)
		wantErr(t, err, errs.NotFound, "user.not_found", "")
		for _, q := range []string{
			"SELECT count(*) FROM user_roles WHERE user_id = $1",
			"SELECT count(*) FROM group_members WHERE user_id = $1",
			"SELECT count(*) FROM user_field_values WHERE user_id = $1",
			"SELECT count(*) FROM sessions WHERE user_id = $1",
			"SELECT count(*) FROM api_tokens WHERE user_id = $1",
			"SELECT count(*) FROM users WHERE manager_id = $1",
		} {
			if n := count(t, s, q, u.ID); n != 0 {
				t.Errorf("%s: %d rows left after delete", q, n)
			}
		}
		// Others are untouched.
		if got, err := s.User(ctx, boss.ID); err != nil || got.ID != boss.ID {
			t.Errorf("User(boss) = %v, %v", got, err)
		}
		if got, err := s.User(ctx, report.ID); err != nil || got.ManagerID != "" {
			t.Errorf("User(report) = %+v, %v; want the user, without a manager", got, err)
		}
		if grp, err := s.Group(ctx, g.ID); err != nil || grp.MemberCount != 1 {
			t.Errorf("Group = %+v, %v; want one member left", grp, err)
		}
		if _, err := s.Role(ctx, r.ID); err != nil {
			t.Errorf("Role after deleting its holder: %v", err)
		}
		// Deleting again, or deleting nobody, is not an error.
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Errorf("second DeleteUser: %v", err)
		}
		// The username and email are free again.
		again := newUser("leaver")
		mustInsertUser(t, s, again)
	})
}

func TestUserByLogin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		mustInsertField(t, s, "team", user.TextField)
		alan := newUser("alan")
		alan.Username, alan.Email = "Alan.Turing", "Alan@Bletchley.example"
		alan.Custom = map[string]string{"team": "hut8"}
		mustInsertUser(t, s, alan)
		// A user whose username is someone else's email: the username wins.
		tricky := newUser("tricky")
		tricky.Username, tricky.Email = "joan@bletchley.example", "tricky@example.org"
		mustInsertUser(t, s, tricky)
		joan := newUser("joan")
		joan.Email = "Joan@Bletchley.example"
		mustInsertUser(t, s, joan)

		tests := []struct {
			login, want string
		}{
			{"Alan.Turing", alan.ID},
			{"alan.turing", alan.ID},
			{"ALAN.TURING", alan.ID},
			{"alan@bletchley.example", alan.ID},
			{"ALAN@BLETCHLEY.EXAMPLE", alan.ID},
			{"joan", joan.ID},
			{"JOAN@bletchley.example", tricky.ID},
			{"tricky@EXAMPLE.org", tricky.ID},
			{"alan", ""},
			{"alan.turing@bletchley.example", ""},
			{"", ""},
			{"alan.turing\x00", ""},
			{"alan.turing\xff", ""},
		}
		for _, tc := range tests {
			t.Run(tc.login, func(t *testing.T) {
				t.Parallel()
				got, err := s.UserByLogin(ctx, tc.login)
				if tc.want == "" {
					wantErr(t, err, errs.NotFound, "user.not_found", "")
					return
				}
				if err != nil {
					t.Fatalf("UserByLogin(%q): %v", tc.login, err)
				}
				if got.ID != tc.want {
					t.Errorf("UserByLogin(%q) = %s (%s), want %s", tc.login, got.ID, got.Username, tc.want)
				}
			})
		}
	})
}

func TestCountUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		got, err := s.CountUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != (user.Counts{}) {
			t.Errorf("CountUsers of an empty database = %+v", got)
		}
		n := map[user.Status]int{user.Active: 3, user.Invited: 2, user.Locked: 1, user.Disabled: 4}
		i := 0
		err = s.InTx(ctx, func(ctx context.Context) error {
			for st, k := range n {
				for range k {
					u := newUser("u" + string(rune('a'+i)))
					i++
					u.Status = st
					if err := s.InsertUser(ctx, u); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = s.CountUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := user.Counts{Total: 10, Active: 3, Invited: 2, Locked: 1, Disabled: 4}
		if got != want {
			t.Errorf("CountUsers = %+v, want %+v", got, want)
		}
	})
}

// The counts that triggers keep start from the users there are when the migration runs, and
// follow every way a user is written: one at a time and in bulk
// (COPY on PostgreSQL, and inside a transaction), a change of status by an update, a lockout
// and its end, an update that leaves the status alone, and a delete. On PostgreSQL, many rows
// of differences are folded into one without changing the sums.
func TestCountUsersKept(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		check := func(when string) {
			t.Helper()
			got, err := s.CountUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			by := func(st user.Status) int64 {
				return int64(count(t, s, `SELECT count(*) FROM users WHERE status = $1`, string(st)))
			}
			want := user.Counts{Total: int64(count(t, s, `SELECT count(*) FROM users`)),
				Active: by(user.Active), Invited: by(user.Invited), Locked: by(user.Locked), Disabled: by(user.Disabled)}
			if got != want {
				t.Errorf("%s: CountUsers = %+v, counted %+v", when, got, want)
			}
		}
		batch := func(prefix string, n int, st user.Status) []*user.User {
			var us []*user.User
			for i := range n {
				u := newUser(fmt.Sprintf("%s%d", prefix, i))
				u.Status = st
				us = append(us, u)
			}
			return us
		}
		// The migration that adds the counts counts the users already there.
		must(t, s.MigrateDownTo(ctx, 10))
		for _, u := range append(batch("old", 3, user.Active), batch("oldlocked", 2, user.Locked)...) {
			// As schema version 10 has users: today's InsertUsers writes later columns.
			_, err := s.DB().ExecContext(ctx, `INSERT INTO users (id, username, username_lower, email, email_lower, status,
				source, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, 'local', $7, $7, 1)`,
				u.ID, u.Username, strings.ToLower(u.Username), u.Email, strings.ToLower(u.Email), string(u.Status), u.CreatedAt)
			must(t, err)
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		check("after the migration")
		must(t, s.InsertUsers(ctx, batch("bulk", 30, user.Invited)))
		check("after a bulk insert")
		must(t, s.InTx(ctx, func(ctx context.Context) error {
			return s.InsertUsers(ctx, batch("intx", 20, user.Disabled))
		}))
		check("after a bulk insert in a transaction")
		a := mustInsertUser(t, s, newUser("alice"))
		check("after one insert")

		a.Status, a.Version = user.Disabled, 2
		must(t, s.UpdateUser(ctx, a, 1))
		check("after a change of status")
		a.FirstName, a.Version = "Alicia", 3
		must(t, s.UpdateUser(ctx, a, 2))
		check("after an update that keeps the status")
		a.Status, a.Version = user.Active, 4
		must(t, s.UpdateUser(ctx, a, 3))
		if ok, err := s.LockUser(ctx, a.ID, t0); err != nil || !ok {
			t.Fatalf("LockUser = %v, %v", ok, err)
		}
		check("after a lockout")
		if ok, err := s.UnlockUserLockedBefore(ctx, a.ID, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("UnlockUserLockedBefore = %v, %v", ok, err)
		}
		must(t, s.RecordLogin(ctx, a.ID, t0.Add(time.Hour), ""))
		check("after the lockout ended and a sign-in")
		must(t, s.DeleteUser(ctx, a.ID))
		check("after a delete")

		if s.Dialect != store.Postgres {
			return
		}
		// Each change of status appends a row; more than the fold limit are read, then folded.
		b := batch("many", 1, user.Active)[0]
		mustInsertUser(t, s, b)
		for i := range 520 {
			b.Status = map[bool]user.Status{true: user.Disabled, false: user.Active}[i%2 == 0]
			b.Version++
			must(t, s.UpdateUser(ctx, b, b.Version-1))
		}
		check("before the fold")
		if n := count(t, s, `SELECT count(*) FROM user_counts`); n != 1 {
			t.Errorf("%d rows of counts after the fold, want 1", n)
		}
		check("after the fold")
		if _, err := s.DB().ExecContext(ctx, `TRUNCATE users CASCADE`); err != nil {
			t.Fatal(err)
		}
		check("after a truncate")
	})
}

package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func TestFields(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		defs := []user.Field{
			{Name: "employee_no", Label: "Employee number", Type: user.TextField, Required: true, Pattern: `E\d{5}`},
			{Name: "shirt", Label: "Shirt size", Type: user.EnumField, Options: []string{"S", "M", "L", "XL"}},
			{Name: "start", Label: "Start date", Type: user.DateField},
		}
		for i := range defs {
			defs[i].Version = 1
			defs[i].CreatedAt = t0.Add(time.Duration(i) * time.Second)
			defs[i].UpdatedAt = defs[i].CreatedAt
			if err := s.InsertField(ctx, &defs[i]); err != nil {
				t.Fatalf("InsertField %s: %v", defs[i].Name, err)
			}
		}
		got, err := s.Fields(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(defs) {
			t.Fatalf("Fields = %+v, want %d", got, len(defs))
		}
		for i, want := range defs {
			g := got[i]
			if g.Name != want.Name || g.Label != want.Label || g.Type != want.Type || g.Required != want.Required ||
				g.Pattern != want.Pattern || !slices.Equal(g.Options, want.Options) || g.Version != 1 {
				t.Errorf("field %d = %+v, want %+v", i, g, want)
			}
			if want.Options == nil && g.Options != nil && len(g.Options) != 0 {
				t.Errorf("field %s options = %v, want none", g.Name, g.Options)
			}
			sameTime(t, want.Name+" CreatedAt", g.CreatedAt, want.CreatedAt)
		}

		dup := user.Field{Name: "shirt", Label: "Again", Type: user.TextField, Version: 1, CreatedAt: t0, UpdatedAt: t0}
		wantErr(t, s.InsertField(ctx, &dup), errs.Conflict, "field.name_taken", "name")

		changed := defs[1]
		changed.Label, changed.Options, changed.Version = "Size", []string{"M", "L"}, 2
		wantErr(t, s.UpdateField(ctx, &changed, 2), errs.PreconditionFailed, "version.stale", "")
		if err := s.UpdateField(ctx, &changed, 1); err != nil {
			t.Fatal(err)
		}
		got, err = s.Fields(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[1].Label != "Size" || !slices.Equal(got[1].Options, []string{"M", "L"}) || got[1].Version != 2 {
			t.Errorf("field after update = %+v", got[1])
		}
	})
}

func TestCustomFieldValues(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		mustInsertField(t, s, "badge", user.TextField)
		mustInsertField(t, s, "floor", user.NumberField)
		mustInsertField(t, s, "remote", user.BoolField)
		ada := newUser("ada")
		ada.Custom = map[string]string{"badge": "B-1 ✓", "floor": "3", "remote": "true"}
		mustInsertUser(t, s, ada)
		bob := newUser("bob")
		bob.Custom = map[string]string{"floor": "3"}
		mustInsertUser(t, s, bob)

		load := func(u *user.User) map[string]string {
			t.Helper()
			got, err := s.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Custom
		}
		listed := func() map[string]map[string]string {
			t.Helper()
			users, _, err := s.ListUsers(ctx, user.Filter{Sort: "username", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]map[string]string{}
			for _, u := range users {
				out[u.Username] = u.Custom
			}
			return out
		}
		if got := load(ada); !equalMaps(got, ada.Custom) {
			t.Errorf("ada's custom values = %v, want %v", got, ada.Custom)
		}
		if got := listed(); !equalMaps(got["ada"], ada.Custom) || !equalMaps(got["bob"], bob.Custom) {
			t.Errorf("listed custom values = %v", got)
		}

		// An update replaces the whole set.
		ada.Custom = map[string]string{"badge": "B-2", "remote": "false"}
		ada.Version = 2
		if err := s.UpdateUser(ctx, ada, 1); err != nil {
			t.Fatal(err)
		}
		if got := load(ada); !equalMaps(got, ada.Custom) {
			t.Errorf("after update: %v, want %v", got, ada.Custom)
		}

		// A value for a field that does not exist is refused, and the user with it.
		carl := newUser("carl")
		carl.Custom = map[string]string{"no_such_field": "x"}
		err := s.InTx(ctx, func(ctx context.Context) error { return s.InsertUser(ctx, carl) })
		if err == nil {
			t.Error("InsertUser with a value of an undefined field succeeded")
		}
		if _, err := s.User(ctx, carl.ID); !errs.Is(errs.NotFound, err) {
			t.Errorf("User(carl) after the refused insert: %v, want not found", err)
		}

		// Deleting a field removes its values from every user, and only its values.
		if err := s.DeleteField(ctx, "floor"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT count(*) FROM user_field_values WHERE field = 'floor'`); n != 0 {
			t.Errorf("%d values of the deleted field left", n)
		}
		if got := load(bob); len(got) != 0 {
			t.Errorf("bob's values after deleting floor = %v, want none", got)
		}
		if got := load(ada); !equalMaps(got, ada.Custom) {
			t.Errorf("ada's values after deleting floor = %v, want %v", got, ada.Custom)
		}
		fields, err := s.Fields(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			if f.Name == "floor" {
				t.Errorf("deleted field still listed")
			}
		}
		users, _, err := s.ListUsers(ctx, user.Filter{Sort: "name", Limit: 10, Custom: map[string]string{"floor": "3"}})
		if err != nil || len(users) != 0 {
			t.Errorf("filter on a deleted field = %d users, %v; want none", len(users), err)
		}
		// A new field of the same name starts empty.
		mustInsertField(t, s, "floor", user.TextField)
		if got := load(bob); len(got) != 0 {
			t.Errorf("bob's values after recreating floor = %v, want none", got)
		}
	})
}

// The migration that adds the order numbers the fields there are in the order they were defined.
func TestFieldPositionMigration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		must(t, s.MigrateDownTo(ctx, 11))
		for i, name := range []string{"zeta", "alpha", "beta"} {
			at := t0.Add(time.Duration(i) * time.Minute)
			if name == "beta" {
				at = t0 // defined in the same instant as zeta: the name decides
			}
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO fields (name, label, type, version, created_at, updated_at)
				VALUES ($1, $1, 'text', 1, $2, $2)`, name, at); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		defs, err := s.Fields(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range defs {
			got = append(got, fmt.Sprintf("%s=%d", d.Name, d.Position))
		}
		if want := "beta=1 zeta=2 alpha=3"; strings.Join(got, " ") != want {
			t.Errorf("after the migration: %s, want %s", strings.Join(got, " "), want)
		}
		f := &user.Field{Name: "gamma", Label: "Gamma", Type: user.TextField, Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.InsertField(ctx, f); err != nil || f.Position != 4 {
			t.Errorf("a new field: position %d, %v; want 4", f.Position, err)
		}
	})
}

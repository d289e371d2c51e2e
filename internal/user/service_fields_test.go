package user_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// defineFields creates one field of each type: badge, floor, start_date, remote and shirt.
func defineFields(t *testing.T, f *fixture) {
	t.Helper()
	for _, in := range []user.FieldInput{
		{Name: "badge", Label: ptr("Badge"), Type: user.TextField, Pattern: ptr(`[A-Z]{2}\d{4}`)},
		{Name: "floor", Label: ptr("Floor"), Type: user.NumberField},
		{Name: "start_date", Label: ptr("Start date"), Type: user.DateField},
		{Name: "remote", Label: ptr("Remote"), Type: user.BoolField},
		{Name: "shirt", Label: ptr("Shirt size"), Type: user.EnumField, Options: &[]string{"S", "M", "L"}},
	} {
		f.audited(t, f.admin, "field.create", func() (string, error) {
			_, err := f.svc.CreateField(context.Background(), f.admin, in)
			return in.Name, err
		})
	}
}

func TestFieldDefinitions(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		defineFields(t, f)
		for _, tc := range []struct {
			name string
			a    user.Actor
			in   user.FieldInput
			kind errs.Kind
			code string
		}{
			{"manager lacks fields.manage", f.manager, user.FieldInput{Name: "x", Label: ptr("X"), Type: user.TextField}, errs.Forbidden, "auth.permission_denied"},
			{"capital letter in the name", f.admin, user.FieldInput{Name: "Badge2", Label: ptr("B"), Type: user.TextField}, errs.Invalid, "field.name_invalid"},
			{"built-in name", f.admin, user.FieldInput{Name: "email", Label: ptr("E"), Type: user.TextField}, errs.Invalid, "field.name_reserved"},
			{"unknown type", f.admin, user.FieldInput{Name: "x", Label: ptr("X"), Type: "colour"}, errs.Invalid, "field.type_invalid"},
			{"no label", f.admin, user.FieldInput{Name: "x", Label: ptr(" "), Type: user.TextField}, errs.Invalid, "field.label_invalid"},
			{"enum without options", f.admin, user.FieldInput{Name: "x", Label: ptr("X"), Type: user.EnumField}, errs.Invalid, "field.options_required"},
			{"enum with a repeated option", f.admin, user.FieldInput{Name: "x", Label: ptr("X"), Type: user.EnumField, Options: &[]string{"a", "a"}}, errs.Invalid, "field.option_invalid"},
			{"options on a text field", f.admin, user.FieldInput{Name: "x", Label: ptr("X"), Type: user.TextField, Options: &[]string{"a"}}, errs.Invalid, "field.options_not_enum"},
			{"pattern on a number", f.admin, user.FieldInput{Name: "x", Label: ptr("X"), Type: user.NumberField, Pattern: ptr(`\d+`)}, errs.Invalid, "field.pattern_not_text"},
			{"broken pattern", f.admin, user.FieldInput{Name: "x", Label: ptr("X"), Type: user.TextField, Pattern: ptr(`([a-z`)}, errs.Invalid, "field.pattern_invalid"},
			{"name taken", f.admin, user.FieldInput{Name: "floor", Label: ptr("Floor 2"), Type: user.NumberField}, errs.Conflict, "field.name_taken"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.unchanged(t, func() error { _, err := f.svc.CreateField(ctx, tc.a, tc.in); return err })
				wantErr(t, err, tc.kind, tc.code)
			})
		}
		defs, err := f.svc.Fields(ctx, f.viewer)
		if err != nil || len(defs) != 5 {
			t.Fatalf("Fields = %d, %v; want the 5 defined", len(defs), err)
		}
	})
}

// Fields come in the order they were defined, and move to a place from 1; the others keep
// their order among themselves. A place that does not exist is refused in words.
func TestFieldOrder(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		defineFields(t, f)
		order := func() []string {
			t.Helper()
			defs, err := f.svc.Fields(ctx, f.viewer)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for i, d := range defs {
				if d.Position != i+1 {
					t.Errorf("field %s is number %d of the list but has position %d", d.Name, i+1, d.Position)
				}
				out = append(out, d.Name)
			}
			return out
		}
		if got := order(); !slices.Equal(got, []string{"badge", "floor", "start_date", "remote", "shirt"}) {
			t.Fatalf("order %v, want the order of definition", got)
		}
		moved, err := f.svc.UpdateField(ctx, f.admin, "shirt", user.AnyVersion, user.FieldInput{Position: ptr(2)})
		if err != nil || moved.Position != 2 {
			t.Fatalf("move shirt to 2 = %+v, %v", moved, err)
		}
		if got := order(); !slices.Equal(got, []string{"badge", "shirt", "floor", "start_date", "remote"}) {
			t.Fatalf("order %v after moving shirt to 2", got)
		}
		if _, err := f.svc.CreateField(ctx, f.admin, user.FieldInput{Name: "desk", Label: ptr("Desk"), Type: user.TextField, Position: ptr(1)}); err != nil {
			t.Fatal(err)
		}
		if got := order(); !slices.Equal(got, []string{"desk", "badge", "shirt", "floor", "start_date", "remote"}) {
			t.Fatalf("order %v after defining desk at 1", got)
		}
		for _, pos := range []int{0, 7} {
			err := f.unchanged(t, func() error {
				_, err := f.svc.UpdateField(ctx, f.admin, "badge", user.AnyVersion, user.FieldInput{Position: ptr(pos)})
				return err
			})
			wantErr(t, err, errs.Invalid, "field.position_invalid")
			if e, _ := errs.As(err); e == nil || e.Message != "Enter a position from 1 to 6." {
				t.Errorf("position %d: %v", pos, err)
			}
		}
		// A delete closes the gap, and the next move then moves.
		if err := f.svc.DeleteField(ctx, f.admin, "badge", user.AnyVersion); err != nil {
			t.Fatal(err)
		}
		if got := order(); !slices.Equal(got, []string{"desk", "shirt", "floor", "start_date", "remote"}) {
			t.Fatalf("order %v after deleting badge", got)
		}
		if _, err := f.svc.UpdateField(ctx, f.admin, "floor", user.AnyVersion, user.FieldInput{Position: ptr(4)}); err != nil {
			t.Fatal(err)
		}
		if got := order(); !slices.Equal(got, []string{"desk", "shirt", "start_date", "floor", "remote"}) {
			t.Fatalf("order %v after moving floor down one", got)
		}
		events := f.audit(t, audit.Filter{Action: "field.update", TargetID: "shirt"})
		if len(events) != 1 || fmt.Sprint(events[0].Details["position"]) != "2" {
			t.Errorf("the move's audit event: %+v", events)
		}
	})
}

func TestCustomFieldValues(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		defineFields(t, f)
		id := f.create(t, f.admin, "custom@example.com").ID
		set := func(values map[string]*string) error {
			_, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{Profile: user.Profile{Custom: values}})
			return err
		}
		for _, tc := range []struct {
			name   string
			values map[string]*string
			want   map[string]string // stored values after a success; field → code on failure
			ok     bool
		}{
			{"every type", map[string]*string{"badge": ptr("AB1234"), "floor": ptr(" 3.50 "), "start_date": ptr("2024-02-29"),
				"remote": ptr("Yes"), "shirt": ptr("M")},
				map[string]string{"badge": "AB1234", "floor": "3.5", "start_date": "2024-02-29", "remote": "true", "shirt": "M"}, true},
			{"clear one, change one", map[string]*string{"badge": nil, "floor": ptr("-2")},
				map[string]string{"floor": "-2", "start_date": "2024-02-29", "remote": "true", "shirt": "M"}, true},
			{"text against its pattern", map[string]*string{"badge": ptr("ab12")}, map[string]string{"custom.badge": "field.pattern_mismatch"}, false},
			{"a control character in text", map[string]*string{"badge": ptr("AB\v1234")}, map[string]string{"custom.badge": "field.control_chars"}, false},
			{"pattern must match the whole value", map[string]*string{"badge": ptr("XAB1234")}, map[string]string{"custom.badge": "field.pattern_mismatch"}, false},
			{"number in words", map[string]*string{"floor": ptr("three")}, map[string]string{"custom.floor": "field.not_a_number"}, false},
			{"number that is not a number", map[string]*string{"floor": ptr("NaN")}, map[string]string{"custom.floor": "field.not_a_number"}, false},
			{"infinite number", map[string]*string{"floor": ptr("Inf")}, map[string]string{"custom.floor": "field.not_a_number"}, false},
			{"date that does not exist", map[string]*string{"start_date": ptr("2023-02-29")}, map[string]string{"custom.start_date": "field.not_a_date"}, false},
			{"date in another format", map[string]*string{"start_date": ptr("29/02/2024")}, map[string]string{"custom.start_date": "field.not_a_date"}, false},
			{"bool that is neither", map[string]*string{"remote": ptr("maybe")}, map[string]string{"custom.remote": "field.not_a_bool"}, false},
			{"enum option in other case", map[string]*string{"shirt": ptr("m")}, map[string]string{"custom.shirt": "field.not_an_option"}, false},
			{"unknown field", map[string]*string{"hat": ptr("L")}, map[string]string{"custom.hat": "field.unknown"}, false},
			{"every problem at once, with one good value", map[string]*string{"badge": ptr("?"), "floor": ptr("x"), "shirt": ptr("XL"), "remote": ptr("no")},
				map[string]string{"custom.badge": "field.pattern_mismatch", "custom.floor": "field.not_a_number", "custom.shirt": "field.not_an_option"}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.ok {
					f.audited(t, f.admin, "user.update", func() (string, error) { return id, set(tc.values) })
					if got := f.user(t, id).Custom; !maps.Equal(got, tc.want) {
						t.Fatalf("stored %v, want %v", got, tc.want)
					}
					return
				}
				before := f.user(t, id).Custom
				err := f.unchanged(t, func() error { return set(tc.values) })
				wantErr(t, err, errs.Invalid, "", slices.Collect(maps.Keys(tc.want))...)
				for field, code := range tc.want {
					if got := fieldCode(err, field); got != code {
						t.Errorf("%s: %q, want %q", field, got, code)
					}
				}
				if after := f.user(t, id).Custom; !maps.Equal(after, before) {
					t.Errorf("a refused update changed the values: %v, was %v", after, before)
				}
			})
		}
	})
}

func TestRequiredCustomField(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		if _, err := f.svc.CreateField(ctx, f.admin, user.FieldInput{Name: "employee_id", Label: ptr("Employee id"),
			Type: user.TextField, Required: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		create := func(custom map[string]*string) (*user.Detail, error) {
			return f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{Email: ptr("req@example.com"),
				FirstName: ptr("R"), LastName: ptr("Q"), Custom: custom}})
		}
		for _, tc := range []struct {
			name   string
			custom map[string]*string
		}{
			{"not given", nil},
			{"empty", map[string]*string{"employee_id": ptr("")}},
			{"cleared", map[string]*string{"employee_id": nil}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.unchanged(t, func() error { _, err := create(tc.custom); return err })
				wantErr(t, err, errs.Invalid, "field.required", "custom.employee_id")
			})
		}
		d, err := create(map[string]*string{"employee_id": ptr("E-1")})
		if err != nil || d.Custom["employee_id"] != "E-1" {
			t.Fatalf("create with the required value = %v, %v", d, err)
		}
		t.Run("cannot be cleared later", func(t *testing.T) {
			err := f.unchanged(t, func() error {
				_, err := f.svc.UpdateUser(ctx, f.admin, d.ID, user.AnyVersion, user.Patch{Profile: user.Profile{Custom: map[string]*string{"employee_id": ptr("")}}})
				return err
			})
			wantErr(t, err, errs.Invalid, "field.required", "custom.employee_id")
		})
	})
}

func TestListUsersByCustomField(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		defineFields(t, f)
		give := func(email string, values map[string]*string) string {
			id := f.create(t, f.admin, email).ID
			if _, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{Profile: user.Profile{Custom: values}}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		a := give("a@example.com", map[string]*string{"shirt": ptr("M"), "floor": ptr("3"), "remote": ptr("true"), "start_date": ptr("2024-01-15")})
		b := give("b@example.com", map[string]*string{"shirt": ptr("M"), "floor": ptr("4"), "remote": ptr("false")})
		c := give("c@example.com", map[string]*string{"shirt": ptr("L"), "floor": ptr("3.0")})
		for _, tc := range []struct {
			name   string
			custom map[string]string
			want   []string
		}{
			{"enum", map[string]string{"shirt": "M"}, []string{a, b}},
			{"number in another spelling", map[string]string{"floor": "3.00"}, []string{a, c}},
			{"bool in another spelling", map[string]string{"remote": "NO"}, []string{b}},
			{"date", map[string]string{"start_date": "2024-01-15"}, []string{a}},
			{"two fields", map[string]string{"shirt": "M", "floor": "4"}, []string{b}},
			{"no match", map[string]string{"shirt": "S"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				page, err := f.svc.ListUsers(ctx, f.viewer, user.Filter{Custom: tc.custom})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range page.Users {
					got = append(got, d.ID)
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("ListUsers = %v, want %v", got, tc.want)
				}
			})
		}
		for _, tc := range []struct {
			name   string
			custom map[string]string
			code   string
		}{
			{"unknown field", map[string]string{"hat": "L"}, "field.unknown"},
			{"value of the wrong type", map[string]string{"floor": "high"}, "field.not_a_number"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.ListUsers(ctx, f.viewer, user.Filter{Custom: tc.custom})
				wantErr(t, err, errs.Invalid, tc.code, "field")
			})
		}
	})
}

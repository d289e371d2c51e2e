package user

import (
	"context"
	"slices"
	"strconv"

	"github.com/usherhq/usher/internal/errs"
)

func itoa(i int) string { return strconv.Itoa(i) }

// Fields lists the custom profile fields.
func (s *Service) Fields(ctx context.Context, a Actor) ([]Field, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	return s.store.Fields(ctx)
}

// CreateField defines a custom profile field.
func (s *Service) CreateField(ctx context.Context, a Actor, in FieldInput) (*Field, error) {
	if err := a.Require(FieldsManage); err != nil {
		return nil, err
	}
	in.canonicalise()
	if err := errs.Fields(in.validate(true)); err != nil {
		return nil, err
	}
	now := s.now()
	f := &Field{Name: in.Name, Label: *in.Label, Type: in.Type, Required: in.Required != nil && *in.Required,
		Pattern: deref(in.Pattern), Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Options != nil {
		f.Options = *in.Options
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.LockFieldOrder(ctx); err != nil {
			return err
		}
		if err := s.store.InsertField(ctx, f); err != nil {
			return err
		}
		if in.Position != nil {
			if _, err := s.placeField(ctx, f, *in.Position); err != nil {
				return err
			}
		}
		return s.audit(ctx, a, "field.create", "field", f.Name, f.Label,
			map[string]any{"type": string(f.Type), "required": f.Required, "position": f.Position})
	})
	return f, err
}

// UpdateField changes a field's label, required flag, pattern, options or place in the order.
// Values already stored stay as they are; new writes follow the new rules.
func (s *Service) UpdateField(ctx context.Context, a Actor, name string, version int64, in FieldInput) (*Field, error) {
	if err := a.Require(FieldsManage); err != nil {
		return nil, err
	}
	var out *Field
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.LockFieldOrder(ctx); err != nil {
			return err
		}
		f, err := s.field(ctx, name)
		if err != nil {
			return err
		}
		if err := checkVersion(f.Version, version); err != nil {
			return err
		}
		in.Type = f.Type
		canonicalPtr(&in.Label)
		if err := errs.Fields(in.validate(false)); err != nil {
			return err
		}
		if in.Label != nil {
			f.Label = *in.Label
		}
		if in.Required != nil {
			f.Required = *in.Required
		}
		if in.Pattern != nil {
			f.Pattern = *in.Pattern
		}
		if in.Options != nil {
			f.Options = *in.Options
		}
		var details map[string]any
		if in.Position != nil {
			moved, err := s.placeField(ctx, f, *in.Position)
			if err != nil {
				return err
			}
			if moved {
				details = map[string]any{"position": f.Position}
			}
		}
		prev := f.Version
		f.Version++
		f.UpdatedAt = s.now()
		if err := s.store.UpdateField(ctx, f, prev); err != nil {
			return err
		}
		out = f
		return s.audit(ctx, a, "field.update", "field", f.Name, f.Label, details)
	})
	return out, err
}

// DeleteField removes a field and every value stored in it.
func (s *Service) DeleteField(ctx context.Context, a Actor, name string, version int64) error {
	if err := a.Require(FieldsManage); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.LockFieldOrder(ctx); err != nil {
			return err
		}
		f, err := s.field(ctx, name)
		if err != nil {
			return err
		}
		if err := checkVersion(f.Version, version); err != nil {
			return err
		}
		if err := s.store.DeleteField(ctx, name); err != nil {
			return err
		}
		// The fields after it move up one place: the order stays 1, 2, 3, …
		defs, err := s.store.Fields(ctx)
		if err != nil {
			return err
		}
		names := make([]string, len(defs))
		for i, d := range defs {
			names[i] = d.Name
		}
		if err := s.store.SetFieldOrder(ctx, names); err != nil {
			return err
		}
		return s.audit(ctx, a, "field.delete", "field", f.Name, f.Label, nil)
	})
}

// placeField moves f to place pos (from 1) in the order of the fields and numbers them all 1,
// 2, 3, …; the others keep their order among themselves. It reports whether f changed place.
// The caller holds LockFieldOrder.
func (s *Service) placeField(ctx context.Context, f *Field, pos int) (bool, error) {
	defs, err := s.store.Fields(ctx)
	if err != nil {
		return false, err
	}
	if pos < 1 || pos > len(defs) {
		return false, errs.Field("position", "field.position_invalid", "Enter a position from 1 to "+itoa(len(defs))+".")
	}
	names := make([]string, 0, len(defs))
	was := 0
	for i, d := range defs {
		if d.Name == f.Name {
			was = i + 1
		} else {
			names = append(names, d.Name)
		}
	}
	f.Position = pos
	return was != pos, s.store.SetFieldOrder(ctx, slices.Insert(names, pos-1, f.Name))
}

func (s *Service) field(ctx context.Context, name string) (*Field, error) {
	defs, err := s.store.Fields(ctx)
	if err != nil {
		return nil, err
	}
	for i := range defs {
		if defs[i].Name == name {
			return &defs[i], nil
		}
	}
	return nil, errs.E(errs.NotFound, "field.not_found", "There is no custom field called "+name+".")
}

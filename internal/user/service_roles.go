package user

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
)

// Roles lists every role, built-in first.
func (s *Service) Roles(ctx context.Context, a Actor) ([]Role, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	return s.store.Roles(ctx)
}

// Role returns one role.
func (s *Service) Role(ctx context.Context, a Actor, id string) (*Role, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	return s.store.Role(ctx, id)
}

// CreateRole creates a custom role. Its permissions must be ones the actor holds.
func (s *Service) CreateRole(ctx context.Context, a Actor, in RoleInput) (*Role, error) {
	if err := a.Require(RolesManage); err != nil {
		return nil, err
	}
	in.canonicalise()
	if err := errs.Fields(in.validate(true)); err != nil {
		return nil, err
	}
	if err := checkBuiltinName(*in.Name); err != nil {
		return nil, err
	}
	now := s.now()
	r := &Role{ID: newID(), Name: *in.Name, Description: deref(in.Description),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Permissions != nil {
		r.Permissions = NewPermissions(*in.Permissions...)
	}
	if err := a.requireCovers("the role "+r.Name, r.Permissions); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertRole(ctx, r); err != nil {
			return err
		}
		return s.audit(ctx, a, "role.create", "role", r.ID, r.Name, map[string]any{"permissions": r.Permissions})
	})
	return r, err
}

// UpdateRole changes a custom role. Both the permissions it had and the ones it gets must be
// the actor's, since the change reaches every holder.
func (s *Service) UpdateRole(ctx context.Context, a Actor, id string, version int64, in RoleInput) (*Role, error) {
	if err := a.Require(RolesManage); err != nil {
		return nil, err
	}
	in.canonicalise()
	if err := errs.Fields(in.validate(false)); err != nil {
		return nil, err
	}
	var out *Role
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		r, err := s.store.Role(ctx, id)
		if err != nil {
			return err
		}
		if r.Builtin {
			return errs.E(errs.Forbidden, "role.builtin", "Built-in roles cannot be changed.")
		}
		if err := checkVersion(r.Version, version); err != nil {
			return err
		}
		details := map[string]any{}
		if in.Name != nil {
			if *in.Name != r.Name { // a name given before this rule may stay
				if err := checkBuiltinName(*in.Name); err != nil {
					return err
				}
			}
			details["name"] = map[string]any{"from": r.Name, "to": *in.Name}
			r.Name = *in.Name
		}
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.Permissions != nil {
			next := NewPermissions(*in.Permissions...)
			if err := a.requireCovers("the role "+r.Name, r.Permissions.Union(next)); err != nil {
				return err
			}
			details["permissions"] = map[string]any{"from": r.Permissions, "to": next}
			r.Permissions = next
		}
		prev := r.Version
		r.Version++
		r.UpdatedAt = s.now()
		if err := s.store.UpdateRole(ctx, r, prev); err != nil {
			return err
		}
		out = r
		return s.audit(ctx, a, "role.update", "role", r.ID, r.Name, details)
	})
	return out, err
}

// DeleteRole deletes a custom role; its holders lose it.
func (s *Service) DeleteRole(ctx context.Context, a Actor, id string, version int64) error {
	if err := a.Require(RolesManage); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		r, err := s.store.Role(ctx, id)
		if err != nil {
			return err
		}
		if r.Builtin {
			return errs.E(errs.Forbidden, "role.builtin", "Built-in roles cannot be deleted.")
		}
		if err := checkVersion(r.Version, version); err != nil {
			return err
		}
		if err := a.requireCovers("the role "+r.Name, r.Permissions); err != nil {
			return err
		}
		if err := s.store.DeleteRole(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, a, "role.delete", "role", r.ID, r.Name, map[string]any{"permissions": r.Permissions})
	})
}

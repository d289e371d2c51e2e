package user

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
)

// HasDefaultAdmin reports whether first-start setup is done.
func (s *Service) HasDefaultAdmin(ctx context.Context) (bool, error) {
	_, err := s.store.DefaultAdmin(ctx)
	if errs.Is(errs.NotFound, err) {
		return false, nil
	}
	return err == nil, err
}

// CreateDefaultAdmin creates the Default Administrator: an active local user with a password
// and the Administrator role, who can never be deleted, disabled or stripped of that role.
// It fails with a conflict when one exists.
func (s *Service) CreateDefaultAdmin(ctx context.Context, a Actor, in CreateInput) (*Detail, error) {
	if in.Password == nil {
		return nil, errs.Field("password", "password.required", "The Default Administrator needs a password.")
	}
	in.RoleIDs = []string{AdministratorRole}
	in.GroupIDs = nil
	var out *Detail
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.HasDefaultAdmin(ctx); err != nil {
			return err
		} else if ok {
			return errs.E(errs.Conflict, "user.default_admin_exists", "usher is already set up: the Default Administrator exists.")
		}
		d, err := s.createUser(ctx, a, in, createDefaultAdmin)
		out = d
		return err
	})
	return out, err
}

package user

import (
	"context"
	"slices"

	"github.com/usherhq/usher/internal/errs"
)

// The no-escalation rule lives here: every path that gives or takes roles or group
// memberships calls checkGrants, so nobody grants (or strips) what they do not hold.

// checkGrants refuses a change of direct roles or groups that involves permissions the actor
// lacks. Both what is added and what is removed count: taking away a role one does not hold is
// as much beyond one's rights as giving it.
func (s *Service) checkGrants(ctx context.Context, a Actor, oldRoles, newRoles, oldGroups, newGroups []string) error {
	for _, id := range symmetricDiff(oldRoles, newRoles) {
		r, err := s.store.Role(ctx, id)
		if errs.Is(errs.NotFound, err) {
			return errs.Field("roles", "role.unknown", "There is no role with id "+id+".")
		} else if err != nil {
			return err
		}
		if err := a.requireCovers("the role "+r.Name, r.Permissions); err != nil {
			return err
		}
	}
	for _, id := range symmetricDiff(oldGroups, newGroups) {
		g, err := s.store.Group(ctx, id)
		if errs.Is(errs.NotFound, err) {
			return errs.Field("groups", "group.unknown", "There is no group with id "+id+".")
		} else if err != nil {
			return err
		}
		if err := a.requireCovers("the group "+g.Name, g.Permissions()); err != nil {
			return err
		}
		if g.DirectoryID != "" {
			return errs.Field("groups", "group.directory_owned", errDirectoryGroup(g).Message)
		}
	}
	return nil
}

func symmetricDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func directRoleIDs(grants []RoleGrant) []string {
	var ids []string
	for _, g := range grants {
		if g.Direct {
			ids = append(ids, g.ID)
		}
	}
	return ids
}

// replaceRoles sets u's direct roles to ids, enforcing no-escalation and the Default
// Administrator's hold on the Administrator role. Inherited roles are untouched: they belong to groups.
func (s *Service) replaceRoles(ctx context.Context, a Actor, u *User, ids []string, details map[string]any) error {
	ids = dedupe(ids)
	if u.DefaultAdmin && !slices.Contains(ids, AdministratorRole) {
		return errs.E(errs.Forbidden, "user.default_admin", "The Default Administrator cannot lose the Administrator role.")
	}
	cur, err := s.store.UserRoles(ctx, []string{u.ID})
	if err != nil {
		return err
	}
	old := directRoleIDs(cur[u.ID])
	if err := s.checkGrants(ctx, a, old, ids, nil, nil); err != nil {
		return err
	}
	if len(symmetricDiff(old, ids)) == 0 {
		return nil
	}
	details["roles"] = map[string]any{"from": old, "to": ids}
	return s.store.SetUserRoles(ctx, u.ID, ids)
}

// replaceGroups sets u's group memberships to ids, enforcing no-escalation.
func (s *Service) replaceGroups(ctx context.Context, a Actor, u *User, ids []string, details map[string]any) error {
	ids = dedupe(ids)
	cur, err := s.store.UserGroups(ctx, []string{u.ID})
	if err != nil {
		return err
	}
	var old []string
	for _, g := range cur[u.ID] {
		old = append(old, g.ID)
	}
	if err := s.checkGrants(ctx, a, nil, nil, old, ids); err != nil {
		return err
	}
	if len(symmetricDiff(old, ids)) == 0 {
		return nil
	}
	details["groups"] = map[string]any{"from": old, "to": ids}
	return s.store.SetUserGroups(ctx, u.ID, ids)
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

package user

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
)

// GroupNames is every group's id and name, in name order, for a filter or a picker: cheaper
// than ListGroups, which counts each group's members.
func (s *Service) GroupNames(ctx context.Context, a Actor) ([]GroupRef, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	return s.store.GroupNames(ctx)
}

// ListGroups returns one page of groups.
func (s *Service) ListGroups(ctx context.Context, a Actor, f GroupFilter) ([]Group, string, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, "", err
	}
	f.Q = canonical(f.Q)
	if f.Limit < 0 || f.Limit > MaxPage {
		return nil, "", errs.Field("limit", "filter.limit_invalid", "The limit must be between 1 and 1000.")
	}
	f.Limit = f.PageSize()
	return s.store.ListGroups(ctx, f)
}

// Group returns one group.
func (s *Service) Group(ctx context.Context, a Actor, id string) (*Group, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	return s.store.Group(ctx, id)
}

// CreateGroup creates a group, with roles the actor holds.
func (s *Service) CreateGroup(ctx context.Context, a Actor, in GroupInput) (*Group, error) {
	if err := a.Require(GroupsManage); err != nil {
		return nil, err
	}
	in.canonicalise()
	if err := errs.Fields(in.validate(true)); err != nil {
		return nil, err
	}
	now := s.now()
	g := &Group{ID: newID(), Name: *in.Name, Description: deref(in.Description),
		ExternalID: deref(in.ExternalID), Source: Local, Version: 1, CreatedAt: now, UpdatedAt: now}
	var out *Group
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertGroup(ctx, g); err != nil {
			return err
		}
		details := map[string]any{}
		if in.RoleIDs != nil {
			if err := s.setGroupRoles(ctx, a, g, *in.RoleIDs, details); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, a, "group.create", "group", g.ID, g.Name, details); err != nil {
			return err
		}
		var err error
		out, err = s.store.Group(ctx, g.ID)
		return err
	})
	return out, err
}

// UpdateGroup changes a group's name, description, external id or roles.
func (s *Service) UpdateGroup(ctx context.Context, a Actor, id string, version int64, in GroupInput) (*Group, error) {
	if err := a.Require(GroupsManage); err != nil {
		return nil, err
	}
	in.canonicalise()
	if err := errs.Fields(in.validate(false)); err != nil {
		return nil, err
	}
	var out *Group
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.store.Group(ctx, id)
		if err != nil {
			return err
		}
		if err := checkVersion(g.Version, version); err != nil {
			return err
		}
		// A group that grants more than the actor holds is beyond them, as its members are:
		// its external id decides whom a directory sync puts in it.
		if err := a.requireCovers("the group "+g.Name, g.Permissions()); err != nil {
			return err
		}
		if err := errs.Fields(g.readOnly(in)); err != nil {
			return err
		}
		details := map[string]any{}
		if in.Name != nil && *in.Name != g.Name {
			details["name"] = map[string]any{"from": g.Name, "to": *in.Name}
			g.Name = *in.Name
		}
		if in.Description != nil {
			g.Description = *in.Description
		}
		if in.ExternalID != nil {
			g.ExternalID = *in.ExternalID
		}
		if in.RoleIDs != nil {
			if err := s.setGroupRoles(ctx, a, g, *in.RoleIDs, details); err != nil {
				return err
			}
		}
		prev := g.Version
		g.Version++
		g.UpdatedAt = s.now()
		if err := s.store.UpdateGroup(ctx, g, prev); err != nil {
			return err
		}
		if err := s.audit(ctx, a, "group.update", "group", g.ID, g.Name, details); err != nil {
			return err
		}
		out, err = s.store.Group(ctx, g.ID)
		return err
	})
	return out, err
}

// setGroupRoles replaces a group's roles; every role added or removed must be the actor's.
func (s *Service) setGroupRoles(ctx context.Context, a Actor, g *Group, ids []string, details map[string]any) error {
	ids = dedupe(ids)
	var old []string
	for _, r := range g.Roles {
		old = append(old, r.ID)
	}
	if err := s.checkGrants(ctx, a, old, ids, nil, nil); err != nil {
		return err
	}
	details["roles"] = map[string]any{"from": old, "to": ids}
	return s.store.SetGroupRoles(ctx, g.ID, ids)
}

// DeleteGroup deletes a group; its members lose the roles it gave them.
func (s *Service) DeleteGroup(ctx context.Context, a Actor, id string, version int64) error {
	if err := a.Require(GroupsManage); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.store.Group(ctx, id)
		if err != nil {
			return err
		}
		if err := checkVersion(g.Version, version); err != nil {
			return err
		}
		if err := a.requireCovers("the group "+g.Name, g.Permissions()); err != nil {
			return err
		}
		if g.DirectoryID != "" {
			return errs.E(errs.Conflict, "group.directory_owned", "The group "+g.Name+
				" comes from a directory: to delete it, remove it from the group mapping in the directory's settings, and the next full sync deletes it.")
		}
		if err := s.store.DeleteGroup(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, a, "group.delete", "group", g.ID, g.Name, map[string]any{"members": g.MemberCount})
	})
}

// ChangeMembers adds or removes users; joining or leaving carries the group's permissions,
// so the actor must hold them.
func (s *Service) ChangeMembers(ctx context.Context, a Actor, groupID string, add bool, userIDs []string) (*Group, error) {
	if err := a.Require(GroupsManage); err != nil {
		return nil, err
	}
	switch {
	case len(userIDs) == 0:
		return nil, errs.Field("user_ids", "group.members_required", "Name at least one user.")
	case len(userIDs) > MaxBulk:
		return nil, errs.Field("user_ids", "bulk.too_many", "One request may name at most 1000 users.")
	}
	userIDs = dedupe(userIDs)
	var out *Group
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.store.Group(ctx, groupID)
		if err != nil {
			return err
		}
		if err := a.requireCovers("the group "+g.Name, g.Permissions()); err != nil {
			return err
		}
		if g.DirectoryID != "" {
			return errDirectoryGroup(g)
		}
		var bad []errs.FieldError
		for i, id := range userIDs {
			if _, err := s.store.User(ctx, id); errs.Is(errs.NotFound, err) {
				bad = append(bad, errs.FieldError{Field: "user_ids[" + itoa(i) + "]", Code: "user.not_found", Message: "There is no user with id " + id + "."})
			} else if err != nil {
				return err
			}
		}
		if err := errs.Fields(bad); err != nil {
			return err
		}
		action := "group.members_add"
		if add {
			err = s.store.AddGroupMembers(ctx, groupID, userIDs)
		} else {
			action = "group.members_remove"
			err = s.store.RemoveGroupMembers(ctx, groupID, userIDs)
		}
		if err != nil {
			return err
		}
		if err := s.audit(ctx, a, action, "group", g.ID, g.Name, map[string]any{"users": userIDs}); err != nil {
			return err
		}
		out, err = s.store.Group(ctx, groupID)
		return err
	})
	return out, err
}

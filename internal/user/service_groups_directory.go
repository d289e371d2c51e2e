package user

import (
	"context"
	"slices"

	"github.com/usherhq/usher/internal/errs"
)

// DirectoryGroup is a directory's group as its sync wants it in usher.
type DirectoryGroup struct {
	ExternalID string   // the group's primary attribute in the directory
	Name       string   // the directory's name of the group
	MemberIDs  []string // the users of the directory who are its members
}

// GroupSync is what GroupFromDirectory changed.
type GroupSync struct {
	Group            *Group
	Created, Renamed bool
	Added, Removed   int
}

// GroupFromDirectory creates directory dir's group, or sets the one with id to what the
// directory says: its name and its members (a sync). Joining or leaving the group carries its
// roles' permissions, so the actor must hold them, as in ChangeMembers; members who are not
// users of dir are refused.
func (s *Service) GroupFromDirectory(ctx context.Context, a Actor, dir, id string, in DirectoryGroup) (*GroupSync, error) {
	if err := a.Require(GroupsManage); err != nil {
		return nil, err
	}
	if dir == "" || in.ExternalID == "" {
		return nil, errs.E(errs.Invalid, "group.directory_required", "A directory's group names the directory and its external id.")
	}
	gi := GroupInput{Name: &in.Name, ExternalID: &in.ExternalID}
	gi.canonicalise()
	if err := errs.Fields(gi.validate(true)); err != nil {
		return nil, err
	}
	in.Name = *gi.Name
	want := make(map[string]bool, len(in.MemberIDs))
	for _, id := range in.MemberIDs {
		want[id] = true
	}
	out := &GroupSync{}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		var g *Group
		var have []string
		if id == "" {
			g = &Group{ID: newID(), Name: in.Name, ExternalID: in.ExternalID, Source: Directory, DirectoryID: dir,
				Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := s.store.InsertGroup(ctx, g); err != nil {
				return err
			}
			out.Created = true
		} else {
			var err error
			if g, err = s.store.Group(ctx, id); err != nil {
				return err
			}
			if g.DirectoryID != dir || g.ExternalID != in.ExternalID {
				return errs.E(errs.Conflict, "group.other_source", "This group does not come from this directory.")
			}
			if have, err = s.store.GroupMemberIDs(ctx, g.ID); err != nil {
				return err
			}
		}
		had := make(map[string]bool, len(have))
		var add, remove []string
		for _, uid := range have {
			had[uid] = true
			if !want[uid] {
				remove = append(remove, uid)
			}
		}
		for uid := range want {
			if !had[uid] {
				add = append(add, uid)
			}
		}
		slices.Sort(add)
		if n, err := s.store.CountUsersOfDirectory(ctx, dir, add); err != nil {
			return err
		} else if n != len(add) {
			return errs.E(errs.Conflict, "user.other_source", "A member is not a user of this directory.")
		}
		if (len(add) > 0 || len(remove) > 0) && !out.Created {
			if err := a.requireCovers("the group "+g.Name, g.Permissions()); err != nil {
				return err
			}
		}
		details := map[string]any{"external_id": g.ExternalID}
		if !out.Created && g.Name != in.Name {
			details["name"] = map[string]any{"from": g.Name, "to": in.Name}
			out.Renamed = true
			prev := g.Version
			g.Name, g.Version, g.UpdatedAt = in.Name, g.Version+1, now
			if err := s.store.UpdateGroup(ctx, g, prev); err != nil {
				return err
			}
		}
		if len(add) > 0 {
			if err := s.store.AddGroupMembers(ctx, g.ID, add); err != nil {
				return err
			}
			details["added"], details["added_count"] = firstIDs(add), len(add)
		}
		if len(remove) > 0 {
			if err := s.store.RemoveGroupMembers(ctx, g.ID, remove); err != nil {
				return err
			}
			details["removed"], details["removed_count"] = firstIDs(remove), len(remove)
		}
		out.Added, out.Removed = len(add), len(remove)
		action := "group.update"
		switch {
		case out.Created:
			action = "group.create"
		case !out.Renamed && len(add)+len(remove) == 0:
			out.Group = g
			return nil // nothing changed: no audit event
		}
		if err := s.audit(ctx, a, action, "group", g.ID, g.Name, details); err != nil {
			return err
		}
		var err error
		out.Group, err = s.store.Group(ctx, g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteGroupFromDirectory deletes a group of directory dir that left it or its mapping (a
// sync): its members lose the roles it gave them, so the actor must hold them.
func (s *Service) DeleteGroupFromDirectory(ctx context.Context, a Actor, dir, id string) error {
	if err := a.Require(GroupsManage); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		g, err := s.store.Group(ctx, id)
		if err != nil {
			return err
		}
		if dir == "" || g.DirectoryID != dir {
			return errs.E(errs.Conflict, "group.other_source", "This group does not come from this directory.")
		}
		if err := a.requireCovers("the group "+g.Name, g.Permissions()); err != nil {
			return err
		}
		if err := s.store.DeleteGroup(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, a, "group.delete", "group", g.ID, g.Name, map[string]any{"members": g.MemberCount,
			"external_id": g.ExternalID, "reason": "left the directory"})
	})
}

// maxAuditIDs is how many member ids one audit event of a directory group lists; the counts
// say how many there were.
const maxAuditIDs = 1000

func firstIDs(ids []string) []string { return ids[:min(len(ids), maxAuditIDs)] }

package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/user"
)

type groupBody struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	ExternalID  string     `json:"external_id,omitempty" doc:"The group's id in a directory or SCIM client."`
	Source      string     `json:"source" enum:"local,directory,scim"`
	DirectoryID string     `json:"directory_id,omitempty" doc:"The directory a sync keeps the group from: its name and members are the directory's, read-only here."`
	Roles       []roleBody `json:"roles" doc:"Roles every member inherits."`
	MemberCount int64      `json:"member_count"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Version     int64      `json:"version"`
}

func toGroup(g *user.Group) groupBody {
	b := groupBody{ID: g.ID, Name: g.Name, Description: g.Description, ExternalID: g.ExternalID, Source: string(g.Source), DirectoryID: g.DirectoryID,
		Roles: make([]roleBody, 0, len(g.Roles)), MemberCount: g.MemberCount, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, Version: g.Version}
	for i := range g.Roles {
		b.Roles = append(b.Roles, toRole(&g.Roles[i]))
	}
	return b
}

type groupOutput struct {
	ETag string `header:"ETag"`
	Body groupBody
}

func groupOut(g *user.Group) *groupOutput {
	return &groupOutput{ETag: etag(g.Version), Body: toGroup(g)}
}

type listGroupsInput struct {
	Q      string `query:"q" doc:"Case-insensitive prefix of the group name."`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000"`
	Cursor string `query:"cursor"`
}

type groupPage struct {
	Body struct {
		Groups     []groupBody `json:"groups"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}
}

func (s *Server) listGroups(ctx context.Context, in *listGroupsInput) (*groupPage, error) {
	groups, next, err := s.deps.Users.ListGroups(ctx, actorFrom(ctx), user.GroupFilter{Q: in.Q, Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return nil, err
	}
	out := &groupPage{}
	out.Body.Groups = make([]groupBody, 0, len(groups))
	for i := range groups {
		out.Body.Groups = append(out.Body.Groups, toGroup(&groups[i]))
	}
	out.Body.NextCursor = next
	return out, nil
}

type groupIDPath struct {
	ID string `path:"id" doc:"The group's id."`
}

func (s *Server) getGroup(ctx context.Context, in *groupIDPath) (*groupOutput, error) {
	g, err := s.deps.Users.Group(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return groupOut(g), nil
}

type groupFields struct {
	Name        *string   `json:"name,omitempty"`
	Description *string   `json:"description,omitempty"`
	ExternalID  *string   `json:"external_id,omitempty"`
	Roles       *[]string `json:"roles,omitempty" doc:"Role ids the members inherit, replacing the current ones."`
}

func (b groupFields) input() user.GroupInput {
	return user.GroupInput{Name: b.Name, Description: b.Description, ExternalID: b.ExternalID, RoleIDs: b.Roles}
}

type createGroupInput struct {
	Body groupFields
}

func (s *Server) createGroup(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
	g, err := s.deps.Users.CreateGroup(ctx, actorFrom(ctx), in.Body.input())
	if err != nil {
		return nil, err
	}
	return groupOut(g), nil
}

type updateGroupInput struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The group's ETag as you read it. Required."`
	Body    groupFields
}

func (s *Server) updateGroup(ctx context.Context, in *updateGroupInput) (*groupOutput, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	g, err := s.deps.Users.UpdateGroup(ctx, actorFrom(ctx), in.ID, v, in.Body.input())
	if err != nil {
		return nil, err
	}
	return groupOut(g), nil
}

func (s *Server) deleteGroup(ctx context.Context, in *deleteInput) (*struct{}, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return nil, s.deps.Users.DeleteGroup(ctx, actorFrom(ctx), in.ID, v)
}

type membersInput struct {
	ID   string `path:"id"`
	Body struct {
		UserIDs []string `json:"user_ids" nullable:"false" maxItems:"1000" doc:"The users, at most 1000."`
	}
}

// changeMembers returns the handler that adds (add) or removes members.
func (s *Server) changeMembers(add bool) func(context.Context, *membersInput) (*groupOutput, error) {
	return func(ctx context.Context, in *membersInput) (*groupOutput, error) {
		g, err := s.deps.Users.ChangeMembers(ctx, actorFrom(ctx), in.ID, add, in.Body.UserIDs)
		if err != nil {
			return nil, err
		}
		return groupOut(g), nil
	}
}

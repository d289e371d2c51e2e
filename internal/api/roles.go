package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/user"
)

type roleBody struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Builtin     bool              `json:"builtin" doc:"Built-in roles cannot be changed or deleted."`
	Permissions []user.Permission `json:"permissions"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Version     int64             `json:"version"`
}

func toRole(r *user.Role) roleBody {
	ps := []user.Permission(r.Permissions)
	if ps == nil {
		ps = []user.Permission{}
	}
	return roleBody{ID: r.ID, Name: r.Name, Description: r.Description, Builtin: r.Builtin, Permissions: ps,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

type roleOutput struct {
	ETag string `header:"ETag"`
	Body roleBody
}

func roleOut(r *user.Role) *roleOutput { return &roleOutput{ETag: etag(r.Version), Body: toRole(r)} }

type roleList struct {
	Body struct {
		Roles []roleBody `json:"roles"`
	}
}

func (s *Server) listRoles(ctx context.Context, _ *struct{}) (*roleList, error) {
	roles, err := s.deps.Users.Roles(ctx, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &roleList{}
	out.Body.Roles = make([]roleBody, 0, len(roles))
	for i := range roles {
		out.Body.Roles = append(out.Body.Roles, toRole(&roles[i]))
	}
	return out, nil
}

type roleIDPath struct {
	ID string `path:"id" doc:"The role's id."`
}

func (s *Server) getRole(ctx context.Context, in *roleIDPath) (*roleOutput, error) {
	r, err := s.deps.Users.Role(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return roleOut(r), nil
}

type roleFields struct {
	Name        *string            `json:"name,omitempty"`
	Description *string            `json:"description,omitempty"`
	Permissions *[]user.Permission `json:"permissions,omitempty" doc:"Names from GET /api/v1/permissions; only ones you hold yourself."`
}

func (b roleFields) input() user.RoleInput {
	return user.RoleInput{Name: b.Name, Description: b.Description, Permissions: b.Permissions}
}

type createRoleInput struct {
	Body roleFields
}

func (s *Server) createRole(ctx context.Context, in *createRoleInput) (*roleOutput, error) {
	r, err := s.deps.Users.CreateRole(ctx, actorFrom(ctx), in.Body.input())
	if err != nil {
		return nil, err
	}
	return roleOut(r), nil
}

type updateRoleInput struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The role's ETag as you read it. Required."`
	Body    roleFields
}

func (s *Server) updateRole(ctx context.Context, in *updateRoleInput) (*roleOutput, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	r, err := s.deps.Users.UpdateRole(ctx, actorFrom(ctx), in.ID, v, in.Body.input())
	if err != nil {
		return nil, err
	}
	return roleOut(r), nil
}

func (s *Server) deleteRole(ctx context.Context, in *deleteInput) (*struct{}, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return nil, s.deps.Users.DeleteRole(ctx, actorFrom(ctx), in.ID, v)
}

type permissionList struct {
	Body struct {
		Permissions []user.PermissionInfo `json:"permissions"`
	}
}

func (s *Server) listPermissions(context.Context, *struct{}) (*permissionList, error) {
	out := &permissionList{}
	out.Body.Permissions = user.Catalogue
	return out, nil
}

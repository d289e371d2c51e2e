package user

import (
	"context"
	"slices"

	"github.com/usherhq/usher/internal/errs"
)

// Bulk actions.
const (
	BulkSetRoles      = "set_roles"
	BulkAddRoles      = "add_roles"
	BulkRemoveRoles   = "remove_roles"
	BulkDisable       = "disable"
	BulkEnable        = "enable"
	BulkLock          = "lock"
	BulkUnlock        = "unlock"
	BulkDelete        = "delete"
	BulkResetPassword = "reset_password" // done by the ResetSender NewService was given
)

// BulkActions lists every bulk action.
var BulkActions = []string{BulkSetRoles, BulkAddRoles, BulkRemoveRoles, BulkDisable, BulkEnable, BulkLock, BulkUnlock, BulkDelete, BulkResetPassword}

// ResetSender sends one user a password reset link. Resets belong to the auth package, which
// imports this one: app passes auth.Service.SendReset to NewService.
type ResetSender func(ctx context.Context, a Actor, id string) error

// bulkPermission is what each bulk action needs.
var bulkPermission = map[string]Permission{
	BulkSetRoles: UsersWrite, BulkAddRoles: UsersWrite, BulkRemoveRoles: UsersWrite,
	BulkDisable: UsersLock, BulkEnable: UsersLock, BulkLock: UsersLock, BulkUnlock: UsersLock,
	BulkDelete: UsersDelete, BulkResetPassword: UsersLock,
}

// MaxBulk is the most users one bulk request may name.
const MaxBulk = 1000

// BulkRequest applies one action to many users.
type BulkRequest struct {
	Action  string
	IDs     []string
	RoleIDs []string // for the role actions
}

// BulkResult is the outcome for one user of a bulk request.
type BulkResult struct {
	ID    string
	User  *Detail // after the change; nil on failure and after delete
	Error error   // nil on success
}

// Bulk applies an action to each user on its own: one user's failure is reported and the rest go
// on. Each user's change is its own transaction with its own audit event.
func (s *Service) Bulk(ctx context.Context, a Actor, req BulkRequest) ([]BulkResult, error) {
	var bad []errs.FieldError
	if !slices.Contains(BulkActions, req.Action) {
		bad = append(bad, errs.FieldError{Field: "action", Code: "bulk.action_invalid", Message: "The action must be one of set_roles, add_roles, remove_roles, disable, enable, lock, unlock, delete or reset_password."})
	}
	switch {
	case len(req.IDs) == 0:
		bad = append(bad, errs.FieldError{Field: "ids", Code: "bulk.ids_required", Message: "Name at least one user."})
	case len(req.IDs) > MaxBulk:
		bad = append(bad, errs.FieldError{Field: "ids", Code: "bulk.too_many", Message: "One request may name at most 1000 users."})
	}
	roleAction := req.Action == BulkSetRoles || req.Action == BulkAddRoles || req.Action == BulkRemoveRoles
	if roleAction && req.RoleIDs == nil {
		bad = append(bad, errs.FieldError{Field: "roles", Code: "bulk.roles_required", Message: "Name the roles."})
	}
	if err := errs.Fields(bad); err != nil {
		return nil, err
	}
	// Refuse the whole request up front when the actor lacks the action's permission, rather
	// than answering "forbidden" once per user.
	if err := a.Require(bulkPermission[req.Action]); err != nil {
		return nil, err
	}
	if roleAction {
		for _, id := range req.RoleIDs {
			if _, err := s.store.Role(ctx, id); errs.Is(errs.NotFound, err) {
				return nil, errs.Field("roles", "role.unknown", "There is no role with id "+id+".")
			} else if err != nil {
				return nil, err
			}
		}
	}
	results := make([]BulkResult, 0, len(req.IDs))
	seen := map[string]bool{}
	for _, id := range req.IDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r := BulkResult{ID: id}
		switch req.Action {
		case BulkSetRoles, BulkAddRoles, BulkRemoveRoles:
			r.User, r.Error = s.bulkRoles(ctx, a, id, req.Action, req.RoleIDs)
		case BulkDelete:
			r.Error = s.DeleteUser(ctx, a, id, AnyVersion)
		case BulkResetPassword:
			r.Error = s.sendReset(ctx, a, id)
		default:
			r.User, r.Error = s.ChangeStatus(ctx, a, id, Event(req.Action))
		}
		results = append(results, r)
	}
	return results, nil
}

func (s *Service) bulkRoles(ctx context.Context, a Actor, id, action string, roleIDs []string) (*Detail, error) {
	var p Patch
	switch action {
	case BulkSetRoles:
		ids := slices.Clone(roleIDs)
		if ids == nil {
			ids = []string{}
		}
		p.RoleIDs = &ids
	case BulkAddRoles:
		p.AddRoleIDs = roleIDs
	case BulkRemoveRoles:
		p.RemoveRoleIDs = roleIDs
	}
	return s.UpdateUser(ctx, a, id, AnyVersion, p)
}

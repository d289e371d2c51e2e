package user

import (
	"context"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
)

// Audit reads a page of the audit log, newest first (audit.Filter.PageSize events), and the
// cursor of the next page ("" on the last).
func (s *Service) Audit(ctx context.Context, a Actor, f audit.Filter) ([]audit.Event, string, error) {
	if err := a.Require(AuditRead); err != nil {
		return nil, "", err
	}
	if err := s.auditFilter(ctx, &f); err != nil {
		return nil, "", err
	}
	f.Limit = f.PageSize()
	return s.store.AuditEvents(ctx, f)
}

// UserAudit reads a page of the events about one user, as Audit does. An id that is no user's
// and that the log never saw as a user's is not found, as when reading the user, rather than a
// user without events; a deleted user's trail outlives them. Events about a group, a role or a
// field are never part of it, even under the same id.
func (s *Service) UserAudit(ctx context.Context, a Actor, userID string, f audit.Filter) ([]audit.Event, string, error) {
	if err := a.Require(AuditRead); err != nil {
		return nil, "", err
	}
	if _, err := s.store.User(ctx, userID); errs.Is(errs.NotFound, err) {
		seen, _, lerr := s.store.AuditEvents(ctx, audit.Filter{TargetID: userID, TargetType: auditUser, Limit: 1})
		if lerr != nil {
			return nil, "", lerr
		}
		if len(seen) == 0 {
			return nil, "", err
		}
	} else if err != nil {
		return nil, "", err
	}
	f.TargetID, f.TargetType = userID, auditUser
	return s.Audit(ctx, a, f)
}

// auditUser is the target type of the events about a user.
const auditUser = "user"

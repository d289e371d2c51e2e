package user

import (
	"context"

	"github.com/usherhq/usher/internal/audit"
)

// MaxAuditPage is the most audit events one read returns.
const MaxAuditPage = 500

// Audit reads the audit log, newest first. The per-user view is a Filter with TargetID set.
func (s *Service) Audit(ctx context.Context, a Actor, f audit.Filter) ([]audit.Event, error) {
	if err := a.Require(AuditRead); err != nil {
		return nil, err
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > MaxAuditPage:
		f.Limit = MaxAuditPage
	}
	return s.store.AuditEvents(ctx, f)
}

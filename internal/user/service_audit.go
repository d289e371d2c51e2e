package user

import (
	"context"

	"github.com/usherhq/usher/internal/audit"
)

// MaxAuditPage is the most audit events one read returns.
const MaxAuditPage = 500

// Audit reads a page of the audit log, newest first, and the cursor of the next page ("" on
// the last).
func (s *Service) Audit(ctx context.Context, a Actor, f audit.Filter) ([]audit.Event, string, error) {
	if err := a.Require(AuditRead); err != nil {
		return nil, "", err
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > MaxAuditPage:
		f.Limit = MaxAuditPage
	}
	return s.store.AuditEvents(ctx, f)
}

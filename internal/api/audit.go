package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/audit"
)

type auditBody struct {
	ID         int64          `json:"id"`
	Time       time.Time      `json:"time"`
	ActorID    string         `json:"actor_id,omitempty"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type,omitempty"`
	TargetID   string         `json:"target_id,omitempty"`
	TargetName string         `json:"target_name,omitempty"`
	Outcome    string         `json:"outcome" enum:"success,failure"`
	Details    map[string]any `json:"details,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	ClientIP   string         `json:"client_ip,omitempty"`
}

// AuditFilter is the query of an audit log read.
type AuditFilter struct {
	Actor   string    `query:"actor" doc:"Only events by this user: their id, or the username or email of a user who exists."`
	Target  string    `query:"target" doc:"Only events about this id."`
	Action  string    `query:"action" doc:"An action (user.lock) or a prefix ending in a dot (user.)."`
	Outcome string    `query:"outcome" enum:"success,failure,"`
	From    time.Time `query:"from" doc:"Only events at or after this time (RFC 3339)."`
	To      time.Time `query:"to" doc:"Only events before this time (RFC 3339)."`
	Limit   int       `query:"limit" minimum:"0" maximum:"500"`
	Cursor  string    `query:"cursor" doc:"The next_cursor of the previous page."`
}

func (f AuditFilter) filter() audit.Filter {
	return audit.Filter{ActorID: f.Actor, TargetID: f.Target, Action: f.Action, Outcome: f.Outcome, From: f.From, To: f.To,
		Limit: f.Limit, Cursor: f.Cursor}
}

type auditPage struct {
	Body struct {
		Events     []auditBody `json:"events"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}
}

type auditInput struct {
	AuditFilter
}

func (s *Server) listAudit(ctx context.Context, in *auditInput) (*auditPage, error) {
	return auditOut(s.deps.Users.Audit(ctx, actorFrom(ctx), in.filter()))
}

type userAuditInput struct {
	ID string `path:"id" doc:"The user's id."`
	AuditFilter
}

func (s *Server) userAudit(ctx context.Context, in *userAuditInput) (*auditPage, error) {
	return auditOut(s.deps.Users.UserAudit(ctx, actorFrom(ctx), in.ID, in.filter()))
}

func auditOut(events []audit.Event, next string, err error) (*auditPage, error) {
	if err != nil {
		return nil, err
	}
	out := &auditPage{}
	out.Body.Events = make([]auditBody, 0, len(events))
	for _, e := range events {
		out.Body.Events = append(out.Body.Events, auditBody{ID: e.ID, Time: e.Time, ActorID: e.ActorID, ActorName: e.ActorName,
			Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, Outcome: e.Outcome,
			Details: e.Details, RequestID: e.RequestID, ClientIP: e.ClientIP})
	}
	out.Body.NextCursor = next
	return out, nil
}

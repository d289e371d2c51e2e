package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/mail"
)

type outboxBody struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind" doc:"password_reset, account_locked, account_locked_admin, test, …"`
	UserID    string     `json:"user_id,omitempty" doc:"The user the message is about."`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status" enum:"queued,sent,failed"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty" doc:"Why the last attempt failed; a queued message with an error is being retried."`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

type outboxInput struct {
	Status string `query:"status" enum:"queued,sent,failed," doc:"Only messages in this state."`
	User   string `query:"user" doc:"Only messages about this user id."`
	Kind   string `query:"kind"`
	Limit  int    `query:"limit" minimum:"0" maximum:"500"`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

type outboxPage struct {
	Body struct {
		Messages   []outboxBody `json:"messages"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

func (s *Server) listOutbox(ctx context.Context, in *outboxInput) (*outboxPage, error) {
	entries, next, err := s.deps.Mail.List(ctx, actorFrom(ctx), mail.Filter{Status: mail.Status(in.Status), UserID: in.User,
		Kind: in.Kind, Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return nil, err
	}
	out := &outboxPage{}
	out.Body.Messages = make([]outboxBody, 0, len(entries))
	for _, e := range entries {
		out.Body.Messages = append(out.Body.Messages, outboxBody{ID: e.ID, Kind: e.Kind, UserID: e.UserID, To: e.To,
			Subject: e.Subject, Status: string(e.Status), Attempts: e.Attempts, LastError: e.LastError,
			CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, SentAt: e.SentAt})
	}
	out.Body.NextCursor = next
	return out, nil
}

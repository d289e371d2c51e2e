package api

import (
	"context"
	"net/http"
	"time"

	"github.com/usherhq/usher/internal/auth"
)

type resetRequestInput struct {
	Body struct {
		Email string `json:"email"`
	}
}

type resetRequestOutput struct {
	Body struct {
		Message string `json:"message"`
	}
}

// requestReset answers the same, in the same time, whether or not the account exists.
func (s *Server) requestReset(ctx context.Context, in *resetRequestInput) (*resetRequestOutput, error) {
	if err := s.deps.Auth.RequestReset(ctx, in.Body.Email, client(ctx)); err != nil {
		return nil, err
	}
	out := &resetRequestOutput{}
	out.Body.Message = "If an account with this email may reset its password, a link is on its way. It works once, for a limited time."
	return out, nil
}

type resetConfirmInput struct {
	Body struct {
		Token    string `json:"token" doc:"The token from the emailed link."`
		Password string `json:"password" doc:"The new password."`
	}
}

func (s *Server) confirmReset(ctx context.Context, in *resetConfirmInput) (*struct{}, error) {
	return nil, s.deps.Auth.ConfirmReset(ctx, in.Body.Token, in.Body.Password, client(ctx))
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
}

type changePasswordOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

// changePassword ends every session, this one too: the client signs in again.
func (s *Server) changePassword(ctx context.Context, in *changePasswordInput) (*changePasswordOutput, error) {
	if err := s.deps.Auth.ChangePassword(ctx, actorFrom(ctx), in.Body.CurrentPassword, in.Body.NewPassword); err != nil {
		return nil, err
	}
	return &changePasswordOutput{SetCookie: s.sessionCookie("", -1)}, nil
}

type sessionBody struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ClientIP   string    `json:"client_ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current" doc:"The session this request came with."`
}

type sessionList struct {
	Body struct {
		Sessions []sessionBody `json:"sessions"`
	}
}

func (s *Server) listSessions(ctx context.Context, _ *struct{}) (*sessionList, error) {
	ss, err := s.deps.Auth.Sessions(ctx, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	current := ""
	if session := sessionFrom(ctx); session != "" {
		current = auth.SessionID(session)
	}
	out := &sessionList{}
	out.Body.Sessions = make([]sessionBody, 0, len(ss))
	for _, x := range ss {
		out.Body.Sessions = append(out.Body.Sessions, sessionBody{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			ExpiresAt: x.ExpiresAt, ClientIP: x.ClientIP, UserAgent: x.UserAgent, Current: x.ID == current})
	}
	return out, nil
}

type sessionIDPath struct {
	ID string `path:"id"`
}

func (s *Server) endSession(ctx context.Context, in *sessionIDPath) (*struct{}, error) {
	return nil, s.deps.Auth.EndSession(ctx, actorFrom(ctx), in.ID)
}

func (s *Server) sendReset(ctx context.Context, in *idPath) (*struct{}, error) {
	return nil, s.deps.Auth.SendReset(ctx, actorFrom(ctx), in.ID)
}

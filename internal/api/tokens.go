package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

// TokenBody is an API token as the API shows it: never its secret, except once at creation.
type TokenBody struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Scopes     []user.Permission `json:"scopes" doc:"Empty: everything the owner may do."`
	CreatedAt  time.Time         `json:"created_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time        `json:"expires_at,omitempty"`
}

func toToken(t *auth.Token) TokenBody {
	scopes := []user.Permission(t.Scopes)
	if scopes == nil {
		scopes = []user.Permission{}
	}
	return TokenBody{ID: t.ID, Name: t.Name, Scopes: scopes, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt}
}

type createTokenInput struct {
	Body struct {
		Name      string            `json:"name"`
		Scopes    []user.Permission `json:"scopes,omitempty" nullable:"false" doc:"Narrow the token to these permissions; only ones you hold."`
		ExpiresAt *time.Time        `json:"expires_at,omitempty"`
	}
}

type createTokenOutput struct {
	Body struct {
		TokenBody
		Token string `json:"token" doc:"The secret. It is shown only now; send it as Authorization: Bearer <token>."`
	}
}

func (s *Server) createToken(ctx context.Context, in *createTokenInput) (*createTokenOutput, error) {
	t, secret, err := s.deps.Auth.CreateToken(ctx, actorFrom(ctx), auth.TokenInput{Name: in.Body.Name, Scopes: in.Body.Scopes, ExpiresAt: in.Body.ExpiresAt})
	if err != nil {
		return nil, err
	}
	out := &createTokenOutput{}
	out.Body.TokenBody = toToken(t)
	out.Body.Token = secret
	return out, nil
}

type tokenList struct {
	Body struct {
		Tokens []TokenBody `json:"tokens"`
	}
}

func (s *Server) listTokens(ctx context.Context, _ *struct{}) (*tokenList, error) {
	ts, err := s.deps.Auth.Tokens(ctx, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &tokenList{}
	out.Body.Tokens = make([]TokenBody, 0, len(ts))
	for i := range ts {
		out.Body.Tokens = append(out.Body.Tokens, toToken(&ts[i]))
	}
	return out, nil
}

type tokenIDPath struct {
	ID string `path:"id"`
}

func (s *Server) revokeToken(ctx context.Context, in *tokenIDPath) (*struct{}, error) {
	return nil, s.deps.Auth.RevokeToken(ctx, actorFrom(ctx), in.ID)
}

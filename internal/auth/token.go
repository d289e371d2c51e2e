package auth

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

const tokenPrefix = "usher_"

// Token is an API token. Only its hash is stored; the secret is shown once, when it is made.
type Token struct {
	ID         string
	UserID     string
	Name       string
	Hash       string
	Scopes     user.Permissions // empty: everything the owner may do
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

// TokenInput asks for a new token.
type TokenInput struct {
	Name      string
	Scopes    []user.Permission
	ExpiresAt *time.Time
}

// CreateToken makes a token for the actor. Its scopes can only narrow what the actor holds, and
// a token cannot make another token.
func (s *Service) CreateToken(ctx context.Context, a user.Actor, in TokenInput) (*Token, string, error) {
	if a.ID == "" {
		return nil, "", errUnauthenticated
	}
	if a.TokenID != "" {
		return nil, "", errs.E(errs.Forbidden, "token.from_token", "API tokens are made from a signed-in session, not from another token.")
	}
	var bad []errs.FieldError
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		bad = append(bad, errs.FieldError{Field: "name", Code: "token.name_invalid", Message: "The token needs a name of 1 to 100 characters."})
	}
	for _, p := range in.Scopes {
		switch {
		case !user.KnownPermission(p):
			bad = append(bad, errs.FieldError{Field: "scopes", Code: "token.unknown_scope", Message: "There is no permission called " + string(p) + "."})
		case !a.Can(p):
			bad = append(bad, errs.FieldError{Field: "scopes", Code: "auth.escalation", Message: "You do not hold " + string(p) + ", so a token of yours cannot."})
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		bad = append(bad, errs.FieldError{Field: "expires_at", Code: "token.expiry_past", Message: "The expiry must be in the future."})
	}
	if err := errs.Fields(bad); err != nil {
		return nil, "", err
	}
	secret := newSecret(tokenPrefix)
	t := &Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: a.ID, Name: name, Hash: digest(secret),
		Scopes: user.NewPermissions(in.Scopes...), CreatedAt: s.now(), ExpiresAt: in.ExpiresAt}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertToken(ctx, t); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: t.CreatedAt, ActorID: a.ID, ActorName: a.Name,
			Action: "token.create", TargetType: "token", TargetID: t.ID, TargetName: t.Name, Outcome: audit.Success,
			Details: map[string]any{"scopes": t.Scopes.String()}, RequestID: a.RequestID, ClientIP: a.ClientIP})
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// Tokens lists the actor's own tokens.
func (s *Service) Tokens(ctx context.Context, a user.Actor) ([]Token, error) {
	if a.ID == "" {
		return nil, errUnauthenticated
	}
	return s.store.Tokens(ctx, a.ID)
}

// RevokeToken deletes a token: one's own, or anyone's with settings.manage.
func (s *Service) RevokeToken(ctx context.Context, a user.Actor, id string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		t, err := s.store.Token(ctx, id)
		if err != nil {
			return err
		}
		if t.UserID != a.ID && !a.Can(user.SettingsManage) {
			return errs.E(errs.NotFound, "token.not_found", "There is no such token.")
		}
		if err := s.store.DeleteToken(ctx, id); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorID: a.ID, ActorName: a.Name,
			Action: "token.revoke", TargetType: "token", TargetID: t.ID, TargetName: t.Name, Outcome: audit.Success,
			Details: map[string]any{"owner": t.UserID}, RequestID: a.RequestID, ClientIP: a.ClientIP})
	})
}

package auth

import (
	"context"
	"crypto/subtle"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

const setupKey = "setup_token_hash"

// SetupStore keeps the one-time setup token.
type SetupStore interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	Setting(ctx context.Context, key string) (string, bool, error)
	SetSetting(ctx context.Context, key, value string) error
	DeleteSetting(ctx context.Context, key string) error
}

// Setup creates the Default Administrator on first start through a one-time link.
type Setup struct {
	store SetupStore
	users *user.Service
}

// NewSetup returns the first-start setup.
func NewSetup(store SetupStore, users *user.Service) *Setup {
	return &Setup{store: store, users: users}
}

// Begin makes a new one-time setup token (replacing any earlier one) and returns it, or ""
// when usher is already set up.
func (s *Setup) Begin(ctx context.Context) (string, error) {
	if done, err := s.users.HasDefaultAdmin(ctx); err != nil || done {
		return "", err
	}
	token := newSecret("setup_")
	if err := s.store.SetSetting(ctx, setupKey, digest(token)); err != nil {
		return "", err
	}
	return token, nil
}

// Complete uses the setup token once to create the Default Administrator.
func (s *Setup) Complete(ctx context.Context, token string, in user.CreateInput, c Client) (*user.Detail, error) {
	var out *user.Detail
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		want, ok, err := s.store.Setting(ctx, setupKey)
		if err != nil {
			return err
		}
		if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(digest(token))) != 1 {
			return errs.E(errs.Forbidden, "setup.token_invalid", "This setup link is not valid: it was used already, or usher was restarted and printed a new one.")
		}
		if err := s.store.DeleteSetting(ctx, setupKey); err != nil {
			return err
		}
		a := user.System("setup")
		a.RequestID, a.ClientIP = c.RequestID, c.IP
		out, err = s.users.CreateDefaultAdmin(ctx, a, in)
		return err
	})
	return out, err
}

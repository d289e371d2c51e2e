package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/request"
	"github.com/usherhq/usher/internal/user"
)

// What an operation needs, besides a permission from the catalogue.
const (
	public        = "public"        // anyone, signed in or not
	authenticated = "authenticated" // any signed-in user; the service decides the rest
)

// permissionExt is the OpenAPI extension that records each operation's permission, so the
// document itself says who may call what and the authorization test can walk it.
const permissionExt = "x-permission"

type (
	actorKey   struct{}
	sessionKey struct{}
)

// actorFrom returns the actor the authentication middleware resolved.
func actorFrom(ctx context.Context) user.Actor {
	a, _ := ctx.Value(actorKey{}).(user.Actor)
	return a
}

// sessionFrom returns the session cookie's value when the request was signed in with it.
func sessionFrom(ctx context.Context) string {
	v, _ := ctx.Value(sessionKey{}).(string)
	return v
}

// authenticate resolves the session cookie or bearer token to an actor and refuses a request
// whose operation needs a permission the actor lacks, before any handler runs. Services check
// permissions again: this is the outer wall, not the only one.
func (s *Server) authenticate(hctx huma.Context, next func(huma.Context)) {
	need, _ := hctx.Operation().Extensions[permissionExt].(string)
	if need == "" {
		// An operation that forgot to declare its permission is closed to everyone.
		s.writeErr(hctx, errs.E(errs.Internal, "api.undeclared_permission", "operation "+hctx.Operation().OperationID+" declares no permission"))
		return
	}
	ctx := hctx.Context()
	a, session, err := s.resolveActor(hctx)
	if err != nil && need != public {
		s.writeErr(hctx, err)
		return
	}
	if err == nil {
		info := request.FromContext(ctx)
		a.RequestID, a.ClientIP = info.ID, info.IP
		ctx = context.WithValue(ctx, actorKey{}, a)
		if session != "" {
			ctx = context.WithValue(ctx, sessionKey{}, session)
		}
	}
	if need != public && need != authenticated {
		if err := a.Require(user.Permission(need)); err != nil {
			s.writeErr(hctx, err)
			return
		}
	}
	next(huma.WithContext(hctx, ctx))
}

var errNoCredentials = errs.E(errs.Unauthenticated, "auth.unauthenticated", "Sign in first: send a session cookie or an Authorization: Bearer token.")

// resolveActor reads the bearer token or, without one, the session cookie under the name this
// server uses (the __Host- one over https). It returns the cookie's value when that signed in.
func (s *Server) resolveActor(hctx huma.Context) (user.Actor, string, error) {
	ctx := hctx.Context()
	if h := hctx.Header("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return user.Actor{}, "", errs.E(errs.Unauthenticated, "auth.bad_authorization", "The Authorization header must be \"Bearer <token>\".")
		}
		a, err := s.deps.Auth.BearerActor(ctx, strings.TrimSpace(token))
		return a, "", err
	}
	if c, err := huma.ReadCookie(hctx, s.cookie); err == nil && c.Value != "" {
		a, err := s.deps.Auth.SessionActor(ctx, c.Value)
		return a, c.Value, err
	}
	return user.Actor{}, "", errNoCredentials
}

func (s *Server) writeErr(hctx huma.Context, err error) {
	p := newProblem(hctx.Context(), http.StatusInternalServerError, "unexpected error occurred", err)
	if p.Status == http.StatusUnauthorized {
		hctx.SetHeader("WWW-Authenticate", `Bearer realm="usher"`)
	}
	huma.WriteErr(s.api, hctx, p.Status, p.Detail, err)
}

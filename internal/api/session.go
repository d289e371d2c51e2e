package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/usherhq/usher/internal/user"
)

type loginInput struct {
	Body struct {
		Login    string `json:"login" doc:"Username or email address."`
		Password string `json:"password"`
	}
}

type loginOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      meBody
}

// meBody is the signed-in user and what they may do.
type meBody struct {
	ID          string            `json:"id"`
	Username    string            `json:"username"`
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	Permissions []user.Permission `json:"permissions"`
}

func (s *Server) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	token, u, err := s.deps.Auth.Login(ctx, in.Body.Login, in.Body.Password, client(ctx))
	if err != nil {
		return nil, err
	}
	return s.signedIn(ctx, token, u)
}

// signedIn answers a sign-in (a login, an accepted invitation): the session cookie, and who
// is signed in with what they may do.
func (s *Server) signedIn(ctx context.Context, token string, u *user.User) (*loginOutput, error) {
	a, err := s.deps.Auth.SessionActor(ctx, token)
	if err != nil {
		return nil, err
	}
	return &loginOutput{SetCookie: s.sessionCookie(token, s.deps.Auth.SessionLifetime()),
		Body: meBody{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name(), Permissions: perms(a.Permissions)}}, nil
}

// sessionCookie is the cookie that carries a session: never readable by scripts, never sent on
// cross-site subrequests, Secure whenever usher is served over https.
func (s *Server) sessionCookie(value string, maxAge int) http.Cookie {
	return http.Cookie{Name: s.cookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.deps.HTTPS, SameSite: http.SameSiteLaxMode}
}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

// logout ends the session the request came with; a request signed in with a token ends nothing.
func (s *Server) logout(ctx context.Context, _ *struct{}) (*logoutOutput, error) {
	if session := sessionFrom(ctx); session != "" {
		if err := s.deps.Auth.Logout(ctx, actorFrom(ctx), session, client(ctx)); err != nil {
			return nil, err
		}
	}
	return &logoutOutput{SetCookie: s.sessionCookie("", -1)}, nil
}

type meOutput struct{ Body meBody }

func (s *Server) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	a := actorFrom(ctx)
	d, err := s.deps.Users.GetUser(ctx, a, a.ID)
	if err != nil {
		return nil, err
	}
	return &meOutput{Body: meBody{ID: d.ID, Username: d.Username, Email: d.Email, Name: d.Name(), Permissions: perms(a.Permissions)}}, nil
}

func perms(ps user.Permissions) []user.Permission {
	if ps == nil {
		return []user.Permission{}
	}
	return []user.Permission(ps)
}

type setupInput struct {
	Body struct {
		Token     string  `json:"token" doc:"The one-time token from the setup link in the server log."`
		Email     string  `json:"email"`
		Username  *string `json:"username,omitempty"`
		FirstName string  `json:"first_name"`
		LastName  string  `json:"last_name"`
		Password  string  `json:"password"`
	}
}

func (s *Server) setup(ctx context.Context, in *setupInput) (*userOutput, error) {
	b := in.Body
	d, err := s.deps.Setup.Complete(ctx, b.Token, user.CreateInput{
		Profile:  user.Profile{Email: &b.Email, Username: b.Username, FirstName: &b.FirstName, LastName: &b.LastName},
		Password: &b.Password}, client(ctx))
	if err != nil {
		return nil, err
	}
	return userOut(d), nil
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func parseVersion(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

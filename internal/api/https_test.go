package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestHTTPSHeadersAndSessionCookie checks both shapes of the public URL: over https every
// response carries Strict-Transport-Security and the session cookie is __Host-usher_session
// (Secure, Path=/, no Domain); over http neither. Each shape accepts its own cookie name only.
func TestHTTPSHeadersAndSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name, publicURL, cookie, other, hsts string
		secure                               bool
	}{
		{"https", "https://usher.example.org", "__Host-usher_session", "usher_session", "max-age=63072000; includeSubDomains", true},
		{"http", "http://usher.example.org", "usher_session", "__Host-usher_session", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				e := newEnv(t, st, "USHER_PUBLIC_URL="+tc.publicURL)

				r := e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "viewer", "password": testPassword}).want(http.StatusOK)
				if len(r.cookies) != 1 {
					t.Fatalf("login set %d cookies, want 1", len(r.cookies))
				}
				c := r.cookies[0]
				if c.Name != tc.cookie || c.Secure != tc.secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly || c.MaxAge <= 0 {
					t.Fatalf("session cookie %+v: want name %s, Secure %v, Path=/, no Domain, HttpOnly", c, tc.cookie, tc.secure)
				}
				session := &client{t: t, base: e.srv.URL, cookie: c.Value, cookieName: tc.cookie}

				// every kind of response: API, problem, health, document, page, unknown path
				for _, res := range []*response{r,
					session.do("GET", "/api/v1/auth/me", nil).want(http.StatusOK),
					e.anon.do("GET", "/api/v1/users", nil).want(http.StatusUnauthorized),
					e.anon.do("GET", "/healthz", nil).want(http.StatusOK),
					e.anon.do("GET", "/readyz", nil).want(http.StatusOK),
					e.anon.do("GET", "/api/v1/openapi.json", nil).want(http.StatusOK),
					e.anon.do("GET", "/setup", nil).want(http.StatusOK),
					e.anon.do("GET", "/no/such/page", nil).want(http.StatusNotFound),
				} {
					if got := res.header.Get("Strict-Transport-Security"); got != tc.hsts {
						t.Errorf("%s: Strict-Transport-Security %q, want %q", res.req, got, tc.hsts)
					}
				}

				// the cookie under the other shape's name signs nobody in
				wrong := &client{t: t, base: e.srv.URL, cookie: c.Value, cookieName: tc.other}
				wrong.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")

				// the document names the cookie this server reads
				var doc struct {
					Components struct {
						SecuritySchemes map[string]struct {
							In   string `json:"in"`
							Name string `json:"name"`
						} `json:"securitySchemes"`
					} `json:"components"`
				}
				if err := json.Unmarshal(e.anon.do("GET", "/api/v1/openapi.json", nil).body, &doc); err != nil {
					t.Fatal(err)
				}
				if s := doc.Components.SecuritySchemes["session"]; s.In != "cookie" || s.Name != tc.cookie {
					t.Fatalf("session security scheme %+v, want the cookie %s", s, tc.cookie)
				}

				// the sessions list knows the current one by this cookie; logout ends it and clears it
				var sessions struct {
					Sessions []struct {
						Current bool `json:"current"`
					} `json:"sessions"`
				}
				session.do("GET", "/api/v1/auth/sessions", nil).want(http.StatusOK).into(&sessions)
				current := 0
				for _, s := range sessions.Sessions {
					if s.Current {
						current++
					}
				}
				if current != 1 {
					t.Fatalf("%d sessions marked current, want 1: %+v", current, sessions)
				}
				out := session.do("POST", "/api/v1/auth/logout", nil).want(http.StatusNoContent)
				if len(out.cookies) != 1 || out.cookies[0].Name != tc.cookie || out.cookies[0].MaxAge >= 0 || out.cookies[0].Secure != tc.secure {
					t.Fatalf("logout cookies %+v, want %s cleared", out.cookies, tc.cookie)
				}
				session.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")
			})
		})
	}
}

// Package request is what every HTTP request carries from the outer handler to the services,
// for the API and the console alike: its id (kept from a sane X-Request-Id, else made), the
// client's address and user agent. app wraps both surfaces in Middleware once.
package request

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"regexp"
	"strings"
)

// Info is one request's id and client.
type Info struct {
	ID        string
	IP        string
	UserAgent string
}

type key struct{}

// Middleware gives each request its Info, echoes the id in X-Request-Id and sets the headers
// every answer carries: nosniff, and Strict-Transport-Security when https is set. Each surface
// wraps itself so that it works alone; inside another Middleware it does nothing.
func Middleware(https bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(key{}).(Info); ok {
			next.ServeHTTP(w, r) // an outer Middleware did it already
			return
		}
		info := Info{ID: id(r), IP: clientIP(r), UserAgent: r.UserAgent()}
		h := w.Header()
		h.Set("X-Request-Id", info.ID)
		h.Set("X-Content-Type-Options", "nosniff")
		if https {
			h.Set("Strict-Transport-Security", HSTS)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, info)))
	})
}

// HSTS tells browsers to reach usher, and every subdomain of its host, only over https for two years.
const HSTS = "max-age=63072000; includeSubDomains"

// From returns the request's Info; outside Middleware (a test calling a handler directly) it is
// read from the request itself.
func From(r *http.Request) Info {
	if info, ok := r.Context().Value(key{}).(Info); ok {
		return info
	}
	return Info{ID: id(r), IP: clientIP(r), UserAgent: r.UserAgent()}
}

// FromContext returns the Info of the request ctx belongs to, or the zero Info.
func FromContext(ctx context.Context) Info {
	if ctx == nil {
		return Info{}
	}
	info, _ := ctx.Value(key{}).(Info)
	return info
}

var validID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// id keeps a caller's X-Request-Id when it is sane, so logs correlate across services.
func id(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); validID.MatchString(id) {
		return id
	}
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// clientIP is the peer's address, which app has already replaced with the one a trusted proxy
// named in X-Forwarded-For (--trusted-proxies); the header itself is never read here.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return strings.TrimPrefix(host, "::ffff:")
}

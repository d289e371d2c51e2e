package app

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddress makes r.RemoteAddr the client's address for every surface behind it. The peer
// is the client unless it is one of the trusted proxies; then X-Forwarded-For, read from the
// right, names the client: the first address in it that is not a trusted proxy. Anyone can send
// X-Forwarded-For, so with no trusted proxies it is ignored.
func clientAddress(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.RemoteAddr)
		peer, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		client := peer
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := hopAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a garbled entry: trust nothing to its left
			}
			client = a.Unmap()
			if !isTrusted(client) {
				break
			}
		}
		r2 := *r
		r2.RemoteAddr = net.JoinHostPort(client.String(), port)
		next.ServeHTTP(w, &r2)
	})
}

// hopAddr reads one X-Forwarded-For entry: an address, or one with a port as some proxies send.
func hopAddr(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(s)
	return ap.Addr(), err
}

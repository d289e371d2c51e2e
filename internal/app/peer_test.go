package app

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no trusted proxies: the header is ignored", nil, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"an untrusted peer's header is ignored", proxies, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted proxy names the client", proxies, "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client cannot forge hops to the left", proxies, "10.1.2.3:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chains of trusted proxies are walked", proxies, "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"a garbled hop stops the walk", proxies, "10.1.2.3:5000", []string{"198.51.100.1, garbage"}, "10.1.2.3"},
		{"a trusted proxy without the header is the client", proxies, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"IPv6 proxies", proxies, "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"hops with ports", proxies, "10.1.2.3:5000", []string{"198.51.100.1:4711, [2001:db8::8]:443"}, "2001:db8::8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := clientAddress(tc.trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = r.RemoteAddr
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			host, _, _ := splitHost(got)
			if host != tc.want {
				t.Fatalf("client %q, want %q", got, tc.want)
			}
		})
	}
}

func splitHost(s string) (string, string, error) {
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return s, "", err
	}
	return a.Addr().String(), "", nil
}

package cli_test

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// adminEnv has usher create the Default Administrator on first start.
var adminEnv = []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=" + adminPassword}

const adminPassword = "a long enough secret"

// dialectArgs are the serve arguments of a fresh database on dialect d.
func dialectArgs(t *testing.T, d store.Dialect) []string {
	t.Helper()
	opts := storetest.Options(t, d)
	if opts.DatabaseURL != "" {
		return []string{"--database-url", opts.DatabaseURL, "--data-dir", t.TempDir()}
	}
	return []string{"--data-dir", opts.DataDir}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetricsOnTheirOwnAddress: /metrics is never on the public address; --metrics-listen
// serves it on another one, started and stopped with usher.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			args := dialectArgs(t, d)
			addr, logs, stop := serve(t, adminEnv, append(args, "--metrics-listen", "127.0.0.1:0")...)
			m := regexp.MustCompile(`metrics are served at (http://\S+/metrics)`).FindStringSubmatch(logs.String())
			if m == nil {
				t.Fatalf("the log does not say where metrics are:\n%s", logs.String())
			}
			metricsURL := m[1]
			if strings.Contains(metricsURL, addr) {
				t.Fatalf("metrics at %s share the public address %s", metricsURL, addr)
			}
			if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
				t.Fatalf("public /healthz: %d", code)
			}
			if code, body := get(t, "http://"+addr+"/metrics"); code != http.StatusNotFound {
				t.Fatalf("public /metrics: %d, want 404:\n%.200s", code, body)
			}
			code, body := get(t, metricsURL)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d", metricsURL, code)
			}
			for _, want := range []string{`usher_http_requests_total{code="200",route="GET /healthz"} 1`,
				"usher_http_request_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes"} {
				if !strings.Contains(body, want) {
					t.Errorf("metrics lack %q", want)
				}
			}
			if code, _ := get(t, strings.TrimSuffix(metricsURL, "/metrics")+"/api/v1/openapi.json"); code != http.StatusNotFound {
				t.Errorf("the metrics address serves the API: %d", code)
			}
			if code := stop(); code != 0 {
				t.Fatalf("stop: exit %d\n%s", code, logs.String())
			}
			if c, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(metricsURL, "/metrics"), "http://")); err == nil {
				c.Close()
				t.Fatal("the metrics address still answers after usher stopped")
			}
		})
	}
}

// TestCursorsOutliveARestart: page cursors are signed with a key derived from the secret key,
// so one made before a restart works after it, and one made under another secret key does not.
func TestCursorsOutliveARestart(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			args := dialectArgs(t, d)
			addr, _, stop := serve(t, adminEnv, args...)
			cookie := signIn(t, "http://"+addr)
			var page struct {
				Events     []struct{ ID int64 } `json:"events"`
				NextCursor string               `json:"next_cursor"`
			}
			getJSON(t, "http://"+addr+"/api/v1/audit?limit=1", cookie, &page)
			cursor := page.NextCursor
			if cursor == "" {
				t.Fatal("no next_cursor on the first page of the audit log")
			}
			getJSON(t, "http://"+addr+"/api/v1/audit?limit=1&cursor="+cursor, cookie, &page)
			second := page.Events[0].ID
			stop()

			addr, _, stop = serve(t, adminEnv, args...)
			cookie = signIn(t, "http://"+addr)
			getJSON(t, "http://"+addr+"/api/v1/audit?limit=1&cursor="+cursor, cookie, &page)
			if len(page.Events) != 1 || page.Events[0].ID != second {
				t.Fatalf("after a restart the cursor shows %+v, want event %d", page.Events, second)
			}
			stop()

			otherKey := "--secret-key=" + strings.Repeat("A", 43) + "="
			addr, _, _ = serve(t, adminEnv, append(args, otherKey)...)
			cookie = signIn(t, "http://"+addr)
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/audit?limit=1&cursor="+cursor, nil)
			req.AddCookie(&http.Cookie{Name: "usher_session", Value: cookie})
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"code":"filter.cursor_invalid"`) {
				t.Fatalf("a cursor made under another secret key: %d %s", res.StatusCode, b)
			}
		})
	}
}

// signIn signs the Default Administrator in and returns the session cookie's value.
func signIn(t *testing.T, base string) string {
	t.Helper()
	code, body, cookies := post(t, base+"/api/v1/auth/login", "", map[string]string{"login": "admin@example.org", "password": adminPassword})
	for _, c := range cookies {
		if c.Name == "usher_session" && code == http.StatusOK {
			return c.Value
		}
	}
	t.Fatalf("sign in: %d %s", code, body)
	return ""
}

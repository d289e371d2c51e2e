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

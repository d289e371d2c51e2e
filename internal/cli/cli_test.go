package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/cli"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// syncBuffer is a log sink that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Run(context.Background(), args, cli.Env{Environ: env, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

func TestConfigCheckNamesEveryProblem(t *testing.T) {
	code, _, stderr := run(t, []string{"USHER_LOG_LEVEL=loud", "USHER_SESSION_IDLE=forever"},
		"config", "check", "--listen", "nohost", "--database-url", "mysql://x", "--admin-email", "not-an-email")
	if code != 2 {
		t.Fatalf("exit %d, want 2; %s", code, stderr)
	}
	for _, want := range []string{"--listen", "--database-url", "--admin-email", "--admin-password", "--log-level (USHER_LOG_LEVEL, from env)", "--session-idle"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("config check output lacks %q:\n%s", want, stderr)
		}
	}
	code, stdout, stderr := run(t, nil, "config", "check", "--admin-email", "a@example.org", "--admin-password", "a long enough secret")
	if code != 0 || !strings.Contains(stdout, "admin-password = (set)") || strings.Contains(stdout, "a long enough secret") {
		t.Fatalf("valid config: exit %d\n%s%s", code, stdout, stderr)
	}
}

// serve starts usher serve and returns its address, its log and a stop function that returns
// the exit code.
func serve(t *testing.T, env []string, args ...string) (string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), cli.Env{Environ: env,
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Ready: func(addr string) { addrc <- addr }})
	}()
	select {
	case addr := <-addrc:
		stopped := false
		stop := func() int {
			if stopped {
				return 0
			}
			stopped = true
			cancel()
			return <-done
		}
		t.Cleanup(func() { stop() })
		return addr, logs, stop
	case code := <-done:
		cancel()
		t.Fatalf("usher serve exited with %d:\n%s", code, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("usher serve did not start:\n%s", logs.String())
	}
	return "", nil, nil
}

func TestServeFirstStartWithSetupLink(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			opts := storetest.Options(t, d)
			args := []string{"--data-dir", opts.DataDir}
			if opts.DatabaseURL != "" {
				args = []string{"--database-url", opts.DatabaseURL, "--data-dir", t.TempDir()}
			}
			addr, logs, stop := serve(t, nil, args...)
			link := regexp.MustCompile(`open (http://\S+/setup\?token=\S+) to create one`).FindStringSubmatch(logs.String())
			if link == nil {
				t.Fatalf("no setup link in the log:\n%s", logs.String())
			}
			u, err := url.Parse(link[1])
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + addr
			res, err := http.Get(base + u.RequestURI())
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("setup page: %v %v", res, err)
			}
			res.Body.Close()
			form := url.Values{"token": {u.Query().Get("token")}, "email": {"root@example.org"}, "first_name": {"Root"},
				"last_name": {"Admin"}, "password": {"a long enough secret"}}
			// The console signs the new administrator in and opens the users list.
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err = noFollow.PostForm(base+"/setup", form)
			if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/users" {
				t.Fatalf("complete setup: %v %v", res, err)
			}
			res.Body.Close()
			// the link works once
			res, _ = noFollow.PostForm(base+"/setup", form)
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("the setup link worked twice: %d", res.StatusCode)
			}
			body, _ := json.Marshal(map[string]string{"login": "root@example.org", "password": "a long enough secret"})
			res, err = http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("sign in as the new administrator: %v %v", res, err)
			}
			res.Body.Close()
			for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.json"} {
				res, err := http.Get(base + path)
				if err != nil || res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %v %v", path, res, err)
				}
				res.Body.Close()
			}
			if strings.Contains(logs.String(), "a long enough secret") {
				t.Fatal("the password reached the log")
			}
			if code := stop(); code != 0 {
				t.Fatalf("graceful stop: exit %d\n%s", code, logs.String())
			}
			if !strings.Contains(logs.String(), "stopped") {
				t.Fatalf("no graceful stop in the log:\n%s", logs.String())
			}
			// a second start finds the administrator and prints no new link
			_, logs, _ = serve(t, nil, args...)
			if strings.Contains(logs.String(), "setup?token=") {
				t.Fatalf("set-up usher printed a setup link:\n%s", logs.String())
			}
		})
	}
}

func TestSecondProcessOnOneDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	serve(t, []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}, "--data-dir", dir)
	code, _, stderr := run(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "Another usher process is already using the data directory "+dir) {
		t.Fatalf("second process: exit %d: %s", code, stderr)
	}
}

func TestMigrate(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			opts := storetest.Options(t, d)
			args := []string{"migrate", "--data-dir", opts.DataDir}
			if d == store.Postgres {
				args = []string{"migrate", "--database-url", opts.DatabaseURL}
			}
			code, stdout, stderr := run(t, nil, args...)
			if code != 0 || !regexp.MustCompile(`schema is at version [1-9]`).MatchString(stdout) {
				t.Fatalf("migrate: exit %d\n%s%s", code, stdout, stderr)
			}
			// migrate does what serve does on start: the built-in roles and the job tables too.
			st, err := store.Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			roles, err := st.Roles(context.Background())
			var jobs int
			if err == nil {
				err = st.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM river_job`).Scan(&jobs)
			}
			st.Close()
			if err != nil || len(roles) < 4 {
				t.Fatalf("after migrate: %d roles, job table: %v", len(roles), err)
			}
			code, stdout, _ = run(t, nil, args...)
			if code != 0 || strings.Contains(stdout, "applied") {
				t.Fatalf("second migrate applied something: %s", stdout)
			}
		})
	}
}

package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/store/storetest"
)

// process is an `usher serve` running as its own OS process.
type process struct {
	base string
	cmd  *exec.Cmd
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), "\x1f"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	ready := make(chan string, 1)
	var log bytes.Buffer
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		addr := regexp.MustCompile(`usher is ready" addr=(\S+)`)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := addr.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
	}()
	select {
	case addr := <-ready:
		return &process{base: "http://" + addr, cmd: cmd}
	case <-time.After(60 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("usher serve process did not start:\n%s", log.String())
	}
	return nil
}

func post(t *testing.T, url, cookie string, body any) (int, []byte, []*http.Cookie) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "usher_session", Value: cookie})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(res.Body)
	return res.StatusCode, out.Bytes(), res.Cookies()
}

func getJSON(t *testing.T, url, cookie string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.AddCookie(&http.Cookie{Name: "usher_session", Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestLockoutRaceAcrossTwoProcesses: 200 parallel wrong passwords spread over two usher serve
// processes on one PostgreSQL check at most 5 hashes, lock the account exactly once, let nobody
// in, and both processes refuse the right password until an administrator unlocks it.
func TestLockoutRaceAcrossTwoProcesses(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		storetest.Dialects(t) // fails under CI=true
		t.Skip("needs PostgreSQL: set " + storetest.EnvPostgres + " (make test does)")
	}
	dbURL := storetest.NewPostgresDatabase(t)
	const adminPW = "a long enough secret"
	// the rate limits off: this is about what lies behind them
	noLimits := []string{"--signin-rate-address", "0", "--signin-rate-login", "0"}
	a := startProcess(t, append(noLimits, "--database-url", dbURL, "--data-dir", t.TempDir(), "--admin-email", "admin@example.org", "--admin-password", adminPW)...)
	b := startProcess(t, append(noLimits, "--database-url", dbURL, "--data-dir", t.TempDir())...)

	status, body, cookies := post(t, a.base+"/api/v1/auth/login", "", map[string]string{"login": "admin@example.org", "password": adminPW})
	if status != http.StatusOK || len(cookies) == 0 {
		t.Fatalf("admin login: %d %s", status, body)
	}
	admin := cookies[0].Value
	status, body, _ = post(t, a.base+"/api/v1/users", admin, map[string]string{"email": "ada@example.org", "username": "ada",
		"first_name": "Ada", "last_name": "Lovelace", "password": "the right password"})
	if status != http.StatusCreated {
		t.Fatalf("create user: %d %s", status, body)
	}
	var ada struct{ ID string }
	json.Unmarshal(body, &ada)

	var wg sync.WaitGroup
	codes := make([]int, 200)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := a.base
			if i%2 == 1 {
				base = b.base
			}
			codes[i], _, _ = post(t, base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "a wrong password"})
		}()
	}
	wg.Wait()
	answered := 0 // the attempts the server took; the rest it shed with 429 before counting them
	for i, c := range codes {
		switch c {
		case http.StatusUnauthorized, http.StatusForbidden:
			answered++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("attempt %d answered %d", i, c)
		}
	}
	var failures struct {
		Events []struct {
			Details map[string]any `json:"details"`
		} `json:"events"`
	}
	getJSON(t, b.base+"/api/v1/audit?action=auth.login&outcome=failure&limit=500&target="+ada.ID, admin, &failures)
	checked := 0
	reasons := map[string]int{}
	for _, e := range failures.Events {
		r, _ := e.Details["reason"].(string)
		reasons[r]++
		if r, _ := e.Details["reason"].(string); strings.HasPrefix(r, "wrong password") {
			checked++
		}
	}
	if checked > 5 || len(failures.Events) != answered {
		t.Fatalf("%d of %d failed attempts (%d answered) checked the password; at most 5 may (%v)", checked, len(failures.Events), answered, reasons)
	}
	var locks struct{ Events []any }
	getJSON(t, a.base+"/api/v1/audit?action=user.lock&target="+ada.ID, admin, &locks)
	if len(locks.Events) != 1 {
		t.Fatalf("%d lock events, want 1", len(locks.Events))
	}
	for _, p := range []*process{a, b} {
		if status, body, _ := post(t, p.base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "the right password"}); status != http.StatusForbidden {
			t.Fatalf("right password while locked: %d %s", status, body)
		}
	}
	if status, body, _ := post(t, b.base+"/api/v1/users/"+ada.ID+"/unlock", admin, nil); status != http.StatusOK {
		t.Fatalf("unlock: %d %s", status, body)
	}
	if status, body, _ := post(t, a.base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "the right password"}); status != http.StatusOK {
		t.Fatalf("after unlock: %d %s", status, body)
	}
}

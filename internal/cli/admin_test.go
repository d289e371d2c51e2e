package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func login(t *testing.T, base, login, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	res, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestAdminUnlockRecoversALockedOutDefaultAdministrator: failed sign-ins lock the Default
// Administrator; `usher admin unlock` gives the account back.
func TestAdminUnlockRecoversALockedOutDefaultAdministrator(t *testing.T) {
	dir := t.TempDir()
	env := []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}
	addr, _, stop := serve(t, env, "--data-dir", dir)
	base := "http://" + addr
	for range 5 {
		login(t, base, "admin@example.org", "not the password")
	}
	if code := login(t, base, "admin@example.org", "a long enough secret"); code != http.StatusForbidden {
		t.Fatalf("the Default Administrator is not locked out: %d", code)
	}
	stop()
	code, stdout, stderr := run(t, nil, "admin", "unlock", "ADMIN@example.org", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "unlocked") {
		t.Fatalf("admin unlock: exit %d\n%s%s", code, stdout, stderr)
	}
	addr, _, _ = serve(t, nil, "--data-dir", dir)
	if code := login(t, "http://"+addr, "admin@example.org", "a long enough secret"); code != http.StatusOK {
		t.Fatalf("after unlock: %d", code)
	}
}

func TestAdminSetupLink(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, nil, "admin", "setup-link", "--data-dir", dir, "--public-url", "https://usher.example.com")
	if code != 0 || !strings.HasPrefix(stdout, "https://usher.example.com/setup?token=setup_") {
		t.Fatalf("setup-link: exit %d\n%s%s", code, stdout, stderr)
	}
	_, _, stop := serve(t, []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}, "--data-dir", dir)
	stop()
	code, _, stderr = run(t, nil, "admin", "setup-link", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "exists already") {
		t.Fatalf("setup-link with an administrator: exit %d: %s", code, stderr)
	}
}

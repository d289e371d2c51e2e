package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustKey(t *testing.T) Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustBox(t *testing.T, current Key, older ...Key) *Box {
	t.Helper()
	b, err := NewBox(current, older...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k := mustKey(t)
	b := mustBox(t, k)
	for _, plain := range [][]byte{nil, []byte("x"), []byte("a bind password with ünïcode"), bytes.Repeat([]byte{0, 1, 2}, 10000)} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if want := "v1:" + k.ID + ":"; !strings.HasPrefix(sealed, want) {
			t.Fatalf("sealed value %q does not start with %q", sealed[:20], want)
		}
		if len(plain) > 8 && strings.Contains(sealed, string(plain)) {
			t.Fatal("the plaintext is visible in the sealed value")
		}
		got, err := b.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
	// a fresh nonce every time
	a, _ := b.Seal([]byte("same"))
	c, _ := b.Seal([]byte("same"))
	if a == c {
		t.Fatal("sealing the same value twice gave the same result")
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	k := mustKey(t)
	b := mustBox(t, k)
	sealed, _ := b.Seal([]byte("secret"))
	other := mustBox(t, mustKey(t))
	otherSealed, _ := other.Seal([]byte("secret"))
	// the same key bytes under a forged id
	_, data, _ := strings.Cut(strings.TrimPrefix(sealed, "v1:"), ":")
	raw, _ := base64.RawStdEncoding.DecodeString(data)
	raw[len(raw)-1] ^= 1
	for name, tc := range map[string]struct {
		value string
		want  string
	}{
		"unknown key":  {otherSealed, "unknown key"},
		"not sealed":   {"hunter2", "not a sealed value"},
		"old version":  {strings.Replace(sealed, "v1:", "v0:", 1), "not a sealed value"},
		"flipped bit":  {"v1:" + k.ID + ":" + base64.RawStdEncoding.EncodeToString(raw), "damaged"},
		"bad base64":   {"v1:" + k.ID + ":!!!", "damaged"},
		"too short":    {"v1:" + k.ID + ":AAAA", "damaged"},
		"relabelled":   {strings.Replace(otherSealed, other.KeyID(), k.ID, 1), "damaged"},
		"empty":        {"", "not a sealed value"},
		"missing data": {"v1:" + k.ID, "not a sealed value"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.Open(tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%q) = %v; want an error saying %q", tc.value, err, tc.want)
			}
		})
	}
	_, err := b.Open(otherSealed)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), other.KeyID()) {
		t.Fatalf("unknown key error %v does not wrap ErrUnknownKey and name the key id", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := mustKey(t), mustKey(t)
	oldSealed, _ := mustBox(t, oldKey).Seal([]byte("before"))
	rotated := mustBox(t, newKey, oldKey)
	if got, err := rotated.Open(oldSealed); err != nil || string(got) != "before" {
		t.Fatalf("a value sealed with the old key: %q, %v", got, err)
	}
	s, _ := rotated.Seal([]byte("after"))
	if !strings.HasPrefix(s, "v1:"+newKey.ID+":") {
		t.Fatalf("the rotated box seals with %q, want the new key %s", s[:12], newKey.ID)
	}
	if _, err := mustBox(t, oldKey).Open(s); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("the old box opened a value of the new key: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	k := mustKey(t)
	raw, _ := base64.StdEncoding.DecodeString(k.String())
	for _, s := range []string{k.String(), base64.RawStdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw), " " + k.String() + "\n"} {
		got, err := ParseKey(s)
		if err != nil || got.ID != k.ID {
			t.Errorf("ParseKey(%q) = %v, %v; want key %s", s, got.ID, err, k.ID)
		}
	}
	for _, s := range []string{"", "not base64 at all!", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := ParseKey(s); err == nil || !strings.Contains(err.Error(), "32 random bytes") {
			t.Errorf("ParseKey(%q) = %v; want an error explaining the format", s, err)
		}
	}
	// the id is derived from the key: the same everywhere, different for different keys
	again, _ := ParseKey(k.String())
	if again.ID != k.ID || mustKey(t).ID == k.ID {
		t.Fatal("key ids are not derived from the key")
	}
}

func TestLoadGeneratesKeyFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	b, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	sealed, _ := b.Seal([]byte("kept"))
	// the next start reads the same key
	b2, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(sealed); err != nil || string(got) != "kept" {
		t.Fatalf("after a restart: %q, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the data directory holds %v, want only the key file", entries)
	}
}

func TestLoadConcurrentFirstStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Go(func() {
			b, err := Load("", dir)
			errs[i] = err
			if err == nil {
				ids[i] = b.KeyID()
			}
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("start %d: key %q, %v; want every start to share key %q", i, ids[i], errs[i], ids[0])
		}
	}
}

func TestLoadRefusesReadableKeyFile(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		dir := t.TempDir()
		if _, err := Load("", dir); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, KeyFileName)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Load("", dir)
		if err == nil || !strings.Contains(err.Error(), "can be read by other users") || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("mode %04o: %v; want a refusal that says how to fix it", mode, err)
		}
		// also when a key is configured: the file is still a leak
		if _, err := Load(mustKey(t).String(), dir); err == nil {
			t.Fatalf("mode %04o with a configured key: accepted", mode)
		}
	}
}

func TestLoadConfiguredKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	generated, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := generated.Seal([]byte("sealed with the generated key"))
	k := mustKey(t)
	b, err := Load(k.String(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.KeyID() != k.ID {
		t.Fatalf("seals with %s, want the configured key %s", b.KeyID(), k.ID)
	}
	if got, err := b.Open(old); err != nil || string(got) != "sealed with the generated key" {
		t.Fatalf("a value sealed before the key was configured: %q, %v", got, err)
	}
	// no key file is made when a key is configured
	empty := t.TempDir()
	if _, err := Load(k.String(), empty); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(empty, KeyFileName)); err == nil {
		t.Fatal("a key file was generated although a key is configured")
	}
	if _, err := Load("too short", empty); err == nil || !strings.Contains(err.Error(), "secret-key") {
		t.Fatalf("a bad configured key: %v", err)
	}
}

func TestLoadDamagedKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, KeyFileName), []byte("half a ke"), 0o600)
	if _, err := Load("", dir); err == nil || !strings.Contains(err.Error(), KeyFileName) {
		t.Fatalf("damaged key file: %v", err)
	}
}

// TestDeriveKey: a derived key depends on the current key and the purpose only, so replicas with
// the same secret key agree, and it is neither the secret key nor another purpose's key.
func TestDeriveKey(t *testing.T) {
	t.Parallel()
	k1, k2 := mustKey(t), mustKey(t)
	a := mustBox(t, k1).DeriveKey("page cursors")
	if len(a) != KeySize {
		t.Fatalf("derived key of %d bytes, want %d", len(a), KeySize)
	}
	if !bytes.Equal(a, mustBox(t, k1, k2).DeriveKey("page cursors")) {
		t.Error("two boxes with the same current key derive different keys")
	}
	for name, other := range map[string][]byte{
		"another purpose":     mustBox(t, k1).DeriveKey("something else"),
		"another current key": mustBox(t, k2, k1).DeriveKey("page cursors"),
		"the secret key":      k1.bytes,
	} {
		if bytes.Equal(a, other) {
			t.Errorf("the derived key equals %s", name)
		}
	}
}

package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/errs"
)

var cheap = HashParams{Memory: 64, Time: 1, Threads: 1}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	p := NewPasswords(cheap, DefaultPolicy)
	h, err := p.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not carry its parameters", h)
	}
	h2, _ := p.Hash(ctx, "correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		name, hash, password string
		ok, rehash           bool
	}{
		{"right", h, "correct horse battery staple", true, false},
		{"wrong", h, "correct horse battery stapler", false, false},
		{"empty hash", "", "correct horse battery staple", false, false},
		{"garbage hash", "$argon2id$nonsense", "x", false, false},
		{"too long", h, strings.Repeat("x", 257), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := p.Verify(ctx, tc.hash, tc.password)
			if err != nil || ok != tc.ok || rehash != tc.rehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, %v", ok, rehash, err, tc.ok, tc.rehash)
			}
		})
	}
	// stronger parameters: the old hash still verifies and asks to be replaced
	stronger := NewPasswords(HashParams{Memory: 128, Time: 2, Threads: 1}, DefaultPolicy)
	ok, rehash, err := stronger.Verify(ctx, h, "correct horse battery staple")
	if !ok || !rehash || err != nil {
		t.Fatalf("after raising the parameters: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
}

func TestDefaultParametersMeetTheMinimum(t *testing.T) {
	if DefaultHashParams.Memory < 19*1024 || DefaultHashParams.Time < 2 || DefaultHashParams.Threads < 1 {
		t.Fatalf("default argon2id parameters %+v are below m=19MiB, t=2, p=1", DefaultHashParams)
	}
}

func TestPolicy(t *testing.T) {
	p := NewPasswords(cheap, Policy{MinLength: 12, MaxLength: 64})
	for _, tc := range []struct{ password, code string }{
		{"short", "password.too_short"},
		{"ünïcödé-12ch", ""}, // 12 characters, more bytes
		{"ab" + strings.Repeat("c", 62), ""},
		{strings.Repeat("a", 65), "password.too_long"},
		{strings.Repeat(" ", 20), "password.blank"},
		{"PasswordPassword", "password.common"},
		{"qwertyuiop123456", "password.common"},
		{"baseball2024!", "password.common"},
		{"zzzzzzzzzzzzzz", "password.common"},
		{"unrelated sentence here", ""},
	} {
		t.Run(tc.password, func(t *testing.T) {
			_, err := p.Hash(context.Background(), tc.password)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Code != tc.code || e.Fields[0].Field != "password" {
				t.Fatalf("error %v, want %s on field password", err, tc.code)
			}
		})
	}
}

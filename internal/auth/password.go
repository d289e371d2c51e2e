// Package auth signs people and programs in: passwords (argon2id), sessions, API tokens, and
// the first start's Default Administrator setup. It turns a request's credentials into the
// user.Actor that every service checks.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/usherhq/usher/internal/errs"
)

// HashParams are argon2id's cost parameters. They are written into every hash, so raising them
// takes effect for each user at their next sign-in.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultHashParams are OWASP's argon2id minimum: 19 MiB, two passes, one lane.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// Policy is what a new password must satisfy. There are no composition rules: length is what counts.
type Policy struct {
	MinLength int // in characters
	MaxLength int // in bytes; longer passwords are refused before hashing
}

// DefaultPolicy is the password policy when none is configured.
var DefaultPolicy = Policy{MinLength: 12, MaxLength: 256}

// Passwords hashes and verifies passwords with a bound on how many hashes run at once, so a
// flood of sign-ins queues (fairly, and only so far) instead of exhausting memory.
type Passwords struct {
	params HashParams
	policy Policy
	queue  *hashQueue
	// dummy is a hash to verify against when there is no user, so both cases take as long. It is
	// made on first use: an idle server need not hold argon2's memory.
	dummy     string
	dummyOnce sync.Once
	checked   atomic.Int64 // real (non-dummy) hashes verified, for metrics and the lockout tests
}

// NewPasswords returns a hasher with the given parameters and policy.
func NewPasswords(params HashParams, policy Policy) *Passwords {
	n := max(2, runtime.GOMAXPROCS(0))
	return &Passwords{params: params, policy: policy, queue: newHashQueue(n, QueuePerClient, QueueTotal)}
}

// Check applies the policy to a new password.
func (p *Passwords) Check(password string) error {
	switch {
	case len(password) > p.policy.MaxLength:
		return errs.Field("password", "password.too_long", fmt.Sprintf("The password must be at most %d bytes.", p.policy.MaxLength))
	case utf8.RuneCountInString(password) < p.policy.MinLength:
		return errs.Field("password", "password.too_short", fmt.Sprintf("The password must be at least %d characters.", p.policy.MinLength))
	case strings.TrimSpace(password) == "":
		return errs.Field("password", "password.blank", "The password must not be only spaces.")
	case isCommon(password):
		return errs.Field("password", "password.common", "This password is too common: it is on lists of breached passwords that attackers try first. Choose another.")
	}
	return nil
}

// Hash checks a new password against the policy and returns its argon2id hash.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if err := p.Check(password); err != nil {
		return "", err
	}
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	return p.hash(password), nil
}

// QueuePerClient and QueueTotal bound the hashes waiting for a slot, for one client and for all:
// waiting costs a request's memory, so beyond them a request is shed with a 429 at once.
const (
	QueuePerClient = 64
	QueueTotal     = 512
)

func (p *Passwords) acquire(ctx context.Context) error { return p.queue.acquire(ctx, clientOf(ctx)) }

func (p *Passwords) release() { p.queue.release() }

func (p *Passwords) hash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.params.Time, p.params.Memory, p.params.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.params.Memory, p.params.Time,
		p.params.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Verify reports whether password matches hash, and whether the hash should be replaced because
// its parameters are not the current ones. An empty hash (no password) never matches but costs
// the same time as one that does not.
func (p *Passwords) Verify(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	if err := p.acquire(ctx); err != nil {
		return false, false, err
	}
	defer p.release()
	ok, rehash = p.verifyHeld(hash, password)
	return ok, rehash, nil
}

// hold waits for a hashing slot for the sign-in paths that must count an attempt only once it
// is sure to be checked; the caller calls verifyHeld, then release.
func (p *Passwords) hold(ctx context.Context) (release func(), err error) {
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	return p.release, nil
}

// verifyHeld is Verify for a caller that holds a slot.
func (p *Passwords) verifyHeld(hash, password string) (ok, rehash bool) {
	if len(password) > p.policy.MaxLength {
		return false, false
	}
	if hash == "" {
		p.dummyOnce.Do(func() { p.dummy = p.hash("usher dummy password, never a real one") })
		verify(p.dummy, password)
		return false, false
	}
	p.checked.Add(1)
	ok, params := verify(hash, password)
	return ok, ok && params != p.params
}

func verify(hash, password string) (bool, HashParams) {
	var params HashParams
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, params
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &params.Memory, &params.Time, &threads); err != nil {
		return false, params
	}
	params.Threads = uint8(threads)
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, params
	}
	got := argon2.IDKey([]byte(password), salt, params.Time, params.Memory, params.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, params
}

// Checked is how many stored password hashes were verified since start.
func (p *Passwords) Checked() int64 { return p.checked.Load() }

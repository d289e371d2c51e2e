package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// Limit is a rate: Count events per Per, all of which may come at once. A zero Count means no limit.
type Limit struct {
	Count int
	Per   time.Duration
}

// Limits are the rates at which anonymous requests are taken, per client address and per
// login. The defaults are far above what a person does, and far below what a script does.
type Limits struct {
	SignInPerAddress Limit // sign-in attempts from one address (an IPv6 /64)
	SignInPerLogin   Limit // sign-in attempts for one login, from anywhere
	ResetPerAddress  Limit // password reset requests from one address
	// ResetInterval is the least time between two reset emails to one account on anonymous
	// requests; requests in between are answered as usual and send nothing.
	ResetInterval time.Duration
}

// DefaultLimits are the limits when none are configured.
var DefaultLimits = Limits{
	SignInPerAddress: Limit{Count: 120, Per: time.Minute},
	SignInPerLogin:   Limit{Count: 10, Per: time.Minute},
	ResetPerAddress:  Limit{Count: 10, Per: time.Minute},
	ResetInterval:    time.Minute,
}

// maxBuckets bounds the memory of one limiter; beyond it, the buckets of the older generation
// are forgotten (which only ever gives a client back its full budget).
const maxBuckets = 1 << 16

// limiter keeps one token bucket per key in two generations: a bucket unused for a generation
// is full again anyway, so dropping it loses nothing, and memory stays bounded however many keys
// a flood makes up.
type limiter struct {
	limit     rate.Limit
	burst     int
	refill    time.Duration // how long an empty bucket takes to fill: a generation's length
	mu        sync.Mutex
	cur, prev map[string]*rate.Limiter
	rotated   time.Time
}

func newLimiter(l Limit) *limiter {
	if l.Count <= 0 || l.Per <= 0 {
		return nil
	}
	return &limiter{limit: rate.Limit(float64(l.Count) / l.Per.Seconds()), burst: l.Count, refill: l.Per,
		cur: map[string]*rate.Limiter{}, prev: map[string]*rate.Limiter{}}
}

// take spends one token of key's bucket; when there is none it says how long until there is.
func (l *limiter) take(key string, now time.Time) (wait time.Duration, ok bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.rotated) > l.refill || len(l.cur) >= maxBuckets {
		l.prev, l.cur, l.rotated = l.cur, make(map[string]*rate.Limiter, len(l.cur)/2), now
	}
	b := l.cur[key]
	if b == nil {
		if b = l.prev[key]; b == nil {
			b = rate.NewLimiter(l.limit, l.burst)
		}
		l.cur[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// addressKey is the bucket of a client address: the address itself for IPv4, its /64 for IPv6,
// where one machine usually holds the whole /64.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// loginKey is the form of a login that rate limits and failure counts go by: lower case, as the
// store matches logins. A login no account can have (too long, not text) is counted under its
// digest, so that no key is larger than an email address or unstorable.
func loginKey(login string) string {
	k := strings.ToLower(login)
	if len(k) > 320 || !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
		return "#" + digest(k)
	}
	return k
}

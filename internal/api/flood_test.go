package api_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestFLOODSignIn: 1,000 concurrent sign-ins for made-up logins from 127.0.0.2 do not delay a
// valid sign-in from 127.0.0.1 past a second (with the real argon2id cost); every request the
// server sheds is a 429 with Retry-After, none is a 5xx; memory stays bounded.
func TestFLOODSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		from := func(ip string) *http.Client {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
			return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext,
				MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 0}}
		}
		flood, person := from("127.0.0.2"), from("127.0.0.1")
		signIn := func(c *http.Client, login, password string) (*http.Response, time.Duration, error) {
			body := fmt.Sprintf(`{"login":%q,"password":%q}`, login, password)
			start := time.Now()
			res, err := c.Post(e.srv.URL+"/api/v1/auth/login", "application/json", bytes.NewBufferString(body))
			if err == nil {
				res.Body.Close()
			}
			return res, time.Since(start), err
		}
		// the time of one sign-in on this machine, alone: the median of three
		var times []time.Duration
		for range 3 {
			res, d, err := signIn(person, "viewer", testPassword)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("sign-in alone: %v %v", res, err)
			}
			times = append(times, d)
		}
		slices.Sort(times)
		alone := times[1]

		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		peak := before.HeapInuse
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapInuse)
				}
			}
		})

		statuses := make(map[int]int)
		var checked []time.Duration // when each attempt that reached a password check was answered
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		var t0 time.Time
		for i := range 1000 {
			wg.Go(func() {
				<-start
				res, _, err := signIn(flood, fmt.Sprintf("made-up-%d@example.org", i), "a guess")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					statuses[-1]++
					return
				}
				statuses[res.StatusCode]++
				switch res.StatusCode {
				case http.StatusUnauthorized:
					checked = append(checked, time.Since(t0))
				case http.StatusTooManyRequests:
					if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Errorf("429 with Retry-After %q", res.Header.Get("Retry-After"))
					}
				}
			})
		}
		t0 = time.Now()
		close(start)
		time.Sleep(100 * time.Millisecond) // the flood is in
		res, during, err := signIn(person, "viewer", testPassword)
		done := time.Since(t0)
		wg.Wait()
		close(stop)
		sampler.Wait()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("valid sign-in during the flood: %v %v", res, err)
		}
		slices.Sort(checked)
		t.Logf("valid sign-in: %v alone, %v during the flood; flood answers %v, the last checked one at %v; heap in use peaked %d MiB above the start",
			alone, during, statuses, checked[len(checked)-1], (int64(peak)-int64(before.HeapInuse))>>20)
		for code, n := range statuses {
			if code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
				t.Errorf("%d flood requests answered %d", n, code)
			}
		}
		if statuses[http.StatusTooManyRequests] == 0 {
			t.Error("nothing was shed")
		}
		// Under one second on a quiet machine (bench/README.md records it). A test shares its
		// machine and may run under the race detector, so here the bar is one that load does not
		// move: the person's sign-in, which joined the hash queue after the flood had filled it,
		// is answered before most of the flood's checked attempts. A first-come queue would
		// answer it after all of them.
		if median := checked[len(checked)/2]; done > median {
			t.Errorf("the valid sign-in was answered at %v, after half the flood's checked attempts (%v)", done, median)
		}
		if grown := int64(peak) - int64(before.HeapInuse); grown > 256<<20 {
			t.Errorf("heap in use grew by %d MiB under the flood", grown>>20)
		}
	})
}

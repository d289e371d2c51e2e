package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

// runLogin measures P-LOGIN: password sign-ins per second through the HTTP API of usher serve,
// running in a process of its own, against the raw argon2id hash rate measured in the same run,
// and the server's memory under 500 concurrent attempts (hashing is bounded, so it must stay
// flat).
func runLogin(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	clients := fs.Int("clients", 500, "concurrent sign-in attempts")
	duration := fs.Duration("duration", 10*time.Second, "how long to measure each part")
	flood := fs.Int("flood", 1000, "concurrent made-up sign-ins of the flood part (0: skip it)")
	bin := fs.String("usher", "", "the usher binary to run (default: build one at "+defaultBinary+")")
	users := fs.Int("users", 0, "users to sign in as, with correct passwords (default clients/4: fewer than the lockout threshold of attempts per account at once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *users <= 0 {
		*users = max(1, *clients/4)
	}
	if *bin == "" {
		*bin = defaultBinary
		if err := buildUsher(ctx, *bin); err != nil {
			return err
		}
	}
	p := auth.DefaultHashParams
	fmt.Printf("login: %s, argon2id m=%d KiB t=%d p=%d, GOMAXPROCS %d, %d clients, %s per part; usher serve in its own process\n\n",
		db.name(), p.Memory, p.Time, p.Threads, runtime.GOMAXPROCS(0), *clients, *duration)

	const password = "benchmark passphrase 2026"
	logins, err := loginUsers(ctx, db, "login-bench", *users, password)
	if err != nil {
		return err
	}
	// The raw rate drifts on a shared machine by more than the margin measured, so it is measured
	// before and after the sign-ins, half as long each time, and the two are averaged.
	rawBefore := rawHashRate(ctx, *duration/2)

	// The clients come from 250 loopback addresses, as many people would, and the rate limits
	// are off: this part measures how many sign-ins the server can do, not what it refuses.
	server, err := startUsher(ctx, *bin, db, "USHER_SIGNIN_RATE_ADDRESS=0", "USHER_SIGNIN_RATE_LOGIN=0")
	if err != nil {
		return err
	}
	defer server.stop()
	url := server.base + "/api/v1/auth/login"
	client := fromAddresses(*clients, 250)

	var ok, failed atomic.Int64
	var statusMu sync.Mutex
	statuses := map[int]int{}
	all := samples{}
	var mu sync.Mutex
	peak, _, _ := memory(server.pid)
	mctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := samples{}
			body, _ := json.Marshal(map[string]string{"login": logins[c%len(logins)], "password": password})
			for mctx.Err() == nil {
				t0 := time.Now()
				res, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					if mctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
					local.add("POST /api/v1/auth/login", time.Since(t0))
				} else {
					failed.Add(1)
					statusMu.Lock()
					statuses[res.StatusCode]++
					statusMu.Unlock()
				}
			}
			mu.Lock()
			all.merge(local)
			mu.Unlock()
		}()
	}
	stopWatch := watchRSS(server.pid, &peak)
	wg.Wait()
	stopWatch()
	elapsed := time.Since(start)
	server.stop()
	rawAfter := rawHashRate(ctx, *duration/2)
	raw := (rawBefore + rawAfter) / 2
	fmt.Printf("raw argon2id on %d goroutines: %.1f hashes/s before the sign-ins, %.1f after\n",
		runtime.GOMAXPROCS(0), rawBefore, rawAfter)
	rate := float64(ok.Load()) / elapsed.Seconds()
	fmt.Println()
	all.table(os.Stdout, []string{"POST /api/v1/auth/login"}, 0)
	fmt.Printf("\n%d sign-ins (%d failed %v) in %s: %.1f sign-ins/s = %.0f%% of the raw hash rate (target ≥ 90%%)\n",
		ok.Load(), failed.Load(), statuses, elapsed.Round(time.Millisecond), rate, 100*rate/raw)
	fmt.Printf("the server's peak RSS with %d concurrent attempts: %.1f MiB (unbounded hashing would need %d × %d MiB)\n",
		*clients, mib(peak), *clients, p.Memory/1024)
	return loginFlood(ctx, *bin, db, *flood)
}

// loginUsers creates n users named prefix-i-… with password through the domain, on the database
// closed again before the server opens it, and returns their usernames.
func loginUsers(ctx context.Context, db dbFlags, prefix string, n int, password string) ([]string, error) {
	st, _, err := db.open(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	users, err := userService(st)
	if err != nil {
		return nil, err
	}
	var logins []string
	for i := range n {
		name := fmt.Sprintf("%s-%d-%s", prefix, i, rand.Text()[:6])
		pw := password
		_, err := users.CreateUser(ctx, user.System("bench"), user.CreateInput{Profile: user.Profile{
			Email: ptr(name + "@bench.example"), Username: &name, FirstName: ptr("Login"), LastName: ptr("Bench")}, Password: &pw})
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		logins = append(logins, name)
	}
	return logins, nil
}

// fromAddresses is an HTTP client for n concurrent requests whose connections come from
// 127.0.0.1 … 127.0.0.addrs in turn.
func fromAddresses(n, addrs int) *http.Client {
	var next atomic.Int64
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		i := next.Add(1) % int64(addrs)
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
}

// loginFlood measures what FLOOD promises, with the default limits: n concurrent sign-ins for
// made-up logins from 127.0.0.2, and the time of a valid sign-in from 127.0.0.1 meanwhile.
func loginFlood(ctx context.Context, bin string, db dbFlags, n int) error {
	if n <= 0 {
		return nil
	}
	const password = "benchmark passphrase 2026"
	logins, err := loginUsers(ctx, db, "flood-bench", 1, password)
	if err != nil {
		return err
	}
	name := logins[0]
	server, err := startUsher(ctx, bin, db)
	if err != nil {
		return err
	}
	defer server.stop()
	url := server.base + "/api/v1/auth/login"
	post := func(c *http.Client, login, password string) (int, time.Duration) {
		body, _ := json.Marshal(map[string]string{"login": login, "password": password})
		t0 := time.Now()
		res, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return -1, time.Since(t0)
		}
		res.Body.Close()
		return res.StatusCode, time.Since(t0)
	}
	person := fromAddresses(1, 1)
	_, alone := post(person, name, password)
	floodClient := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n,
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	peak, _, _ := memory(server.pid)
	stopWatch := watchRSS(server.pid, &peak)
	begin := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-begin
			code, _ := post(floodClient, fmt.Sprintf("made-up-%d@bench.example", i), "a guess")
			mu.Lock()
			statuses[code]++
			mu.Unlock()
		})
	}
	close(begin)
	time.Sleep(100 * time.Millisecond)
	code, during := post(person, name, password)
	wg.Wait()
	stopWatch()
	fmt.Printf("\nflood: %d concurrent made-up sign-ins from 127.0.0.2 answered %v\n", n, statuses)
	fmt.Printf("valid sign-in from 127.0.0.1: %d in %v during the flood (%v alone; target < 1 s); peak RSS %.1f MiB\n",
		code, during.Round(time.Millisecond), alone.Round(time.Millisecond), mib(peak))
	return nil
}

// rawHashRate runs argon2id with usher's parameters on every core for d and returns hashes/s.
func rawHashRate(ctx context.Context, d time.Duration) float64 {
	p := auth.DefaultHashParams
	var n atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			salt := make([]byte, 16)
			for ctx.Err() == nil {
				rand.Read(salt)
				argon2.IDKey([]byte("benchmark passphrase 2026"), salt, p.Time, p.Memory, p.Threads, 32)
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// watchRSS samples the RSS of process pid every 50 ms into *peak until stopped.
func watchRSS(pid int, peak *int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if rss, _, _ := memory(pid); rss > *peak {
					*peak = rss
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
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

// runLogin measures P-LOGIN: password sign-ins per second through the real HTTP API against the
// raw argon2id hash rate measured in the same run, and the process's memory under 500
// concurrent attempts (hashing is bounded, so it must stay flat).
func runLogin(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	clients := fs.Int("clients", 500, "concurrent sign-in attempts")
	duration := fs.Duration("duration", 10*time.Second, "how long to measure each part")
	users := fs.Int("users", 0, "users to sign in as, with correct passwords (default clients/4: fewer than the lockout threshold of attempts per account at once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *users <= 0 {
		*users = max(1, *clients/4)
	}
	p := auth.DefaultHashParams
	fmt.Printf("login: %s, argon2id m=%d KiB t=%d p=%d, GOMAXPROCS %d, %d clients, %s per part\n\n",
		db.name(), p.Memory, p.Time, p.Threads, runtime.GOMAXPROCS(0), *clients, *duration)

	raw := rawHashRate(ctx, *duration)
	fmt.Printf("raw argon2id: %.1f hashes/s on %d goroutines\n", raw, runtime.GOMAXPROCS(0))

	a, server, stop, err := serve(ctx, db)
	if err != nil {
		return err
	}
	defer stop()

	const password = "benchmark passphrase 2026"
	var logins []string
	for i := range *users {
		name := fmt.Sprintf("login-bench-%d-%s", i, rand.Text()[:6])
		pw := password
		_, err := a.Users.CreateUser(ctx, user.System("bench"), user.CreateInput{Profile: user.Profile{
			Email: ptr(name + "@bench.example"), Username: &name, FirstName: ptr("Login"), LastName: ptr("Bench")}, Password: &pw})
		if err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		logins = append(logins, name)
	}
	url := server + "/api/v1/auth/login"
	transport := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	client := &http.Client{Transport: transport, Timeout: time.Minute}

	var ok, failed atomic.Int64
	var statusMu sync.Mutex
	statuses := map[int]int{}
	all := samples{}
	var mu sync.Mutex
	peak := peakRSS()
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
	stopWatch := watchRSS(&peak)
	wg.Wait()
	stopWatch()
	elapsed := time.Since(start)
	rate := float64(ok.Load()) / elapsed.Seconds()
	fmt.Println()
	all.table(os.Stdout, []string{"POST /api/v1/auth/login"}, 0)
	fmt.Printf("\n%d sign-ins (%d failed %v) in %s: %.1f sign-ins/s = %.0f%% of the raw hash rate (target ≥ 90%%)\n",
		ok.Load(), failed.Load(), statuses, elapsed.Round(time.Millisecond), rate, 100*rate/raw)
	fmt.Printf("peak RSS with %d concurrent attempts: %.1f MiB (unbounded hashing would need %d × %d MiB)\n",
		*clients, mib(peak), *clients, p.Memory/1024)
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

// peakRSS is this process's resident set now, in KiB.
func peakRSS() int {
	rss, _, _ := memory(os.Getpid())
	return rss
}

// watchRSS samples this process's RSS every 50 ms into *peak until stopped.
func watchRSS(peak *int) (stop func()) {
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
				if rss := peakRSS(); rss > *peak {
					*peak = rss
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

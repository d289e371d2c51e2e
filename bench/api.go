package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/user"
)

const (
	benchAdminEmail    = "bench-admin@example.com"
	benchAdminPassword = "bench-admin-password-2026"
)

// runAPI is P-API: the real server (app.New) on a loopback listener, or with -serve usher serve
// in its own process, and clients that fetch random users with an administrator's API token over
// keep-alive connections.
func runAPI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	clients := fs.Int("clients", 64, "concurrent clients, each with its own keep-alive connection")
	duration := fs.Duration("duration", 10*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 5*time.Second, "how long to run before measuring")
	ids := fs.Int("ids", 20000, "distinct random users to fetch")
	serveFlag := fs.Bool("serve", false, "start usher serve in its own process instead of serving from this one")
	bin := fs.String("usher", "", "with -serve, the usher binary to run (default: build one at "+defaultBinary+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var server, token, where string
	var userIDs []string
	if *serveFlag {
		st, _, err := db.open(ctx)
		if err != nil {
			return err
		}
		userIDs, err = randomUserIDs(ctx, db, st, *ids)
		st.Close()
		if err != nil {
			return err
		}
		p, err := startServer(ctx, db, *bin)
		if err != nil {
			return err
		}
		defer p.stop()
		if token, err = remoteToken(ctx, p.base); err != nil {
			return err
		}
		server, where = p.base, fmt.Sprintf("usher serve in its own process (pid %d)", p.pid)
	} else {
		a, base, stop, err := serve(ctx, db)
		if err != nil {
			return err
		}
		defer stop()
		if token, err = adminToken(ctx, a); err != nil {
			return err
		}
		if userIDs, err = randomUserIDs(ctx, db, a.Store, *ids); err != nil {
			return err
		}
		server, where = base, "server and clients share this process"
	}
	base := server + "/api/v1/users/"
	client := keepAlive(*clients)
	defer client.CloseIdleConnections()
	fmt.Printf("api: %s, GET /api/v1/users/{id} of %d random users, %d clients, %s (after %s warm-up), %s\n\n",
		db.name(), len(userIDs), *clients, *duration, *warmup, where)

	run := func(d time.Duration, seed uint64) (samples, int, error) {
		// Requests run to their end: a request cut off at the deadline would only add noise.
		deadline := time.Now().Add(d)
		var mu sync.Mutex
		all := samples{}
		var failures int
		var firstErr error
		var wg sync.WaitGroup
		for c := range *clients {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(c)))
				mine := samples{}
				bad := 0
				var lastErr error
				for time.Now().Before(deadline) && ctx.Err() == nil {
					start := time.Now()
					err := get(ctx, client, base+userIDs[rng.IntN(len(userIDs))], token)
					if err != nil {
						bad++
						lastErr = err
						continue
					}
					mine.add("GET /api/v1/users/{id}", time.Since(start))
				}
				mu.Lock()
				all.merge(mine)
				failures += bad
				if firstErr == nil {
					firstErr = lastErr
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if failures > 0 {
			return all, failures, fmt.Errorf("%d requests failed, for example: %w", failures, firstErr)
		}
		return all, 0, nil
	}
	if *warmup > 0 {
		if _, _, err := run(*warmup, 1000); err != nil {
			return err
		}
	}
	start := time.Now()
	res, _, err := run(*duration, 1)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	s := summarise("", res["GET /api/v1/users/{id}"])
	res.table(os.Stdout, []string{"GET /api/v1/users/{id}"}, 0)
	rate := float64(s.n) / elapsed.Seconds()
	verdict := "meets"
	if rate < 5000 {
		verdict = "misses"
	}
	fmt.Printf("\n%d requests in %s: %.0f req/s with %d clients (p99 %s); %s the P-API target of 5,000 req/s\n",
		s.n, elapsed.Round(time.Millisecond), rate, *clients, ms(s.p99), verdict)
	return nil
}

func get(ctx context.Context, c *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// adminToken makes (or, on a later run, reuses) an administrator and gives them a new API
// token the way a person would: sign in, then create a token from the session.
func adminToken(ctx context.Context, a *app.App) (string, error) {
	pw := benchAdminPassword
	_, err := a.Users.CreateUser(ctx, user.System("bench api"), user.CreateInput{
		Profile:  user.Profile{Email: ptr(benchAdminEmail), FirstName: ptr("Bench"), LastName: ptr("Administrator")},
		Password: &pw, RoleIDs: []string{user.AdministratorRole}})
	if err != nil && !errs.Is(errs.Conflict, err) {
		return "", fmt.Errorf("create the bench administrator: %w", err)
	}
	session, _, err := a.Auth.Login(ctx, benchAdminEmail, pw, auth.Client{IP: "127.0.0.1", UserAgent: "usher-bench"})
	if err != nil {
		return "", fmt.Errorf("sign in as %s: %w", benchAdminEmail, err)
	}
	actor, err := a.Auth.SessionActor(ctx, session)
	if err != nil {
		return "", err
	}
	_, secret, err := a.Auth.CreateToken(ctx, actor, auth.TokenInput{Name: "bench " + time.Now().UTC().Format(time.RFC3339)})
	return secret, err
}

// randomUserIDs draws n users at random from the whole table.
func randomUserIDs(ctx context.Context, db dbFlags, st *store.Store, n int) ([]string, error) {
	rows, err := st.DB().QueryContext(ctx, fmt.Sprintf("SELECT id FROM users ORDER BY random() LIMIT %d", n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("the " + db.name() + " database has no users: run bench gen first")
	}
	return out, nil
}

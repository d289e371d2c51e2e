package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// The kinds of console request, in the order of the results table.
var consoleKinds = []string{"first page", "search", "filtered page"}

// runConsole is the console's users page as an administrator's browser asks for it: the real
// server (app.New) on a loopback listener, a signed-in session cookie, and clients that load
// the first page, a search for a name prefix, and a page filtered by status, each rendered in
// full (counts, filters and the table) and read to the end.
func runConsole(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	clients := fs.Int("clients", 4, "concurrent clients, each with its own keep-alive connection")
	duration := fs.Duration("duration", 10*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 3*time.Second, "how long to run before measuring")
	seed := fs.Uint64("seed", 1, "seed of the prefixes searched")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, server, stop, err := serve(ctx, db)
	if err != nil {
		return err
	}
	defer stop()
	cookie, err := adminSession(ctx, a)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}}
	defer client.CloseIdleConnections()
	counts, err := a.Users.Counts(ctx, user.System("bench"))
	if err != nil {
		return err
	}
	fmt.Printf("console: %s, %d users, GET /users signed in (first page, a name-prefix search, a status filter), %d clients, %s (after %s warm-up), server and clients share this process\n\n",
		db.name(), counts.Total, *clients, *duration, *warmup)

	run := func(d time.Duration, seed uint64) (samples, error) {
		deadline := time.Now().Add(d)
		var mu sync.Mutex
		all := samples{}
		var firstErr error
		var wg sync.WaitGroup
		for c := range *clients {
			wg.Go(func() {
				q, err := newQuerier(seed+uint64(c), nil, 50)
				mine := samples{}
				for i := 0; err == nil && time.Now().Before(deadline) && ctx.Err() == nil; i++ {
					kind := consoleKinds[i%len(consoleKinds)]
					path := "/users"
					switch kind {
					case "search":
						path += "?q=" + url.QueryEscape(q.namePrefix())
					case "filtered page":
						path += "?status=" + string(q.status())
					}
					start := time.Now()
					err = getPage(ctx, client, server+path, cookie)
					mine.add(kind, time.Since(start))
				}
				mu.Lock()
				defer mu.Unlock()
				all.merge(mine)
				if err != nil && firstErr == nil && !errors.Is(err, context.Canceled) {
					firstErr = err
				}
			})
		}
		wg.Wait()
		return all, firstErr
	}
	if _, err := run(*warmup, *seed+1000); err != nil {
		return err
	}
	all, err := run(*duration, *seed)
	if err != nil {
		return err
	}
	all.table(os.Stdout, consoleKinds, 100*time.Millisecond)
	return nil
}

// adminSession makes (or, on a later run, reuses) an administrator and signs them in, giving the
// session cookie's value.
func adminSession(ctx context.Context, a *app.App) (*http.Cookie, error) {
	pw := benchAdminPassword
	_, err := a.Users.CreateUser(ctx, user.System("bench console"), user.CreateInput{
		Profile:  user.Profile{Email: ptr(benchAdminEmail), FirstName: ptr("Bench"), LastName: ptr("Administrator")},
		Password: &pw, RoleIDs: []string{user.AdministratorRole}})
	if err != nil && !errs.Is(errs.Conflict, err) {
		return nil, fmt.Errorf("create the bench administrator: %w", err)
	}
	session, _, err := a.Auth.Login(ctx, benchAdminEmail, pw, auth.Client{IP: "127.0.0.1", UserAgent: "usher-bench"})
	if err != nil {
		return nil, fmt.Errorf("sign in as %s: %w", benchAdminEmail, err)
	}
	return &http.Cookie{Name: auth.SessionCookieName(false), Value: session}, nil
}

// getPage loads a console page with the session cookie and reads it to the end.
func getPage(ctx context.Context, c *http.Client, url string, cookie *http.Cookie) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.AddCookie(cookie)
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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// lister lists one page of users as f asks, and returns the cursor of the next page ("" on the
// last): in this process through user.Service.ListUsers, or over HTTP from usher serve.
type lister func(ctx context.Context, f user.Filter) (next string, err error)

func serviceLister(svc *user.Service, actor user.Actor) lister {
	return func(ctx context.Context, f user.Filter) (string, error) {
		p, err := svc.ListUsers(ctx, actor, f)
		if err != nil {
			return "", err
		}
		return p.Next, nil
	}
}

// httpLister is GET /api/v1/users with an API token. The page is read to its end and decoded, as
// a client would; a problem answer comes back as an *errs.Error with its code.
func httpLister(client *http.Client, base, token string) lister {
	return func(ctx context.Context, f user.Filter) (string, error) {
		q := url.Values{}
		for k, v := range map[string]string{"q": f.Q, "status": string(f.Status), "sort": f.Sort, "cursor": f.Cursor} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if f.Limit > 0 {
			q.Set("limit", strconv.Itoa(f.Limit))
		}
		var page struct {
			Users      []json.RawMessage `json:"users"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := send(ctx, client, http.MethodGet, base+"/api/v1/users?"+q.Encode(), token, nil, &page); err != nil {
			return "", err
		}
		return page.NextCursor, nil
	}
}

// send sends a request with an optional JSON body and bearer token and decodes a 2xx answer into
// out. Any other answer is an *errs.Error with the problem's code and detail.
func send(ctx context.Context, client *http.Client, method, url, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var p struct{ Code, Detail string }
		json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&p)
		return errs.E(errs.Invalid, p.Code, fmt.Sprintf("%s %s: %s: %s", method, url, resp.Status, p.Detail))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// ensureAdmin makes the bench administrator through the domain, unless a run made them before.
func ensureAdmin(ctx context.Context, db dbFlags) error {
	st, _, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := userService(st)
	if err != nil {
		return err
	}
	pw := benchAdminPassword
	_, err = users.CreateUser(ctx, user.System("bench"), user.CreateInput{
		Profile:  user.Profile{Email: ptr(benchAdminEmail), FirstName: ptr("Bench"), LastName: ptr("Administrator")},
		Password: &pw, RoleIDs: []string{user.AdministratorRole}})
	if err != nil && !errs.Is(errs.Conflict, err) {
		return fmt.Errorf("create the bench administrator: %w", err)
	}
	return nil
}

// remoteToken signs in to the server at base as the bench administrator and makes an API token
// from the session, as a person would.
func remoteToken(ctx context.Context, base string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	login := map[string]string{"login": benchAdminEmail, "password": benchAdminPassword}
	if err := send(ctx, c, http.MethodPost, base+"/api/v1/auth/login", "", login, nil); err != nil {
		return "", fmt.Errorf("sign in as %s: %w", benchAdminEmail, err)
	}
	var t struct{ Token string }
	name := map[string]string{"name": "bench " + time.Now().UTC().Format(time.RFC3339Nano)}
	if err := send(ctx, c, http.MethodPost, base+"/api/v1/tokens", "", name, &t); err != nil {
		return "", err
	}
	return t.Token, nil
}

// startServer builds usher (unless bin names a binary), makes the bench administrator on db and
// starts usher serve on it in its own process.
func startServer(ctx context.Context, db dbFlags, bin string) (*usherProcess, error) {
	if bin == "" {
		bin = defaultBinary
		if err := buildUsher(ctx, bin); err != nil {
			return nil, err
		}
	}
	if err := ensureAdmin(ctx, db); err != nil {
		return nil, err
	}
	return startUsher(ctx, bin, db)
}

// keepAlive is an HTTP client for n concurrent clients, each keeping its connection.
func keepAlive(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}}
}

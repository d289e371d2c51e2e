package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/user"
)

// TestPopulation checks that gen's users are ones usher itself would accept, unique where the
// schema says so, in the promised mix, and the same for the same seed.
func TestPopulation(t *testing.T) {
	const n = 20000
	p, err := newPopulation(7, n)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := newPopulation(7, n)
	if len(p.firsts) < 300 || len(p.lasts) < 300 {
		t.Errorf("%d first and %d last names, want a few hundred of each", len(p.firsts), len(p.lasts))
	}
	seen := map[string]bool{}
	status := map[user.Status]int{}
	local, grouped := 0, 0
	var prevID string
	var prevCreated time.Time
	for i := 0; ; i++ {
		m := p.next()
		if m == nil {
			if i != n {
				t.Fatalf("generated %d users, want %d", i, n)
			}
			break
		}
		u := m.User
		if o := again.next(); o.ID != u.ID || o.Email != u.Email || o.Phone != u.Phone || len(o.groups) != len(m.groups) {
			t.Fatalf("user %d differs between two runs with the same seed: %+v and %+v", i, u, o)
		}
		if fe := user.ValidateEmail("email", u.Email); fe != nil {
			t.Errorf("email %q: %s", u.Email, fe.Message)
		}
		if fe := user.ValidateUsername("username", u.Username); fe != nil {
			t.Errorf("username %q: %s", u.Username, fe.Message)
		}
		for _, k := range []string{"u:" + strings.ToLower(u.Username), "e:" + strings.ToLower(u.Email), "i:" + u.ID, "x:" + string(u.Source) + u.ExternalID} {
			if seen[k] && k != "x:local" {
				t.Errorf("user %d repeats %s", i, k)
			}
			seen[k] = true
		}
		id, err := uuid.Parse(u.ID)
		if err != nil || id.Version() != 7 {
			t.Errorf("id %s is not a UUIDv7", u.ID)
		}
		if u.ID <= prevID || u.CreatedAt.Before(prevCreated) || u.CreatedAt.After(genEnd) || u.UpdatedAt.Before(u.CreatedAt) {
			t.Errorf("user %d: id or times out of order: %s %s after %s %s", i, u.ID, u.CreatedAt, prevID, prevCreated)
		}
		prevID, prevCreated = u.ID, u.CreatedAt
		if u.Status != user.Disabled && (u.Status == user.Invited) != (u.ActivatedAt == nil) {
			t.Errorf("user %d is %s with activated_at %v", i, u.Status, u.ActivatedAt)
		}
		if u.DefaultAdmin {
			t.Errorf("user %d is a Default Administrator", i)
		}
		status[u.Status]++
		if u.Source == user.Local {
			local++
		}
		if len(m.groups) > 0 {
			grouped++
		}
	}
	share := func(k int) float64 { return float64(k) / n }
	for st, want := range map[user.Status]float64{user.Active: 0.85, user.Invited: 0.08, user.Locked: 0.02, user.Disabled: 0.05} {
		if got := share(status[st]); got < want*0.85 || got > want*1.15 {
			t.Errorf("%.3f of users are %s, want about %.2f", got, st, want)
		}
	}
	if share(local) < 0.85 || share(grouped) < 0.5 || share(grouped) > 0.7 {
		t.Errorf("%.2f local and %.2f in groups, want mostly local and about 0.6 in groups", share(local), share(grouped))
	}
}

func TestASCII(t *testing.T) {
	for in, want := range map[string]string{"O'Brien": "obrien", "Sørensen": "sorensen", "de la Cruz": "delacruz",
		"Łukasz": "lukasz", "Ayşe": "ayse", "Zsófia": "zsofia", "Müller": "muller", "Dvořák": "dvorak"} {
		if got := ascii(in); got != want {
			t.Errorf("ascii(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 200; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 100 * time.Millisecond, 99: 198 * time.Millisecond, 100: 200 * time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

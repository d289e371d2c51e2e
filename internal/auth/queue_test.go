package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/errs"
)

// TestHashingIsBounded shows that a flood of hashes runs at most as many at once as there are
// slots, so memory stays bounded, and that every waiter within the bounds gets its turn.
func TestHashingIsBounded(t *testing.T) {
	p := NewPasswords(cheap, DefaultPolicy)
	slots := p.queue.free
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := withClient(context.Background(), fmt.Sprint("client", i%5))
			if err := p.acquire(ctx); err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			p.release()
		}()
	}
	wg.Wait()
	if peak.Load() > int64(slots) {
		t.Fatalf("%d hashes ran at once, the bound is %d", peak.Load(), slots)
	}
	if p.queue.free != slots || p.queue.waiting != 0 || len(p.queue.queues) != 0 || len(p.queue.turn) != 0 {
		t.Fatalf("queue not empty after the flood: %+v", p.queue)
	}
}

// TestHashQueueSheds: past the per-client bound a request is refused at once with a 429-kind
// error that says when to come back; past the total bound the client with the most waiting
// gives up its newest place to a newcomer, or the newcomer is refused; a request that ends
// while waiting leaves.
func TestHashQueueSheds(t *testing.T) {
	q := newHashQueue(1, 2, 3)
	bg := context.Background()
	if err := q.acquire(bg, "a"); err != nil { // holds the one slot
		t.Fatal(err)
	}
	results := make(chan string, 10)
	wait := func(client string) {
		go func() {
			if err := q.acquire(bg, client); err == nil {
				results <- client
			} else {
				results <- client + " shed"
			}
		}()
	}
	wait("a")
	waitFor(t, func() bool { return q.count() == 1 })
	wait("a")
	waitFor(t, func() bool { return q.count() == 2 })
	start := time.Now()
	err := q.acquire(bg, "a")
	if e, ok := errs.As(err); !ok || e.Kind != errs.TooMany || e.RetryAfter <= 0 {
		t.Fatalf("third waiter of one client: %v, want a TooMany error with RetryAfter", err)
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("a shed request waited")
	}
	wait("b")
	waitFor(t, func() bool { return q.count() == 3 })
	// full: c takes a's newest place
	wait("c")
	if got := <-results; got != "a shed" {
		t.Fatalf("a full queue let %q go, want a's newest waiter", got)
	}
	waitFor(t, func() bool { return q.count() == 3 })
	// full with one each: nobody has more to give, d is refused
	if err := q.acquire(bg, "d"); !errs.Is(errs.TooMany, err) {
		t.Fatalf("past the total bound with no client ahead: %v", err)
	}
	q.mu.Lock()
	q.total = 4
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if err := q.acquire(ctx, "e"); !errs.Is(errs.TooMany, err) {
		t.Fatalf("a waiter whose request ended: %v", err)
	}
	if q.count() != 3 {
		t.Fatalf("%d waiting after one gave up, want 3", q.count())
	}
	var served []string
	for range 3 {
		q.release()
		served = append(served, <-results)
	}
	if strings.Join(served, " ") != "a b c" {
		t.Fatalf("served %v, want a b c in turn", served)
	}
	q.release()
	if q.free != 1 || q.count() != 0 || len(q.queues) != 0 || len(q.turn) != 0 {
		t.Fatalf("free %d, waiting %d, queues %v, turn %v after all released", q.free, q.count(), q.queues, q.turn)
	}
}

// TestHashQueueIsFair: with one client's flood waiting, another client is served after at most
// one hash of the flood, not after all of it.
func TestHashQueueIsFair(t *testing.T) {
	q := newHashQueue(1, 100, 100)
	bg := context.Background()
	if err := q.acquire(bg, "flood"); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 20)
	for range 10 {
		go func() {
			if q.acquire(bg, "flood") == nil {
				order <- "flood"
			}
		}()
	}
	waitFor(t, func() bool { return q.count() == 10 })
	go func() {
		if q.acquire(bg, "person") == nil {
			order <- "person"
		}
	}()
	waitFor(t, func() bool { return q.count() == 11 })
	var got []string
	for range 11 {
		q.release()
		got = append(got, <-order)
	}
	if got[0] != "flood" || got[1] != "person" {
		t.Fatalf("served in the order %v: the person should come second", got)
	}
}

func (q *hashQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

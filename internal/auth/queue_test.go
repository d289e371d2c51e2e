package auth

import (
	"context"
	"fmt"
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

// TestHashQueueSheds: past the per-client or the total bound a request is refused at once with
// a 429-kind error that says when to come back, and a request that ends while waiting leaves.
func TestHashQueueSheds(t *testing.T) {
	q := newHashQueue(1, 2, 3)
	bg := context.Background()
	if err := q.acquire(bg, "a"); err != nil { // holds the one slot
		t.Fatal(err)
	}
	granted := make(chan string, 10)
	wait := func(client string) {
		go func() {
			if err := q.acquire(bg, client); err == nil {
				granted <- client
			}
		}()
	}
	wait("a")
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
	wait("b") // another client still gets in line
	waitFor(t, func() bool { return q.count() == 3 })
	if err := q.acquire(bg, "c"); !errs.Is(errs.TooMany, err) {
		t.Fatalf("past the total bound: %v", err)
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	q.mu.Lock()
	q.total = 4
	q.mu.Unlock()
	if err := q.acquire(ctx, "d"); !errs.Is(errs.TooMany, err) {
		t.Fatalf("a waiter whose request ended: %v", err)
	}
	if q.count() != 3 {
		t.Fatalf("%d waiting after one gave up, want 3", q.count())
	}
	for range 3 {
		q.release()
		<-granted
	}
	q.release()
	if q.free != 1 || q.count() != 0 {
		t.Fatalf("free %d, waiting %d after all released", q.free, q.count())
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

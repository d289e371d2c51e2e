package auth

import (
	"context"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/errs"
)

// hashQueue lets at most slots password hashes run at once. When more wait, it serves the
// waiting clients in turn, one hash each, so a flood from one address delays another client by
// at most one hash per other waiting client, not by the whole flood. It is bounded: past
// perClient waiting hashes for one client a request is shed at once; past total for all, the
// newest waiter of the client with the most waiting makes room, or the request is shed.
type hashQueue struct {
	perClient, total int

	mu      sync.Mutex
	free    int
	waiting int
	queues  map[string][]*waiter // per client, oldest first
	turn    []string             // clients with waiters, in the order they are served
}

type waiter struct {
	ready   chan struct{}
	granted bool // it holds a slot
	shed    bool // it was sent away to make room for a client with fewer waiting
}

func newHashQueue(slots, perClient, total int) *hashQueue {
	return &hashQueue{perClient: perClient, total: total, free: slots, queues: map[string][]*waiter{}}
}

var errBusy = errs.Later("auth.busy", "The server is handling too many sign-ins at once. Try again in a moment.", time.Second)

// acquire waits for a slot for client, in turn with the other waiting clients.
func (q *hashQueue) acquire(ctx context.Context, client string) error {
	if ctx.Err() != nil {
		return errBusy // the client is gone: start nothing for it
	}
	q.mu.Lock()
	if q.free > 0 && q.waiting == 0 {
		q.free--
		q.mu.Unlock()
		return nil
	}
	if len(q.queues[client]) >= q.perClient || q.waiting >= q.total && !q.makeRoom(client) {
		q.mu.Unlock()
		return errBusy
	}
	w := &waiter{ready: make(chan struct{})}
	if len(q.queues[client]) == 0 {
		q.turn = append(q.turn, client)
	}
	q.queues[client] = append(q.queues[client], w)
	q.waiting++
	q.mu.Unlock()

	select {
	case <-w.ready:
		if w.shed {
			return errBusy
		}
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	switch {
	case w.granted:
		q.mu.Unlock()
		q.release()
	case w.shed:
		q.mu.Unlock()
	default:
		q.remove(client, w)
		q.mu.Unlock()
	}
	return errBusy
}

// makeRoom sends away the newest waiter of the client with the most waiting, when that is more
// than client has, so that a full queue still takes a newcomer: a flood cannot hold all the
// places. It reports whether there is room now; q.mu is held.
func (q *hashQueue) makeRoom(client string) bool {
	longest, most := "", 0
	for c, ws := range q.queues {
		if len(ws) > most {
			longest, most = c, len(ws)
		}
	}
	if most <= len(q.queues[client])+1 {
		return false
	}
	w := q.queues[longest][most-1]
	q.remove(longest, w)
	w.shed = true
	close(w.ready)
	return true
}

// remove takes a waiter that gave up out of its client's queue; q.mu is held.
func (q *hashQueue) remove(client string, w *waiter) {
	ws := q.queues[client]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	q.waiting--
	if len(ws) > 0 {
		q.queues[client] = ws
		return
	}
	delete(q.queues, client)
	for i, c := range q.turn {
		if c == client {
			q.turn = append(q.turn[:i:i], q.turn[i+1:]...)
			break
		}
	}
}

// release hands the slot to the first waiter of the client whose turn it is, or frees it.
func (q *hashQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting == 0 {
		q.free++
		return
	}
	client := q.turn[0]
	q.turn = q.turn[1:]
	ws := q.queues[client]
	w := ws[0]
	if len(ws) > 1 {
		q.queues[client] = ws[1:]
		q.turn = append(q.turn, client)
	} else {
		delete(q.queues, client)
	}
	q.waiting--
	w.granted = true
	close(w.ready)
}

type queueKey struct{}

// withClient makes the hashes of this context wait in the queue of one client.
func withClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, queueKey{}, client)
}

func clientOf(ctx context.Context) string {
	c, _ := ctx.Value(queueKey{}).(string)
	return c
}

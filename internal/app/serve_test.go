package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// brokenListener is a listener whose Accept fails for good once broken is closed, as a listener
// does when its socket goes away under the server.
type brokenListener struct {
	net.Listener // nil: only Accept, Close and Addr are called
	broken       chan struct{}
}

func (brokenListener) Close() error   { return nil }
func (brokenListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l brokenListener) Accept() (net.Conn, error) {
	<-l.broken
	return nil, errors.New("the listening socket is gone")
}

// blockingServer serves on loopback a handler that tells started when a request is in, waits
// for release, then answers "done".
func blockingServer(t *testing.T, started chan<- struct{}, release <-chan struct{}) served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})}
	t.Cleanup(func() { srv.Close() })
	return served{"public server", srv, ln}
}

// inFlight sends a request to s and returns the channel its answer (or error) arrives on, once
// the handler has it.
func inFlight(t *testing.T, s served, started <-chan struct{}) <-chan string {
	t.Helper()
	answer := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + s.ln.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		answer <- string(b)
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the handler")
	}
	return answer
}

// TestServerFailureShutsEverythingDown: when the metrics server fails while usher runs, the
// public server stops taking connections, lets the request in flight finish, and only then do
// the jobs stop (and the store close): nothing closes under a request.
func TestServerFailureShutsEverythingDown(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}, 1), make(chan struct{})
	public := blockingServer(t, started, release)
	broken := make(chan struct{})
	metrics := served{"metrics server", &http.Server{}, brokenListener{broken: broken}}
	var stoppedAt atomic.Value
	stopJobs := func(context.Context) error { stoppedAt.Store(time.Now()); return nil }

	returned := make(chan error, 1)
	go func() {
		returned <- serveAll(context.Background(), 10*time.Second, slog.New(slog.DiscardHandler), []served{public, metrics}, stopJobs)
	}()
	answer := inFlight(t, public, started)
	close(broken)

	select {
	case err := <-returned:
		t.Fatalf("serveAll returned (%v) while a request was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if stoppedAt.Load() != nil {
		t.Fatal("the jobs stopped while a request was in flight")
	}
	if c, err := net.DialTimeout("tcp", public.ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the public server still takes connections after the metrics server failed")
	}
	releasedAt := time.Now()
	close(release)
	if got := <-answer; got != "done" {
		t.Errorf("the request in flight got %q, want done", got)
	}
	select {
	case err := <-returned:
		if err == nil || !strings.Contains(err.Error(), "the metrics server stopped: the listening socket is gone") {
			t.Errorf("serveAll = %v, want the metrics server's failure", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serveAll did not return after the request ended")
	}
	if at, _ := stoppedAt.Load().(time.Time); at.Before(releasedAt) {
		t.Errorf("the jobs stopped at %v, before the request in flight ended", at)
	}
}

// TestShutdownStopsEveryServer: a public server whose request outlasts the shutdown timeout
// does not keep the metrics server or the jobs from stopping, and its problem is returned.
func TestShutdownStopsEveryServer(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	public := blockingServer(t, started, release)
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metrics := served{"metrics server", &http.Server{Handler: http.NotFoundHandler()}, mln}
	t.Cleanup(func() { metrics.srv.Close() })
	var jobsStopped atomic.Bool
	stopJobs := func(context.Context) error { jobsStopped.Store(true); return nil }

	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() {
		returned <- serveAll(ctx, 300*time.Millisecond, slog.New(slog.DiscardHandler), []served{public, metrics}, stopJobs)
	}()
	inFlight(t, public, started)
	cancel()
	select {
	case err := <-returned:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "shut down the public server") {
			t.Errorf("serveAll = %v, want the public server's shutdown deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serveAll did not return after the shutdown timeout")
	}
	if c, err := net.DialTimeout("tcp", mln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the metrics server still takes connections after shutdown")
	}
	if !jobsStopped.Load() {
		t.Error("the jobs were not stopped")
	}
}

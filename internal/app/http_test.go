package app

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// smallBuffers listens on loopback with a 4 KiB send buffer on every accepted connection. On
// loopback the kernel grows a socket's buffers to megabytes; a small one makes a response of
// some tens of KiB fill the pipe, as a large one does on a real network.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		err = c.(*net.TCPConn).SetWriteBuffer(4096)
	}
	return c, err
}

func listenSmall(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return smallBuffers{ln}
}

// dialSmall connects with a 4 KiB receive buffer, set before the connection opens so that the
// window it announces stays small.
func dialSmall(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClientThatNeverReadsIsCutOff asks the real server for the OpenAPI document and never
// reads the answer: the handler must return, and the connection close, soon after the write
// timeout rather than wait for the client forever.
func TestClientThatNeverReadsIsCutOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), []string{"USHER_WRITE_TIMEOUT=1s",
			"USHER_DATA_DIR=" + t.TempDir()}) // New keeps the secret key there
		if err != nil {
			t.Fatal(err)
		}
		logger := slog.New(slog.DiscardHandler)
		a, err := New(cfg, st, logger)
		if err != nil {
			t.Fatal(err)
		}
		const path = "/api/v1/openapi.json"
		full := httptest.NewRecorder()
		a.Handler.ServeHTTP(full, httptest.NewRequest("GET", path, nil))
		if full.Body.Len() < 32<<10 {
			t.Fatalf("the document is %d bytes: too small to fill the connection's buffers", full.Body.Len())
		}

		returned := make(chan time.Time, 1)
		srv := publicServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.Handler.ServeHTTP(w, r)
			returned <- time.Now()
		}), cfg, logger)
		ln := listenSmall(t)
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })

		c := dialSmall(t, ln.Addr().String())
		start := time.Now()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: usher.example.org\r\n\r\n", path)
		select {
		case end := <-returned:
			if took := end.Sub(start); took < cfg.WriteTimeout/2 || took > cfg.WriteTimeout+3*time.Second {
				t.Fatalf("the handler returned after %v; the write timeout is %v", took, cfg.WriteTimeout)
			}
		case <-time.After(cfg.WriteTimeout + 10*time.Second):
			t.Fatalf("the handler still waits for a client that does not read, %v after the write timeout", 10*time.Second)
		}

		// The server closed the connection: what it had sent arrives, then the end, short of the
		// whole document.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the connection is still open after the handler gave up: %v", err)
		}
		if len(got) >= full.Body.Len() {
			t.Fatalf("the client got %d bytes, the whole document is %d: it was not cut off", len(got), full.Body.Len())
		}
	})
}

// pacedReader reads at most n bytes every interval.
type pacedReader struct {
	r        io.Reader
	n        int
	interval time.Duration
}

func (p pacedReader) Read(b []byte) (int, error) {
	time.Sleep(p.interval)
	return p.r.Read(b[:min(len(b), p.n)])
}

// responseWays are the ways a handler sends a body: one Write, io.Copy from a reader (through
// the writer's ReadFrom), and a file as http.ServeContent sends it (ReadFrom, then sendfile).
func responseWays(t *testing.T, body []byte) map[string]http.HandlerFunc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]http.HandlerFunc{
		"one Write": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(body)
		},
		"io.Copy from a reader": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			io.Copy(w, struct{ io.Reader }{bytes.NewReader(body)})
		},
		"a file through http.ServeContent": func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", time.Time{}, f)
		},
	}
}

// fetchPaced serves h behind writeDeadlines(timeout) on small buffers, reads the response at
// the pace given, and returns what arrived, when the handler returned and the read error.
func fetchPaced(t *testing.T, h http.HandlerFunc, timeout time.Duration, n int, interval time.Duration) ([]byte, time.Duration, error) {
	t.Helper()
	returned := make(chan time.Time, 1)
	srv := &http.Server{Handler: writeDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		returned <- time.Now()
	}), timeout)}
	ln := listenSmall(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c := dialSmall(t, ln.Addr().String())
	start := time.Now()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: usher.example.org\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReaderSize(pacedReader{c, n, interval}, 4096), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	select {
	case end := <-returned:
		return got, end.Sub(start), err
	case <-time.After(10 * time.Second):
		t.Fatalf("the handler has not returned 10 s after the client stopped reading")
		return nil, 0, nil
	}
}

// TestSlowReaderGetsWholeResponse: a client that keeps reading at a modest pace (about 200 KiB/s)
// gets a response whose sending takes longer than the write timeout, however it is written.
func TestSlowReaderGetsWholeResponse(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	body := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16)
	for name, h := range responseWays(t, body) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got, _, err := fetchPaced(t, h, timeout, 4096, 20*time.Millisecond)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("after %v: got %d of %d bytes, %v", time.Since(start), len(got), len(body), err)
			}
			if took := time.Since(start); took < timeout {
				t.Fatalf("the response took %v, less than the write timeout %v: the test proves nothing", took, timeout)
			}
		})
	}
}

// TestTrickleReaderIsCutOff: a client that keeps reading, but a trickle (about 20 KiB/s, where
// a response may take the write timeout plus a second for every 64 KiB), is cut off once the
// response has spent its allowance, however it is written: it cannot hold the handler and the
// response for as long as it likes by reading a little now and then.
func TestTrickleReaderIsCutOff(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	body := bytes.Repeat([]byte("0123456789abcdef"), 128<<10/16)
	allowance := timeout + time.Duration(len(body))*time.Second/minWriteRate
	for name, h := range responseWays(t, body) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, took, err := fetchPaced(t, h, timeout, 2048, 100*time.Millisecond) // all of it would take 6.4 s
			if err == nil || len(got) >= len(body) {
				t.Fatalf("the trickling client got %d of %d bytes (%v): it was not cut off", len(got), len(body), err)
			}
			if took > allowance+2*time.Second {
				t.Fatalf("the handler returned after %v; the response's allowance is %v", took, allowance)
			}
		})
	}
}

// TestDeadlineWriterKeepsTheWritersWays: behind writeDeadlines a handler's writer still does what
// net/http's does: Write(nil) sends the header as it is then (later changes are not sent), and
// the writer is an http.Flusher, an http.Hijacker and an io.ReaderFrom.
func TestDeadlineWriterKeepsTheWritersWays(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(writeDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flusher := w.(http.Flusher)
		_, readerFrom := w.(io.ReaderFrom)
		hijacker, isHijacker := w.(http.Hijacker)
		if r.URL.Path == "/hijack" && isHijacker {
			c, rw, err := hijacker.Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			rw.Flush()
			return
		}
		w.Header().Set("X-Ways", fmt.Sprintf("flusher=%v hijacker=%v readerfrom=%v", flusher, isHijacker, readerFrom))
		w.Header().Set("Content-Type", "text/plain")
		w.Write(nil)
		w.Header().Set("X-Too-Late", "1")
		w.Write([]byte("body"))
	}), time.Second))
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := "flusher=true hijacker=true readerfrom=true"; res.Header.Get("X-Ways") != want {
		t.Errorf("the handler's writer is %q, want %q", res.Header.Get("X-Ways"), want)
	}
	if res.Header.Get("X-Too-Late") != "" {
		t.Errorf("a header set after Write(nil) was sent: Write(nil) did not send the header")
	}
	if string(b) != "body" {
		t.Errorf("body %q", b)
	}
	res, err = http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hijacked" {
		t.Errorf("the hijacked connection answered %q", b)
	}
}

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
		cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), []string{"USHER_WRITE_TIMEOUT=1s"})
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

// slowReader reads at most 4 KiB every 20 ms: about 200 KiB/s.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 4096)])
}

// TestSlowReaderGetsWholeResponse: a client that keeps reading gets a response whose one write
// takes longer than the write timeout, because each part of the write has the timeout anew.
func TestSlowReaderGetsWholeResponse(t *testing.T) {
	const timeout = time.Second
	body := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16) // 256 KiB in one Write
	srv := &http.Server{Handler: writeDeadlines(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}), timeout)}
	ln := listenSmall(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c := dialSmall(t, ln.Addr().String())
	start := time.Now()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: usher.example.org\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReaderSize(slowReader{c}, 4096), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("after %v and %d bytes: %v", time.Since(start), len(got), err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("got %d bytes, want %d", len(got), len(body))
	}
	if took := time.Since(start); took < timeout {
		t.Fatalf("the response took %v, less than the write timeout %v: the test proves nothing", took, timeout)
	}
}

package app

import (
	"bufio"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/usherhq/usher/internal/config"
)

// publicServer is the HTTP server of the API and the pages. Reading a request has a time limit
// (headers, then the whole request, uploads included); writing a response has one that grows
// with its size (see writeDeadlines), so neither a client that sends slowly nor one that never
// reads, or reads a trickle, can hold a connection and its goroutine for long.
func publicServer(h http.Handler, cfg *config.Config, logger *slog.Logger) *http.Server {
	return &http.Server{Handler: writeDeadlines(h, cfg.WriteTimeout),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		// net/http sets this deadline once the request's headers are read, so that what the server
		// writes itself (a 400 for a bad request, 100 Continue) has a fresh one.
		WriteTimeout:   cfg.WriteTimeout,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// metricsServer serves the Prometheus metrics at /metrics, on an address of its own
// (--metrics-listen), so that they are not on the public one.
func metricsServer(reg prometheus.Gatherer, logger *slog.Logger) *http.Server {
	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errLog}))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10, ErrorLog: errLog}
}

// minWriteRate is the slowest a client may take a response: a response of n bytes may spend
// the write timeout plus n ÷ minWriteRate seconds waiting for the client to read. 64 KiB/s is
// half a megabit a second, slower than any network a person uses today, so that a slow client
// that keeps reading still gets a page or an export in full; one that trickles, reading a few
// hundred bytes a second to hold a handler and its response in memory, is cut off.
const minWriteRate = 64 << 10 // bytes a second

// writeDeadlines bounds how long sending a response may take: the time its writes spend
// waiting for the client adds up to at most d plus one second for every minWriteRate bytes
// written. Only that waiting counts, so a handler that works a long time before it writes (a
// bulk action) or between writes (an export reading the database) is not cut short; a client
// that stops reading, or reads a trickle, is cut off, the handler's write fails and the
// handler returns.
func writeDeadlines(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		dw.arm(0)
		h.ServeHTTP(dw, r)
		dw.arm(0) // for what the server writes after the handler: the buffered rest of the response
	})
}

// deadlineWriter sets the connection's write deadline before each write to what is left of the
// response's allowance (see writeDeadlines).
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	d        time.Duration
	written  int64         // bytes the handler wrote, or is writing
	waited   time.Duration // time spent in writes and flushes
	hijacked bool          // the handler took the connection: its deadlines are the handler's
}

// arm sets the write deadline for writing n more bytes and returns when that write starts.
func (w *deadlineWriter) arm(n int64) time.Time {
	now := time.Now()
	if w.hijacked {
		return now
	}
	w.written += n
	left := w.d + time.Duration(w.written)*time.Second/minWriteRate - w.waited
	_ = w.rc.SetWriteDeadline(now.Add(left))
	return now
}

// wrote counts the time since start as waiting for the client.
func (w *deadlineWriter) wrote(start time.Time) { w.waited += time.Since(start) }

// writeChunk is how much of a response one deadline covers, so that one large Write gets its
// allowance as it goes rather than all at once.
const writeChunk = 16 << 10

func (w *deadlineWriter) Write(b []byte) (n int, err error) {
	if len(b) == 0 {
		return w.ResponseWriter.Write(b) // fixes the header, as net/http's Write does
	}
	for len(b) > 0 {
		chunk := b[:min(len(b), writeChunk)]
		start := w.arm(int64(len(chunk)))
		m, err := w.ResponseWriter.Write(chunk)
		w.wrote(start)
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

// ReadFrom is io.Copy's way in. A file goes to net/http's ReadFrom, which hands it to the kernel
// (sendfile), a chunk at a time under the same deadlines; anything else is read here and written
// with Write, so that the time it takes to produce is not counted as the client's.
func (w *deadlineWriter) ReadFrom(src io.Reader) (n int64, err error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	file, left := fileOf(src)
	if !ok || file == nil {
		return io.CopyBuffer(struct{ io.Writer }{w}, src, make([]byte, writeChunk))
	}
	for left > 0 {
		part := &io.LimitedReader{R: file, N: min(left, writeChunk)}
		asked := part.N
		start := w.arm(asked)
		m, err := rf.ReadFrom(part)
		w.wrote(start)
		w.written -= asked - m
		n, left = n+m, left-m
		if lr, ok := src.(*io.LimitedReader); ok {
			lr.N -= m
		}
		if err != nil || m < asked {
			return n, err
		}
	}
	return n, nil
}

// fileOf is the file src reads, and how much of it at most: src is a file, or a file read up to
// a limit as io.CopyN and http.ServeContent read one.
func fileOf(src io.Reader) (*os.File, int64) {
	left := int64(math.MaxInt64)
	if lr, ok := src.(*io.LimitedReader); ok {
		src, left = lr.R, lr.N
	}
	f, _ := src.(*os.File)
	return f, left
}

// FlushError sends what is buffered; http.ResponseController.Flush calls it.
func (w *deadlineWriter) FlushError() error {
	start := w.arm(0)
	err := w.rc.Flush()
	w.wrote(start)
	return err
}

// Flush is FlushError for callers that look for http.Flusher.
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection to the handler (http.Hijacker); from then on its deadlines are
// the handler's to set.
func (w *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := w.rc.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

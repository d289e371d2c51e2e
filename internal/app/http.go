package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/usherhq/usher/internal/config"
)

// publicServer is the HTTP server of the API and the pages. Reading a request has a time limit
// (headers, then the whole request, uploads included); writing a response has one per write
// (see writeDeadlines), so neither a client that sends slowly nor one that never reads can hold
// a connection and its goroutine for long.
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

// writeDeadlines gives every writeChunk bytes of a response d to reach the client, from just
// before they are written. A client that stops reading is cut off d after its buffers fill, and
// the handler's write fails so the handler returns; a slow client that keeps reading gets a long
// response (a page of a thousand users, an export) in full, and a handler that works a long time
// before it writes (a bulk action) is not cut short.
func writeDeadlines(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		dw.extend()
		h.ServeHTTP(dw, r)
		dw.extend() // for what the server writes after the handler: the buffered rest of the response
	})
}

// deadlineWriter moves the connection's write deadline to d from now before each write.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

// writeChunk is how much of a response one write deadline covers.
const writeChunk = 16 << 10

func (w *deadlineWriter) Write(b []byte) (n int, err error) {
	for len(b) > 0 {
		w.extend()
		m, err := w.ResponseWriter.Write(b[:min(len(b), writeChunk)])
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

// FlushError sends what is buffered; http.ResponseController.Flush calls it.
func (w *deadlineWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

// Flush is FlushError for callers that look for http.Flusher.
func (w *deadlineWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

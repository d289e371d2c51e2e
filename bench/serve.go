package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/usherhq/usher/internal/app"
)

// serve opens the database db names and serves the real server (app.New) on it on a loopback
// port, for the benchmarks that talk HTTP; env are extra USHER_* settings. It returns the app,
// the server's base URL (http://127.0.0.1:port) and stop, which closes the server and then the
// database.
func serve(ctx context.Context, db dbFlags, env ...string) (a *app.App, base string, stop func(), err error) {
	st, cfg, err := db.open(ctx, env...)
	if err != nil {
		return nil, "", nil, err
	}
	a, err = app.New(cfg, st, quietLogger())
	if err != nil {
		st.Close()
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go srv.Serve(ln)
	return a, "http://" + ln.Addr().String(), func() { srv.Close(); st.Close() }, nil
}

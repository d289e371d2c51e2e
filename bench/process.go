package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// defaultBinary is where the benchmarks build usher.
var defaultBinary = filepath.Join(os.TempDir(), "usher-bench", "usher")

// buildUsher builds the static binary usher ships as (the one P-FOOT weighs) at out.
func buildUsher(ctx context.Context, out string) error {
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/usher")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' ./cmd/usher (run bench from the repository root): %w", err)
	}
	return nil
}

// usherProcess is usher serve running in a process of its own, so that the benchmark's clients
// (their goroutines, their CPU time, their garbage) are not counted against the server.
type usherProcess struct {
	base   string // http://127.0.0.1:port
	pid    int
	ready  time.Duration // from the start to the first 200 from /readyz
	cmd    *exec.Cmd
	exited chan error
	stderr bytes.Buffer
}

// startUsher starts bin serve on db with the extra USHER_* settings env, and returns once
// /readyz answers 200.
func startUsher(ctx context.Context, bin string, db dbFlags, env ...string) (*usherProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &usherProcess{base: "http://" + addr, exited: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, bin, "serve", "--listen", addr)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "USHER_DATA_DIR=" + db.dataDir, "USHER_LOG_LEVEL=warn"}
	if db.url != "" {
		p.cmd.Env = append(p.cmd.Env, "USHER_DATABASE_URL="+db.url)
	}
	for _, name := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"} {
		if v, ok := os.LookupEnv("USHER_BENCH_" + name); ok {
			p.cmd.Env = append(p.cmd.Env, name+"="+v)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = &p.stderr
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	p.pid = p.cmd.Process.Pid
	go func() { p.exited <- p.cmd.Wait() }()
	for {
		resp, err := client.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.ready = time.Since(start)
				return p, nil
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			return nil, fmt.Errorf("usher serve exited (%v); its output:\n%s", err, p.stderr.String())
		case <-time.After(time.Millisecond):
		}
		if time.Since(start) > 30*time.Second {
			p.stop()
			return nil, fmt.Errorf("usher serve was not ready after 30 s; its output:\n%s", p.stderr.String())
		}
	}
}

// stop ends the server with SIGTERM (a graceful shutdown), or kills it after 30 s.
func (p *usherProcess) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
	}
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runFoot is P-FOOT: the size of the static binary, and for usher serve started on an existing
// database, the time until /readyz answers 200 and its resident memory after start and at idle.
func runFoot(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("foot", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	out := fs.String("o", defaultBinary, "where to build the binary")
	runs := fs.Int("runs", 5, "starts to measure")
	idle := fs.Duration("idle", 5*time.Second, "how long the server idles before its RSS is read again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := buildUsher(ctx, *out); err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	size := float64(info.Size()) / (1 << 20)
	fmt.Printf("foot: static binary %s: %.1f MiB (target ≤ 40 MB)\n", *out, size)
	if db.url == "" {
		if _, err := os.Stat(filepath.Join(db.dataDir, "usher.db")); err != nil {
			return fmt.Errorf("no SQLite database in %s: run bench gen first", db.dataDir)
		}
	}
	fmt.Printf("foot: usher serve on the existing %s database, %d starts, idle %s\n\n", db.name(), *runs, *idle)
	fmt.Println("| start | ready | RSS at ready | RSS after idle | peak RSS (VmHWM) |")
	fmt.Println("|--:|--:|--:|--:|--:|")
	var ready []time.Duration
	var idleRSS []int
	for r := range *runs {
		m, err := startOnce(ctx, *out, db, *idle)
		if err != nil {
			return fmt.Errorf("start %d: %w", r+1, err)
		}
		ready = append(ready, m.ready)
		idleRSS = append(idleRSS, m.idleKB)
		fmt.Printf("| %d | %s | %.1f MiB | %.1f MiB | %.1f MiB |\n", r+1, ms(m.ready), mib(m.readyKB), mib(m.idleKB), mib(m.hwmKB))
	}
	slices.Sort(ready)
	slices.Sort(idleRSS)
	fmt.Printf("\nmedian ready %s (target ≤ 500 ms), worst %s; median idle RSS %.1f MiB (target ≤ 50 MB), worst %.1f MiB\n",
		ms(ready[len(ready)/2]), ms(ready[len(ready)-1]), mib(idleRSS[len(idleRSS)/2]), mib(idleRSS[len(idleRSS)-1]))
	return nil
}

type footprint struct {
	ready                  time.Duration
	readyKB, idleKB, hwmKB int
}

func mib(kb int) float64 { return float64(kb) / 1024 }

// startOnce starts usher serve, times it to the first 200 from /readyz, reads its memory, and
// stops it with SIGTERM.
func startOnce(ctx context.Context, bin string, db dbFlags, idle time.Duration) (footprint, error) {
	var m footprint
	p, err := startUsher(ctx, bin, db)
	if err != nil {
		return m, err
	}
	defer p.stop()
	m.ready = p.ready
	if m.readyKB, _, err = memory(p.pid); err != nil {
		return m, err
	}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return m, ctx.Err()
	}
	m.idleKB, m.hwmKB, err = memory(p.pid)
	return m, err
}

// memory reads VmRSS and VmHWM (the peak) of a process, in KiB.
func memory(pid int) (rss, hwm int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/PID/status")
	}
	return rss, hwm, sc.Err()
}

// freeAddr returns a loopback address nothing listens on (usher serve must be told a port).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

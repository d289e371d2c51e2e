package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/user"
)

// runExport is P-EXPORT: every user to a file through the real server, as an administrator's
// download asks for it (GET /api/v1/users/export with a session cookie), read to the end. It
// reports the time, the size, the rows, and the memory of this process (server and client):
// the peak of its anonymous memory (RssAnon, sampled every 50 ms; what usher itself holds)
// and VmHWM (the peak RSS, which on SQLite also counts the pages of the mapped database file).
func runExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	format := fs.String("format", "csv", "csv or xlsx")
	out := fs.String("out", "", "keep the file here (default: read and drop it)")
	sort := fs.String("sort", "", "the export's sort (the API's; created_at when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, base, stop, err := serve(ctx, db)
	if err != nil {
		return err
	}
	defer stop()
	cookie, err := adminSession(ctx, a)
	if err != nil {
		return err
	}
	counts, err := a.Users.Counts(ctx, user.System("bench"))
	if err != nil {
		return err
	}
	var sink io.Writer = io.Discard
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		sink = f
	}
	peak, stopSampling := sampleAnon()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/users/export?format="+*format+"&sort="+*sort, nil)
	if err != nil {
		return err
	}
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET /api/v1/users/export: %s: %s", resp.Status, b)
	}
	lines := &lineCounter{}
	n, err := io.Copy(io.MultiWriter(sink, lines), resp.Body)
	if err != nil {
		return err
	}
	took := time.Since(start)
	stopSampling()
	_, hwm, err := memory(os.Getpid())
	if err != nil {
		return err
	}
	rows := "—"
	if *format == "csv" {
		rows = fmt.Sprint(lines.n - 1) // the header
	}
	fmt.Printf("export: %s, %d users, GET /api/v1/users/export?format=%s&sort=%s\n\n", db.name(), counts.Total, *format, *sort)
	fmt.Println("| time | users/s | size | rows | peak RssAnon | VmHWM |")
	fmt.Println("|--:|--:|--:|--:|--:|--:|")
	fmt.Printf("| %.1f s | %.0f | %.0f MB | %s | %d MB | %d MB |\n", took.Seconds(), float64(counts.Total)/took.Seconds(),
		float64(n)/1e6, rows, *peak/1024, hwm/1024)
	return nil
}

// lineCounter counts the new lines written through it.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// sampleAnon samples this process's RssAnon (KiB) every 50 ms until stop, keeping the peak.
func sampleAnon() (peak *int, stop func()) {
	peak = new(int)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := rssAnon(); kb > *peak {
				*peak = kb
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return peak, func() { close(done); wg.Wait() }
}

// rssAnon is this process's RssAnon in KiB, 0 when it cannot be read.
func rssAnon() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// Command bench is usher's benchmark suite (QUALITY.md, "Performance: the benchmark suite"):
//
//	go run ./bench gen    -n 1000000 [-database-url URL | -data-dir DIR]   a realistic population
//	go run ./bench search [-database-url URL | -data-dir DIR]              P-SEARCH
//	go run ./bench api    [-database-url URL | -data-dir DIR]              P-API
//	go run ./bench foot   [-database-url URL | -data-dir DIR]              P-FOOT
//	go run ./bench login  [-database-url URL | -data-dir DIR]              P-LOGIN
//
// Every subcommand runs the real code (store, user.Service, app, the usher binary) on a
// database that gen filled. README.md beside this file gives the commands and the results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/user"
)

var commands = []struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}{
	{"gen", "fill an empty database with a realistic population of users", runGen},
	{"search", "P-SEARCH: user.Service.ListUsers latency from concurrent workers", runSearch},
	{"api", "P-API: GET /api/v1/users/{id} with an API token, requests per second", runAPI},
	{"foot", "P-FOOT: static binary size, time to ready and idle RSS of usher serve", runFoot},
	{"login", "P-LOGIN: password sign-ins per second against the raw argon2id rate, memory under 500 attempts", runLogin},
	{"console", "the console's users page at scale: first page, a search, a filtered page (≤ 100 ms p99)", runConsole},
	{"export", "P-EXPORT: every user to CSV or XLSX through GET /api/v1/users/export: time and memory", runExport},
	{"import", "P-IMPORT: a CSV file of new users uploaded, previewed and applied through the API: time and memory", runImport},
	{"sync", "P-SYNC: a full sync of a slapd of -n users through the sync job, then again with 1% changed: time and memory", runSync},
	{"explain", "the plan and time of each ListUsers query shape of the P-SEARCH mix", runExplain},
}

func main() { os.Exit(run()) }

// run is main with deferred calls that run before the exit.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage(os.Stderr)
		return 2
	}
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		stopProfile, err := cpuProfile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer stopProfile()
	}
	for _, c := range commands {
		if c.name == os.Args[1] {
			if err := c.run(ctx, os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "bench %s: %v\n", c.name, err)
				return 1
			}
			return 0
		}
	}
	usage(os.Stderr)
	return 2
}

// cpuProfile writes a CPU profile of the whole run to path (BENCH_CPUPROFILE), for finding
// where a missed target's time goes: go tool pprof -top path.
func cpuProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./bench <command> [flags]; -h after a command lists its flags")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
}

// dbFlags names the database a subcommand works on: PostgreSQL when a URL is given, else SQLite.
type dbFlags struct {
	url     string
	dataDir string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.url, "database-url", os.Getenv("USHER_DATABASE_URL"), "PostgreSQL URL; empty for SQLite in -data-dir")
	fs.StringVar(&d.dataDir, "data-dir", filepath.Join(os.TempDir(), "usher-bench", "sqlite"), "SQLite data directory (keep it outside the repository)")
}

func (d *dbFlags) name() string {
	if d.url != "" {
		return "postgres"
	}
	return "sqlite"
}

// config builds usher's configuration the way usher serve does, from USHER_* variables.
func (d *dbFlags) config(extra ...string) (*config.Config, error) {
	env := []string{"USHER_DATA_DIR=" + d.dataDir, "USHER_LOG_LEVEL=warn"}
	if d.url != "" {
		env = append(env, "USHER_DATABASE_URL="+d.url)
	}
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	config.Flags(fs)
	return config.Load(fs, append(env, extra...))
}

// open opens, migrates and prepares the store as usher serve does (app.OpenStore).
func (d *dbFlags) open(ctx context.Context, env ...string) (*store.Store, *config.Config, error) {
	cfg, err := d.config(env...)
	if err != nil {
		return nil, nil, err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

// userService is the user service the benchmarks load and read through. They send no email, so
// the bulk reset_password action is refused instead of pretending to work.
func userService(st *store.Store) (*user.Service, error) {
	return user.NewService(st, auth.NewPasswords(auth.DefaultHashParams, auth.DefaultPolicy),
		func(context.Context, user.Actor, string) error {
			return errors.New("bench: the benchmarks send no password resets")
		})
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

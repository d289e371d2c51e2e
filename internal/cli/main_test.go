package cli_test

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/usherhq/usher/internal/cli"
	"github.com/usherhq/usher/internal/directory/dirtest"
)

// childArgs, when set, makes this test binary run `usher` with these arguments (separated by
// \x1f) instead of the tests: tests use it to start real server processes.
const childArgs = "USHER_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgs); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Run(ctx, strings.Split(args, "\x1f"), cli.Env{Environ: os.Environ(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
		stop()
		os.Exit(code)
	}
	dirtest.Main(m) // runs the tests, then stops the directory servers they started
}

// Package cli is usher's command line: one file per command, each a thin shell around app.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/errs"
)

// Env is what a command may use of the process around it.
type Env struct {
	Environ []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Ready, when set, is told the address usher serve listens on (tests use it).
	Ready func(addr string)
}

// Run runs the command line args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	root := &cobra.Command{
		Use:           "usher",
		Short:         "usher manages an organisation's users: invite, import, synchronise, lock, disable, audit",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.AddCommand(serveCmd(env), migrateCmd(env), configCmd(env), adminCmd(env), usersCmd(env), directoryCmd(env), versionCmd(env), mailCmd(env))
	if err := root.ExecuteContext(ctx); err != nil {
		var ce *config.Error
		var e *errs.Error
		switch {
		case errors.As(err, &ce):
			fmt.Fprintln(env.Stderr, "usher: "+ce.Error())
			return 2
		case errors.As(err, &e) && e.Kind != errs.Internal:
			fmt.Fprintln(env.Stderr, "usher: "+e.Message)
		default:
			fmt.Fprintln(env.Stderr, "usher: "+err.Error())
		}
		return 1
	}
	return 0
}

// loadConfig reads the configuration for a command whose flags config.Flags registered.
func loadConfig(cmd *cobra.Command, env Env) (*config.Config, error) {
	return config.Load(cmd.Flags(), env.Environ)
}

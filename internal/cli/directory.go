package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/user"
)

func directoryCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "directory",
		Short: "LDAP and Active Directory directories: list them, test their connection, sync them",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the directories, with their server, their last sync and their next scheduled one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, env, func(ctx context.Context, a *app.App, actor user.Actor) error {
				ds, err := a.Directories.Directories(ctx, actor)
				if err != nil {
					return err
				}
				if len(ds) == 0 {
					fmt.Fprintln(env.Stdout, "No directory yet: add one in the console (Directories) or with POST /api/v1/directories.")
					return nil
				}
				w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tKIND\tSERVER\tSECURITY\tBASE DN\tLAST SYNC\tNEXT SYNC")
				for _, d := range ds {
					last := "never"
					if r, err := a.Directories.LastRun(ctx, actor, d.ID); err == nil && r != nil {
						last = runWords(r)
					}
					next := "no schedule"
					if d.NextSyncAt != nil {
						next = d.NextSyncAt.UTC().Format("2006-01-02 15:04 UTC")
					} else if d.Schedule.StartDate != "" {
						next = "auto-sync off"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(d.Name), d.Kind, d.Address(), d.Security, printable(d.BaseDN), last, next)
				}
				return w.Flush()
			})
		},
	}
	test := &cobra.Command{
		Use:   "test NAME",
		Short: "Test a directory's connection: connect, TLS, bind, read the base DN",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd, env, func(ctx context.Context, a *app.App, actor user.Actor) error {
				d, err := directoryNamed(ctx, a, actor, args[0])
				if err != nil {
					return err
				}
				r, err := a.Directories.TestSaved(ctx, actor, d.ID)
				if err != nil {
					return err
				}
				for _, s := range r.Steps {
					mark := "ok  "
					if !s.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(env.Stdout, "%s %-8s %s\n", mark, s.Name, s.Message)
				}
				if !r.OK {
					return errors.New("the connection test failed")
				}
				return nil
			})
		},
	}
	var dryRun, full, wait bool
	sync := &cobra.Command{
		Use:   "sync NAME",
		Short: "Sync a directory now (audited)",
		Long: "Sync the directory NAME: with --dry-run, print what a sync would do and change nothing;\n" +
			"otherwise start a sync. With --wait this command runs it, with a progress bar on a terminal,\n" +
			"and prints the result; without, it is queued for usher serve. With SQLite, stop usher serve\n" +
			"before --wait.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd, env, func(ctx context.Context, a *app.App, actor user.Actor) error {
				return runDirectorySync(ctx, a, env, actor, args[0], directory.SyncOptions{DryRun: dryRun, Full: full}, wait)
			})
		},
	}
	sync.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan: change nothing")
	sync.Flags().BoolVar(&full, "full", false, "read every entry in scope and find who left (otherwise only what changed since the last sync, with a full sync every 24 hours)")
	sync.Flags().BoolVar(&wait, "wait", false, "run the sync here and wait for it, with a progress bar and the result")
	for _, c := range []*cobra.Command{list, test, sync} {
		config.Flags(c.Flags())
	}
	cmd.AddCommand(list, test, sync)
	return cmd
}

// withApp opens usher on the configured database and runs fn as the CLI's actor.
func withApp(cmd *cobra.Command, env Env, fn func(context.Context, *app.App, user.Actor) error) error {
	a, err := openApp(cmd, env)
	if err != nil {
		return err
	}
	defer a.Store.Close()
	return fn(cmd.Context(), a, user.System("cli"))
}

// directoryNamed finds a directory by its name, in any letter case.
func directoryNamed(ctx context.Context, a *app.App, actor user.Actor, name string) (*directory.Directory, error) {
	ds, err := a.Directories.Directories(ctx, actor)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range ds {
		if strings.EqualFold(ds[i].Name, strings.TrimSpace(name)) {
			return &ds[i], nil
		}
		names = append(names, fmt.Sprintf("%q", ds[i].Name))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("there is no directory named %q: there is none yet", name)
	}
	return nil, fmt.Errorf("there is no directory named %q; there are %s", name, strings.Join(names, ", "))
}

func runDirectorySync(ctx context.Context, a *app.App, env Env, actor user.Actor, name string, o directory.SyncOptions, wait bool) error {
	d, err := directoryNamed(ctx, a, actor, name)
	if err != nil {
		return err
	}
	out := env.Stdout
	if o.DryRun {
		_, p, err := a.Directories.Sync(ctx, actor, d.ID, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %s entries in scope, %s users in usher. A sync would: %s.\n", d.Name,
			thousands(p.Counts.Seen), thousands(p.Users), planCounts(p.Counts))
		for _, c := range p.Changes {
			line := fmt.Sprintf("  %-7s %s", c.Kind, c.Username)
			if c.Email != "" {
				line += " <" + c.Email + ">"
			}
			for _, k := range sortedKeys(c.After) {
				line += fmt.Sprintf("; %s: %q → %q", k, c.Before[k], c.After[k])
			}
			fmt.Fprintln(out, line)
		}
		for _, e := range p.Errors {
			fmt.Fprintf(out, "  refused %s: %s\n", printable(e.DN), e.Reason)
		}
		fmt.Fprintln(out, "Dry run: nothing was changed.")
		return nil
	}
	if wait {
		jobs := a.Background.Jobs
		if err := jobs.Start(ctx); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
			defer cancel()
			jobs.Stop(sctx)
		}()
	}
	run, _, err := a.Directories.Sync(ctx, actor, d.ID, o)
	if err != nil {
		return err
	}
	if !wait {
		fmt.Fprintf(out, "Sync %s of %s is queued: usher serve runs it (GET /api/v1/directories/%s/runs/%s shows its progress).\n",
			run.ID, d.Name, d.ID, run.ID)
		return nil
	}
	bar := newProgress(env.Stderr, 0)
	bar.unit = "changes"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := a.Directories.GetRun(ctx, actor, d.ID, run.ID)
		if err != nil {
			return err
		}
		bar.total = r.Planned()
		bar.set(r.Applied())
		if r.Status.Final() {
			bar.finish()
			fmt.Fprintf(out, "Sync of %s %s.\n", d.Name, runWords(r))
			for _, e := range r.Errors {
				fmt.Fprintf(out, "  refused %s: %s\n", printable(e.DN), e.Reason)
			}
			switch r.Status {
			case directory.RunHeld:
				fmt.Fprintf(out, "%s\nConfirm it in the console, or with POST /api/v1/directories/%s/runs/%s/confirm.\n", r.Reason, d.ID, r.ID)
				return errors.New("the sync waits for a confirmation")
			case directory.RunFailed:
				return fmt.Errorf("the sync failed: %s", r.Reason)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			bar.finish()
			return errors.New("interrupted: the sync goes on the next time usher serve (or this command) runs")
		case <-tick.C:
		}
	}
}

// runWords says how a sync went: "completed 2026-12-07 12:00 UTC: 3 created, …".
func runWords(r *directory.Run) string {
	when := r.CreatedAt
	if r.FinishedAt != nil {
		when = *r.FinishedAt
	}
	status := string(r.Status)
	if r.Status == directory.RunHeld {
		status = "held for confirmation"
	}
	return fmt.Sprintf("%s %s: %s", status, when.Format("2006-01-02 15:04 MST"), doneCounts(r.Done))
}

func planCounts(c directory.Counts) string {
	return fmt.Sprintf("create %s, update %s, disable %s, enable %s, delete %s%s; %s entries refused",
		thousands(c.Created), thousands(c.Updated), thousands(c.Disabled), thousands(c.Enabled), thousands(c.Deleted),
		groupCounts(c, "; groups: create %s, update %s, delete %s (members: add %s, remove %s)"), thousands(c.Failed))
}

func doneCounts(c directory.Counts) string {
	return fmt.Sprintf("%s entries read, %s created, %s updated, %s disabled, %s enabled, %s deleted%s, %s refused",
		thousands(c.Seen), thousands(c.Created), thousands(c.Updated), thousands(c.Disabled), thousands(c.Enabled),
		thousands(c.Deleted), groupCounts(c, ", groups %s created, %s updated, %s deleted (%s members added, %s removed)"), thousands(c.Failed))
}

// groupCounts is a sync's group counts in format, or nothing when it changed no group.
func groupCounts(c directory.Counts, format string) string {
	if c.GroupsCreated+c.GroupsUpdated+c.GroupsDeleted == 0 {
		return ""
	}
	return fmt.Sprintf(format, thousands(c.GroupsCreated), thousands(c.GroupsUpdated), thousands(c.GroupsDeleted),
		thousands(c.MembersAdded), thousands(c.MembersRemoved))
}

// printable is text a directory server sent, without the control characters that could move a
// terminal's cursor or rewrite what it shows.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

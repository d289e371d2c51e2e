package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/user"
)

func importCmd(env Env) *cobra.Command {
	var dryRun, invite, wait bool
	var failed string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import users from a CSV, TXT or XLSX file: preview it, then apply it (audited)",
		Long: "Read FILE into a staged import and print its preview: what each row would do, and why a\n" +
			"row would fail. Without --dry-run the import then starts: with --wait this command applies\n" +
			"it, with a progress bar on a terminal, and prints the report; without, it is queued for\n" +
			"usher serve (GET /api/v1/imports/ID shows it). --failed-rows writes the rows that failed,\n" +
			"with a Reason column, to correct and import again. With SQLite, stop usher serve first.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openApp(cmd, env)
			if err != nil {
				return err
			}
			defer a.Store.Close()
			return runImport(cmd.Context(), a, env, args[0], importOptions{dryRun: dryRun, invite: invite, wait: wait, failed: failed})
		},
	}
	config.Flags(cmd.Flags())
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "only preview: change nothing")
	fl.BoolVar(&invite, "invite", false, "invite new users by email instead of creating them active without a password")
	fl.BoolVar(&wait, "wait", false, "apply the import here and wait for it, with a progress bar and the report")
	fl.StringVar(&failed, "failed-rows", "", "write the rows that failed, with the reason, to this file (in FILE's format)")
	return cmd
}

type importOptions struct {
	dryRun, invite, wait bool
	failed               string
}

// runImport stages the file, prints the preview, and starts (and with wait applies) the import.
func runImport(ctx context.Context, a *app.App, env Env, path string, o importOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	actor := user.System("cli")
	p, err := a.Imports.Stage(ctx, actor, imports.Upload{Name: path, File: f, Size: st.Size(), Invite: o.invite})
	if err != nil {
		return err
	}
	out := env.Stdout
	fmt.Fprintf(out, "%s: %s rows. Preview: %s.\n", p.FileName, thousands(p.Rows), planWords(p.Plan))
	if len(p.Unknown) > 0 {
		fmt.Fprintf(out, "Columns read past: %q.\n", p.Unknown)
	}
	for _, r := range p.First[imports.Error] {
		fmt.Fprintln(out, "  "+r.Message())
	}
	if p.Plan.Error > int64(len(p.First[imports.Error])) {
		fmt.Fprintf(out, "  … and %s more rows with errors (--failed-rows lists them all).\n", thousands(p.Plan.Error-int64(len(p.First[imports.Error]))))
	}
	if o.dryRun {
		if _, err := a.Imports.Cancel(ctx, actor, p.ID); err != nil {
			return err
		}
		if o.failed != "" {
			if err := writeFailed(ctx, a, actor, p.ID, o.failed); err != nil {
				return err
			}
		}
		fmt.Fprintln(out, "Dry run: nothing was changed.")
		return nil
	}
	if !o.wait {
		if _, err := a.Imports.Start(ctx, actor, p.ID); err != nil {
			return err
		}
		fmt.Fprintf(out, "Import %s is queued: usher serve applies it (GET /api/v1/imports/%s shows its progress).\n", p.ID, p.ID)
		return nil
	}
	jobs := a.Background.Jobs
	if err := jobs.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
		defer cancel()
		jobs.Stop(sctx)
	}()
	if _, err := a.Imports.Start(ctx, actor, p.ID); err != nil {
		return err
	}
	bar := newProgress(env.Stderr, p.Rows)
	bar.unit = "rows"
	imp, err := waitImport(ctx, a, actor, p.ID, bar.set)
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Import %s %s: %s.\n", imp.ID, imp.Status, resultWords(imp.Result))
	if imp.Error != "" {
		fmt.Fprintln(out, imp.Error)
	}
	rep, err := a.Imports.Problems(ctx, actor, imp.ID, 0, 20)
	if err != nil {
		return err
	}
	for _, r := range rep.Rows {
		fmt.Fprintln(out, "  "+r.Message())
	}
	if rep.Next != 0 {
		fmt.Fprintln(out, "  … and more (GET /api/v1/imports/"+imp.ID+"/report, or --failed-rows).")
	}
	if o.failed != "" {
		if err := writeFailed(ctx, a, actor, imp.ID, o.failed); err != nil {
			return err
		}
	}
	if imp.Status != imports.Completed {
		return fmt.Errorf("the import %s", imp.Status)
	}
	return nil
}

// waitImport polls an import until it is final, telling progress how many rows are done.
func waitImport(ctx context.Context, a *app.App, actor user.Actor, id string, progress func(int64)) (*imports.Import, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		imp, err := a.Imports.Get(ctx, actor, id)
		if err != nil {
			return nil, err
		}
		progress(imp.Done)
		if imp.Status.Final() {
			return imp, nil
		}
		select {
		case <-ctx.Done():
			// Interrupted: the import goes on when usher next runs its jobs.
			return nil, errors.New("interrupted: the import goes on the next time usher serve (or this command) runs")
		case <-tick.C:
		}
	}
}

// writeFailed writes an import's failed rows to path, whole or not at all.
func writeFailed(ctx context.Context, a *app.App, actor user.Actor, id, path string) error {
	w, _, done, err := exportTarget(Env{}, path)
	if err != nil {
		return err
	}
	err = a.Imports.FailedRows(ctx, actor, id, w)
	if derr := done(err == nil); err == nil {
		err = derr
	}
	return err
}

// planWords says a preview's counts: "3 to create, 1 to update, 0 to delete, 0 to skip, 2 with errors".
func planWords(c imports.Counts) string {
	return fmt.Sprintf("%s to create, %s to update, %s to delete, %s to skip, %s with errors",
		thousands(c.Create), thousands(c.Update), thousands(c.Delete), thousands(c.Skip), thousands(c.Error))
}

// resultWords says what an import did: "3 created, 1 updated, 0 deleted, 0 skipped, 2 failed".
func resultWords(c imports.Counts) string {
	return fmt.Sprintf("%s created, %s updated, %s deleted, %s skipped, %s failed",
		thousands(c.Create), thousands(c.Update), thousands(c.Delete), thousands(c.Skip), thousands(c.Error))
}

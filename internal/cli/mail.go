package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/mail"
)

func mailCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Email"}
	var to string
	var wait time.Duration
	test := &cobra.Command{
		Use:   "test --to ADDRESS",
		Short: "Send a test message the way usher sends all email (outbox, background job, configured sender) and report the outcome",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, env)
			if err != nil {
				return err
			}
			return mailTest(cmd.Context(), cfg, env, to, wait)
		},
	}
	test.Flags().StringVar(&to, "to", "", "the address to send the test message to (required)")
	test.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for the first attempt")
	test.MarkFlagRequired("to")
	config.Flags(test.Flags())
	cmd.AddCommand(test)
	return cmd
}

// mailTest enqueues a test message and works jobs until its first attempt is over. A failed
// attempt stays in the outbox: usher serve retries it.
func mailTest(ctx context.Context, cfg *config.Config, env Env, to string, wait time.Duration) error {
	logger := app.NewLogger(cfg, env.Stderr)
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bg, err := app.NewBackground(cfg, st, logger, job.Options{Logger: quiet})
	if err != nil {
		return err
	}
	m, err := mail.Test{To: to, PublicURL: cfg.PublicURL, At: time.Now()}.Message()
	if err != nil {
		return err
	}
	id, err := bg.Outbox.Enqueue(ctx, m)
	if err != nil {
		return err
	}
	sender := fmt.Sprint(bg.Outbox.Sender())
	fmt.Fprintf(env.Stdout, "queued test message %s to %s; sending through %s\n", id, to, sender)
	if err := bg.Jobs.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		bg.Jobs.Stop(sctx)
	}()
	deadline := time.After(wait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		e, err := st.OutboxEntry(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case e.Status == mail.Sent:
			fmt.Fprintf(env.Stdout, "sent to %s through %s\n", to, sender)
			return nil
		case e.Attempts > 0:
			return fmt.Errorf("not sent: %s (attempt %d of %d; the message stays in the outbox and usher serve retries it)",
				e.LastError, e.Attempts, mail.MaxAttempts)
		}
		select {
		case <-tick.C:
		case <-deadline:
			return fmt.Errorf("the test message was not tried within %s; it stays in the outbox", wait)
		case <-ctx.Done():
			return errors.New("interrupted; the test message stays in the outbox")
		}
	}
}

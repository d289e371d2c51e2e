package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/user"
)

func adminCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Recover administrator access (with SQLite, stop usher serve first)"}

	unlock := &cobra.Command{
		Use:   "unlock LOGIN",
		Short: "Unlock a locked user (by username or email), e.g. a locked-out Default Administrator",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openApp(cmd, env)
			if err != nil {
				return err
			}
			defer a.Store.Close()
			u, err := a.Store.UserByLogin(cmd.Context(), user.CanonicalLogin(args[0]))
			if err != nil {
				return err
			}
			if _, err := a.Users.ChangeStatus(cmd.Context(), user.System("cli"), u.ID, user.Unlock); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "unlocked %s (%s)\n", u.Username, u.Email)
			return nil
		},
	}
	config.Flags(unlock.Flags())

	setupLink := &cobra.Command{
		Use:   "setup-link",
		Short: "Print a new one-time link to create the Default Administrator (only while there is none)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd, env)
			if err != nil {
				return err
			}
			defer a.Store.Close()
			token, err := a.Setup.Begin(cmd.Context())
			if err != nil {
				return err
			}
			if token == "" {
				return fmt.Errorf("the Default Administrator exists already; sign in as them, or use `usher admin unlock`")
			}
			fmt.Fprintf(env.Stdout, "%s/setup?token=%s\n", a.Config.PublicURL, token)
			return nil
		},
	}
	config.Flags(setupLink.Flags())

	cmd.AddCommand(unlock, setupLink)
	return cmd
}

// openApp opens the configured database and builds usher's services without serving.
func openApp(cmd *cobra.Command, env Env) (*app.App, error) {
	cfg, err := loadConfig(cmd, env)
	if err != nil {
		return nil, err
	}
	st, err := app.OpenStore(cmd.Context(), cfg)
	if err != nil {
		return nil, err
	}
	a, err := app.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

package cli

import (
	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
)

func serveCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the usher server (SQLite in --data-dir by default, PostgreSQL with --database-url)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, env)
			if err != nil {
				return err
			}
			return app.Serve(cmd.Context(), cfg, app.NewLogger(cfg, env.Stderr), env.Ready)
		},
	}
	config.Flags(cmd.Flags())
	return cmd
}

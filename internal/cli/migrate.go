package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
)

func migrateCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date (usher serve also does this on start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, env)
			if err != nil {
				return err
			}
			// The same path as usher serve: schema, built-in roles and job tables.
			applied, current, err := app.Migrate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			for _, m := range applied {
				fmt.Fprintln(env.Stdout, "applied", m)
			}
			fmt.Fprintf(env.Stdout, "schema is at version %d\n", current)
			return nil
		},
	}
	config.Flags(cmd.Flags())
	return cmd
}

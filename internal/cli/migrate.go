package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/store"
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
			st, err := store.Open(cmd.Context(), store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir})
			if err != nil {
				return err
			}
			defer st.Close()
			applied, err := st.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			for _, m := range applied {
				fmt.Fprintln(env.Stdout, "applied", m)
			}
			current, _, err := st.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "schema is at version %d\n", current)
			return nil
		},
	}
	config.Flags(cmd.Flags())
	return cmd
}

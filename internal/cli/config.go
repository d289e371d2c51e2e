package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/config"
)

func configCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration from flags, USHER_* variables and --config, naming every wrong setting",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, env)
			if err != nil {
				return err
			}
			cfg.Print(env.Stdout)
			fmt.Fprintln(env.Stdout, "the configuration is valid")
			return nil
		},
	}
	config.Flags(check.Flags())
	cmd.AddCommand(check)
	return cmd
}

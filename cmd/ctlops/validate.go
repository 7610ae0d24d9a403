package main

import (
	"fmt"

	"github.com/ctlops/ctlops/spec"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var file, format, window string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the desired-state YAML and report every problem with its line",
		Long: `validate loads the desired state (a file, or a directory of *.yaml files) and reports
every problem at once as file:line:column: path: message. It reads the certificate files
the spec names, but no secret: a secret that is not available here is a warning. A token
certificate that expires within the spec's expiryWarning (30 days when it sets none), or
within --expiry-window when given, is a warning.

Exit status: 0 valid (warnings may be printed), 1 invalid.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			o, err := loadOptions(window)
			if err != nil {
				return err
			}
			rep := spec.NewReport(spec.LoadWith(file, o))
			if format == "json" {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if !rep.Valid {
				return exitCode(1, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "spec file, or directory of *.yaml/*.yml files (default ./"+spec.DefaultFile+")")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	addExpiryFlag(cmd, &window)
	return cmd
}

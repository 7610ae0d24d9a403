package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ctlops/ctlops/lab"
	"github.com/spf13/cobra"
)

// labPhoneCmds are the lab's phone commands: `lab phones`, and the hidden process entry points
// the lab starts for each phone and each node's phone side.
func labPhoneCmds(dir *string) []*cobra.Command {
	return []*cobra.Command{newLabPhonesCmd(dir), newLabProcCmd("phone-run", lab.RunPhone), newLabProcCmd("callmanager-run", lab.RunCallManager),
		newLabProcCmd("serviceability-run", lab.RunServiceability)}
}

func newLabPhonesCmd(dir *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "phones",
		Short: "List the lab's phones: model, registration, security, installed CTL, last status",
		Long: `phones lists every simulated phone of the lab: its model and protocol, the node it is
registered with and whether over TLS, the SHA-256 of its installed CTL and ITL, its last
trust-list status message in Cisco's words ("Trust List update failed", P46) and its last error.
JSON is an array of objects with name, mac, model, cluster, protocol, node, registered, secure,
ctlSHA256, itlSHA256 (hex, or null), status and lastError (or null), and more.

Exit status: 0 listed, 1 error or no lab.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			l, err := lab.Open(*dir)
			if err != nil {
				return err
			}
			st, err := l.Phones()
			if err != nil {
				return err
			}
			if format == "json" {
				return lab.WritePhonesJSON(cmd.OutOrStdout(), st)
			}
			return lab.WritePhonesText(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// newLabProcCmd is a hidden process entry point the lab runs (`--config FILE`).
func newLabProcCmd(name string, run func(ctx context.Context, cfg string, out io.Writer) error) *cobra.Command {
	var cfg string
	cmd := &cobra.Command{
		Use:    name,
		Hidden: true,
		Short:  "internal: a lab process (started by `ctlops lab up`)",
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&cfg, "config", "", "process config written by the lab")
	return cmd
}

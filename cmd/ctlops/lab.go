package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/ctlops/ctlops/lab"
	"github.com/spf13/cobra"
)

func init() { register(newLabCmd) }

func newLabCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run a lab of simulated CallManager clusters, tokens and a ready spec on this machine",
		Long: `lab runs the built-in lab on loopback ports: two token-based clusters of reference CTL
Providers (hq: a publisher with CallManager, TFTP and CAPF, a subscriber, a TFTP-only node;
branch: one node serving as hq's alternate TFTP), one tokenless cluster, metro (a simulated
CUCM 12.5: mpub and msub, reached through the platform CLI over SSH and TFTP), the
serviceability simulators, simulated phones on every cluster, real TLS and TFTP, SoftHSM2
tokens, and a ready DIR/ctlops.yaml and DIR/lab.env. After ` + "`. DIR/lab.env`" + `, plan, apply
and drift run against it without a question but the confirmation.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", labDir(), "lab directory (default $"+labDirEnv+", which DIR/lab.env exports, else "+lab.DefaultDir+")")
	cmd.AddCommand(newLabUpCmd(&dir), newLabStatusCmd(&dir), newLabDownCmd(&dir), newLabEventCmd(&dir))
	cmd.AddCommand(labPhoneCmds(&dir)...) // lab_phones.go
	return cmd
}

// labDirEnv is the variable DIR/lab.env exports: after sourcing it, lab commands find the lab
// without --dir.
const labDirEnv = "CTLOPS_LAB_DIR"

func labDir() string {
	if d := os.Getenv(labDirEnv); d != "" {
		return d
	}
	return lab.DefaultDir
}

func newLabUpCmd(dir *string) *cobra.Command {
	var o lab.UpOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Make and start the lab (or start a stopped one again)",
		Long: `up makes the lab in --dir and starts its nodes in the background, or starts a stopped lab
again as it was. It refuses a lab that runs, and a non-empty directory that holds no lab.
The nodes need the ctl-provider program next to ctlops or on PATH (make build puts both in bin/).
Without SoftHSM2 (Debian: softhsm2, opensc, gnutls-bin), the lab signs with software keys and says so.

Exit status: 0 running, 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Dir, o.Out = *dir, cmd.ErrOrStderr()
			l, err := lab.Up(cmd.Context(), o)
			if err != nil {
				return err
			}
			st, err := l.Status()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := l.WriteStatusText(out, st); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nnext:\n  . %s/%s\n  ctlops plan -f %s/%s\n  ctlops lab event --help      (what can happen to a cluster, R22)\n  ctlops lab down --dir %s\n",
				l.Dir, lab.EnvFile, l.Dir, lab.SpecFile, *dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Provider, "provider", "", "ctl-provider program (default: next to ctlops, else on PATH)")
	cmd.Flags().BoolVar(&o.SoftwareKeys, "software-keys", false, "sign with key files even when SoftHSM2 is available")
	cmd.Flags().BoolVar(&o.Fresh, "fresh", false, "stop and delete an existing lab in --dir and make a new one")
	cmd.Flags().IntVar(&o.Phones, "phones", 0, "phones per cluster (default 4 on hq, 2 elsewhere; -1: none)")
	return cmd
}

func newLabStatusCmd(dir *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List the lab's nodes: cluster, name, roles, addresses, pid",
		Long: `status lists every node of the lab with its roles, its CTL Provider (https) and TFTP
addresses and the pid of its process (0, or "stopped", when it does not run).

Exit status: 0 every node runs, 1 error or no lab, 5 some node does not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			l, err := lab.Open(*dir)
			if err != nil {
				return err
			}
			st, err := l.Status()
			if err != nil {
				return err
			}
			if format == "json" {
				err = lab.WriteStatusJSON(cmd.OutOrStdout(), st)
			} else {
				err = l.WriteStatusText(cmd.OutOrStdout(), st)
			}
			if err != nil {
				return err
			}
			if lab.Running(st) != len(st) {
				return exitCode(exitLabDown, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func newLabDownCmd(dir *string) *cobra.Command {
	var purge bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every node of the lab and wait until each has exited",
		Long: `down stops the lab's node processes by their recorded pids and waits until each has exited.
The files stay (logs, CTLs, audit logs) unless --purge deletes the lab directory. Running it
on a stopped lab, or where there is none, does nothing and succeeds.

Exit status: 0 nothing of the lab runs, 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			msg, err := lab.Down(*dir, purge)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			return nil
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete the lab directory")
	return cmd
}

func newLabEventCmd(dir *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "event KIND [ARGS...]",
		Short: "Cause on the running lab what forces a CTL update (R22), or drift",
		Long: `event changes the running lab the way a cluster changes (R22), so that plan and drift have
something to find. NODE is a node name (hq's are cm1, cm2, cm3; branch's br1; metro's mpub,
msub), or CLUSTER/NODE (hq/cm2, metro/msub); CLUSTER is hq, branch or metro. On metro,
manual-update, enable-capf and rogue-update do not apply (it speaks no CTL Provider protocol
and keeps its CTL inside its simulator; its publisher runs CAPF already); reset-phones metro
and erase-ctl on its phones do. Events:

` + lab.EventUsage() + `
Exit status: 0 done, 1 error, 4 no event, an unknown event or wrong arguments.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "ctlops: lab event: name an event\nevents:\n%s", lab.EventUsage())
				return exitCode(exitUsage, nil)
			}
			l, err := lab.Open(*dir)
			if err != nil {
				return err
			}
			msg, err := l.Event(cmd.Context(), args[0], args[1:])
			if errors.Is(err, lab.ErrUsage) {
				fmt.Fprintf(cmd.ErrOrStderr(), "ctlops: %v\nevents:\n%s", err, lab.EventUsage())
				return exitCode(exitUsage, nil)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			return nil
		},
	}
	return cmd
}

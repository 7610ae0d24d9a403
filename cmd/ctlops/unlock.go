package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/token"
)

func init() { register(newUnlockCmd) }

func newUnlockCmd() *cobra.Command {
	var f planFlags
	var autoApprove, input bool
	var auditLog string
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Break the update locks another client left on a cluster's servers (R24)",
		Long: `unlock is for an admin after an apply or a CTL client died while holding the update
locks (R24) of a cluster's servers, and waiting for their lease to end is not an option. It
lists every holder (user, host, operation, since when), asks 'Type "yes"', breaks the locks
of every server the selected clusters write (alternate TFTP servers included) and appends
the holders to the audit log. Nothing else changes.

Breaking a lock that a running apply still holds lets a second writer in: check the holders
first.

Exit status: 0 broken or none held; 1 error; 3 declined at the prompt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stdin, stdout, stderr := cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			cfg, err := loadTrusted(f.file, f.trusted, stderr)
			if err != nil {
				return err
			}
			o := f.applyOptions(cfg, autoApprove, stdout, auditLog)
			if _, tty := token.TerminalFD(stdin); input && tty {
				o.Confirm = confirmYes(ctx, stdin, stderr)
			}
			_, err = apply.Unlock(ctx, o)
			if errors.Is(err, apply.ErrDeclined) {
				fmt.Fprintln(stderr, "No lock broken.")
				return exitCode(3, nil)
			}
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "break the locks without asking")
	cmd.Flags().BoolVar(&input, "input", true, "ask on the terminal; --input=false makes the question an error naming --auto-approve")
	cmd.Flags().StringVar(&auditLog, "audit-log", "", "append the audit line here (default .ctlops/audit.jsonl beside the spec)")
	return cmd
}

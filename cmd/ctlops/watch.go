package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

func init() { register(newWatchCmd) }

func newWatchCmd() *cobra.Command {
	var f planFlags
	var debounce time.Duration
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Plan again whenever the spec or a file it references changes",
		Long: `watch prints the plan, then prints a new one each time a spec file or a file it references
(token certificates, the CA, a password file) is saved: editors that write a temporary file
and rename it, or truncate and write, are both seen. A spec that does not load prints its
errors and the watch goes on. Nothing is written to any server. Stop it with Ctrl-C.
Certificates expiring within the spec's expiryWarning (30 days when it sets none), or within
--expiry-window when given, are warned about, as by plan.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lo, err := loadOptions(f.expiryWindow)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return drift.Watch(ctx, drift.WatchOptions{
				Path:     f.file,
				Load:     lo,
				Debounce: debounce,
				Plan: func(ctx context.Context, cfg *spec.Config) (*plan.Plan, error) {
					if err := pinTrusted(cfg, f.trusted); err != nil {
						return nil, err
					}
					return live.Plan(ctx, cfg, f.clusters, live.Options{Parallelism: f.parallelism, Timeout: f.timeout}, version, time.Now())
				},
				Render: func(w io.Writer, p *plan.Plan) error { return renderPlan(w, p, "text", &f, "ctlops apply", "") },
				Out:    cmd.OutOrStdout(),
				Errs:   cmd.ErrOrStderr(),
			})
		},
	}
	f.add(cmd)
	addExpiryFlag(cmd, &f.expiryWindow)
	cmd.Flags().DurationVar(&debounce, "debounce", 200*time.Millisecond, "quiet time after a change before planning again")
	return cmd
}

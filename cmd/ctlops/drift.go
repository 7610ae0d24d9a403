package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/drift"
)

func init() { register(newDriftCmd) }

func newDriftCmd() *cobra.Command {
	var f planFlags
	var every time.Duration
	var report, metrics, listen, notify, shard, format string
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Report whether the live clusters still match the spec (never writes)",
		Long: `drift fetches and plans every selected cluster and says whether it has moved away from
what the spec declares: records or the mode to change (a server's new IP or certificate, R22;
a discovered server missing from the CTL, R14), servers whose copy differs or is missing, a
live file whose signature fails or whose signer nobody declared (R19). It never writes: it
holds only read-only views of the providers. tftp:// and dir:// sources work too.

Exit status: 0 no drift, 2 drift, 1 error (a cluster that could not be checked).

--every 15m keeps running: one JSON line per check on stdout, and one more when a drift
state (cluster + every server's file digest + the desired file's digest) appears or clears,
not at every tick. --report FILE keeps the latest full result as JSON; --metrics FILE writes
Prometheus metrics for node_exporter's textfile collector, --listen ADDR serves them at
/metrics; --notify URL POSTs each state change as JSON. --shard i/n checks the clusters whose
FNV-1a hash of the name mod n is i (0-based), for one scheduled job per shard.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sched := drift.Schedule{Every: every, Listen: listen, Format: format}
			if err := sched.Validate(); err != nil {
				return err
			}
			sh, err := drift.ParseShard(shard)
			if err != nil {
				return fmt.Errorf("--shard: %w", err)
			}
			if notify != "" {
				if err := drift.ValidateNotifyURL(notify); err != nil {
					return err
				}
			}
			cfg, err := f.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			o := drift.Options{Parallelism: f.parallelism, Timeout: f.timeout, Shard: sh, Version: version, Progress: progressFor(cmd.ErrOrStderr())}
			loop := &drift.Loop{
				Check:       func(ctx context.Context) (*drift.Result, error) { return drift.Check(ctx, cfg, f.clusters, o) },
				Every:       every,
				ReportFile:  report,
				MetricsFile: metrics,
				NotifyURL:   notify,
			}
			if metrics != "" || listen != "" {
				loop.Metrics = drift.NewMetrics()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if every == 0 {
				r, _, err := loop.Once(ctx)
				if r != nil {
					if werr := sched.Write(cmd.OutOrStdout(), r); werr != nil {
						return werr
					}
				}
				if err != nil {
					return err
				}
				return exitCode(r.ExitCode(), nil)
			}
			loop.Log = cmd.OutOrStdout()
			if listen != "" {
				addr, stopServing, err := loop.ServeMetrics(listen)
				if err != nil {
					return err
				}
				defer stopServing()
				fmt.Fprintf(cmd.ErrOrStderr(), "metrics on http://%s/metrics\n", addr)
			}
			return loop.Run(ctx)
		},
	}
	f.add(cmd)
	addExpiryFlag(cmd, &f.expiryWindow)
	cmd.Flags().Lookup("parallelism").Usage = "clusters checked at once (each reads its servers concurrently)"
	cmd.Flags().DurationVar(&every, "every", 0, "keep running, one check per interval (e.g. 15m)")
	cmd.Flags().StringVar(&report, "report", "", "write the latest full result as JSON to FILE (atomically)")
	cmd.Flags().StringVar(&metrics, "metrics", "", "write Prometheus metrics to FILE for the node_exporter textfile collector (atomically)")
	cmd.Flags().StringVar(&listen, "listen", "", "serve Prometheus metrics at http://ADDR/metrics (with --every)")
	cmd.Flags().StringVar(&notify, "notify", "", "POST each drift state change as JSON to this webhook URL")
	cmd.Flags().StringVar(&shard, "shard", "", "check only shard i of n (i/n, 0-based): FNV-1a(cluster name) mod n == i")
	cmd.Flags().StringVar(&format, "format", "text", "one-shot output: text or json")
	return cmd
}

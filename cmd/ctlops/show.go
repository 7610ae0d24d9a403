package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/adopt"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

func init() { register(newShowCmd) }

func newShowCmd() *cobra.Command {
	var file, node string
	var clusters []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "show [-f PATH] [--cluster NAME] [--node NAME]",
		Short: "Show the live CTL of each cluster (or one node) as CUCM's show ctl does",
		Long: `show reads the CTL file every server of the selected clusters holds and prints it in
the words and layout of CUCM's "show ctl": the file's MD5 and SHA-1 checksums (what the
phone's Settings > Security > Trust List > CTL File menu shows, MD5 or SHA-1 by model),
its length, the header's and every record's tags, and each certificate's expiry (expired
/ expires in N days). Servers that hold the same file are shown once, naming them all.

It only reads, through the same read-only readers as plan and drift (tftp://, dir:// and
CTL Provider sources alike); it needs no token.

Exit status: 0 when every selected server was read; 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadSpec(file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			sel, err := live.Select(cfg, clusters)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			lives := live.Fetch(ctx, cfg, sel, live.Options{Timeout: timeout})
			out := cmd.OutOrStdout()
			failed, matched := false, false
			for i, c := range sel {
				if i > 0 {
					fmt.Fprintln(out)
				}
				ok, m := showCluster(out, c.Name, lives[c.Name], node, time.Now())
				failed, matched = failed || !ok, matched || m
			}
			if node != "" && !matched {
				return fmt.Errorf("no server named %s in %s", termsafe.Line(node), strings.Join(names(sel), ", "))
			}
			if failed {
				return exitCode(1, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "spec file, or directory of *.yaml/*.yml files (default ./ctlops.yaml)")
	cmd.Flags().StringArrayVar(&clusters, "cluster", nil, "show only this cluster (repeatable)")
	cmd.Flags().StringVar(&node, "node", "", "show only this server (its name or address)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "per-request timeout")
	return cmd
}

func names(cs []*spec.Cluster) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// showCluster prints one cluster's files grouped by content. ok is false when a server could
// not be read; matched says whether --node named one of its servers.
func showCluster(w io.Writer, name string, l *plan.Live, node string, now time.Time) (ok, matched bool) {
	ok = true
	var targets []plan.Target
	for _, t := range l.Targets {
		if node == "" || strings.EqualFold(t.Server, node) || strings.EqualFold(t.Address, node) {
			targets = append(targets, t)
		}
	}
	matched = len(targets) > 0
	if node != "" && !matched {
		return ok, false
	}
	fmt.Fprintf(w, "Cluster %s\n", name)
	if len(l.Targets) == 0 {
		for _, e := range l.Errors {
			fmt.Fprintf(w, "  cannot read: %s\n", termsafe.Line(e))
		}
		return len(l.Errors) == 0, matched
	}
	type group struct {
		data  []byte
		nodes []string
	}
	var groups []*group
	byDigest := map[string]*group{}
	for _, t := range targets {
		label := termsafe.Line(t.Server)
		if t.Address != t.Server {
			label += " (" + termsafe.Line(t.Address) + ")"
		}
		if t.Alternate {
			label += " [alternate TFTP]"
		}
		switch {
		case t.Err != "":
			ok = false
			fmt.Fprintf(w, "  %s: cannot read: %s\n", label, termsafe.Line(t.Err))
		case t.Data == nil:
			fmt.Fprintf(w, "  %s: Length of CTL file: 0 CTL File not found\n", label)
		default:
			d := provider.ETag(t.Data)
			g := byDigest[d]
			if g == nil {
				g = &group{data: t.Data}
				byDigest[d] = g
				groups = append(groups, g)
			}
			g.nodes = append(g.nodes, label)
		}
	}
	for i, g := range groups {
		same := ""
		if len(groups) > 1 {
			same = fmt.Sprintf(" — file %d of %d different files", i+1, len(groups))
		}
		fmt.Fprintf(w, "\n%s: %s%s\n\n", plural(len(g.nodes), "Server", "Servers"), strings.Join(g.nodes, ", "), same)
		if err := adopt.ShowCTL(w, g.data, now); err != nil {
			// CUCM's words for a file it cannot read; the parser's error says where.
			fmt.Fprintf(w, "Error parsing the CTL File: %s\n", termsafe.Line(err.Error()))
			ok = false
		}
	}
	return ok, matched
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

func init() { register(newPlanCmd) }

// planFlags are shared by plan, apply and drift.
type planFlags struct {
	file        string
	clusters    []string
	parallelism int
	timeout     time.Duration
	noColor     bool
	verbose     bool
	trusted     string   // --trusted-spec (trust.go)
	replace     []string // --replace of plan and apply (addReplaceFlag, apply.go)
	// expiryWindow is --expiry-window of plan, apply, drift and watch (addExpiryFlag, expiryflag.go).
	expiryWindow string
}

func (f *planFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "", "spec file, or directory of *.yaml/*.yml files (default ./"+spec.DefaultFile+")")
	cmd.Flags().StringArrayVar(&f.clusters, "cluster", nil, "plan only this cluster (repeatable)")
	cmd.Flags().IntVar(&f.parallelism, "parallelism", 10, "requests in flight across all clusters and servers")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "per-request timeout: a dead server delays only its own cluster")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "no ANSI colours (NO_COLOR is honoured too)")
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "also show unchanged records and servers")
	addTrustFlag(cmd, &f.trusted)
}

// loadSpec loads the spec and prints its warnings; errors carry file:line:col.
func loadSpec(path string, stderr io.Writer) (*spec.Config, error) {
	return loadSpecWith(path, spec.LoadOptions{}, stderr)
}

// loadSpecWith is loadSpec with load options (--expiry-window).
func loadSpecWith(path string, o spec.LoadOptions, stderr io.Writer) (*spec.Config, error) {
	cfg, warnings, err := spec.LoadWith(path, o)
	for _, w := range warnings {
		fmt.Fprintln(stderr, termsafe.String(w.String())) // they name the spec's files
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// makePlan loads, fetches and plans; shared by plan and apply.
func (f *planFlags) makePlan(ctx context.Context, stderr io.Writer) (*spec.Config, *plan.Plan, error) {
	cfg, err := f.load(stderr)
	if err != nil {
		return nil, nil, err
	}
	p, err := live.Plan(ctx, cfg, f.clusters, live.Options{Parallelism: f.parallelism, Timeout: f.timeout, Plan: plan.Inputs{Replace: f.replace}, Progress: progressFor(stderr)}, version, time.Now())
	return cfg, p, err
}

// colorOK says whether w is a terminal that may get colours.
func colorOK(w io.Writer, noColor bool) bool {
	if noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func renderPlan(w io.Writer, p *plan.Plan, format string, f *planFlags, applyCmd, fullPlan string) error {
	switch format {
	case "text":
		return p.WriteText(w, plan.TextOptions{Color: colorOK(w, f.noColor), Verbose: f.verbose})
	case "markdown":
		return p.WriteMarkdown(w, plan.MarkdownOptions{ApplyCommand: applyCmd, FullPlan: fullPlan})
	case "json":
		return p.WriteJSON(w)
	}
	return fmt.Errorf("--format %q: want text, markdown or json", format)
}

func newPlanCmd() *cobra.Command {
	var f planFlags
	var out, format string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what would change in each cluster's CTL",
		Long: `plan reads each declared cluster's live state from its CTL Providers, computes the CTL
the spec asks for (tokens from the YAML, servers from the cluster's inventory, R14) and shows
every record that would be added (+), refreshed (~), replaced (-/+) or removed (-), the
security mode change, servers whose copy differs, the rules that refuse the change, and the
steps after apply (R23). Nothing is written to any server.

--out FILE saves the plan for 'ctlops apply FILE', which refuses it once anything it saw
has changed. --format markdown is for pull-request comments; json is versioned.

Exit status: 0 success (with --detailed-exitcode: 0 no changes, 2 changes); 1 error or a
refused plan.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "markdown" && format != "json" {
				return fmt.Errorf("--format %q: want text, markdown or json", format)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			_, p, err := f.makePlan(ctx, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			applyCmd, fullPlan := "ctlops apply", ""
			if f.file != "" {
				applyCmd += " -f " + shellWord(f.file)
			}
			if out != "" {
				applyCmd, fullPlan = applyCommand(out, f.file), out
			}
			if err := renderPlan(cmd.OutOrStdout(), p, format, &f, applyCmd, fullPlan); err != nil {
				return err
			}
			if out != "" && p.Failed() {
				fmt.Fprintf(cmd.ErrOrStderr(), "Plan not saved to %s: it is refused, so nothing may apply it.\n", out)
			} else if out != "" {
				if err := p.SaveWith(out, plan.SpecFor(f.file, out)); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Plan saved to %s; apply it with: %s\n", out, applyCommand(out, f.file))
			}
			switch {
			case p.Failed():
				return exitCode(1, nil)
			case detailed && p.HasChanges():
				return exitCode(2, nil)
			}
			return nil
		},
	}
	f.add(cmd)
	addReplaceFlag(cmd, &f)
	addExpiryFlag(cmd, &f.expiryWindow)
	cmd.Flags().StringVar(&out, "out", "", "save the plan to FILE for 'ctlops apply FILE'")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, markdown or json")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when there are changes, 0 when none")
	return cmd
}

// applyCommand is the exact command that applies the plan saved at out: with -f when the spec
// is not ./ctlops.yaml, so that it can be pasted as it is (the plan file also records the
// spec, for `apply PLANFILE` from elsewhere).
func applyCommand(out, specFile string) string {
	c := "ctlops apply " + shellWord(out)
	if specFile != "" {
		c += " -f " + shellWord(specFile)
	}
	return c
}

// shellWord quotes s for a POSIX shell when it holds anything but plain path characters.
func shellWord(s string) string {
	for _, r := range s {
		if !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '+' || r == '=' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

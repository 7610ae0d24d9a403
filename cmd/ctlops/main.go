// Command ctlops manages Cisco CallManager Certificate Trust List (CTL) files the GitOps way.
//
// The CLI is deliberately thin: every command parses flags, calls a package function and maps
// its result to output and an exit status (exitcodes.go). Each command lives in its own file
// and registers itself with register() so that commands can be added without touching this
// file. What every command shares lives here: the exit-status table, usage errors, one signal
// context (signals.go), Terraform-style single-dash flags (dashflags.go), the version
// (version.go) and --no-color.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/spf13/cobra"
)

var commands []func() *cobra.Command

// register adds a command constructor; each command file calls it from init.
func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ctlops",
		Short: "Manage Cisco CallManager CTL files from declared state",
		Long: `ctlops keeps Cisco CallManager Certificate Trust List (CTL) files in line with
the security mode, security tokens and alternate TFTP servers declared in YAML.
"ctlops COMMAND --help" says more; the rules cited as R1..R27 are in docs/domain.md.

` + exitTable + `

Flags may be written Terraform's way too: -auto-approve, -out=FILE.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRunE,
	}
	root.SetVersionTemplate("ctlops {{.Version}}\n")
	root.PersistentFlags().Bool("no-color", false, "no ANSI colours (NO_COLOR is honoured too)")
	for _, newCmd := range commands {
		root.AddCommand(newCmd())
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(flagHint(c, err)) })
	root.PersistentPreRunE = preRun
	walk(root, func(c *cobra.Command) {
		switch {
		case c.Args != nil:
			args := c.Args
			c.Args = func(c *cobra.Command, a []string) error { return usageError(args(c, a)) }
		case c.HasSubCommands() && !c.Runnable():
			// A group such as `lab`: cobra would print help and exit 0 on `lab bogus`.
			c.Args, c.RunE = cobra.ArbitraryArgs, groupRunE
		}
		applyContract(c)
		addNotifySources(c)
		if noVerbose[c.CommandPath()] {
			if f := c.Flags().Lookup("verbose"); f != nil {
				f.Hidden = true
			}
		}
	})
	return root
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, s := range c.Commands() {
		walk(s, fn)
	}
}

// groupRunE is the action of a command that only groups others: help without arguments, a
// usage error naming the closest subcommand otherwise.
func groupRunE(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return usageError(fmt.Errorf("%s (see %s --help)", msg, c.CommandPath()))
}

// noVerbose lists the commands that take --verbose with the others (they share plan's flags)
// but have nothing more to show: their text already names every cluster and server. The flag
// is hidden there and refused with a pointer to where it works, rather than silently ignored.
var noVerbose = map[string]bool{"ctlops drift": true, "ctlops unlock": true}

// preRun runs before every command: --no-color (wherever it was written) switches colour off
// the way NO_COLOR does, and --verbose is refused where it would do nothing.
func preRun(c *cobra.Command, _ []string) error {
	if f := c.Flags().Lookup("no-color"); f != nil && f.Changed && f.Value.String() == "true" {
		setNoColor()
	}
	if f := c.Flags().Lookup("verbose"); f != nil && f.Changed && noVerbose[c.CommandPath()] {
		return usageError(fmt.Errorf("--verbose: %s already shows every cluster and server; it shows unchanged records on plan, apply and watch", c.CommandPath()))
	}
	if err := applySignWith(c); err != nil {
		return err
	}
	if err := applyNotifySources(c); err != nil {
		return err
	}
	current.set(c)
	return nil
}

// noColorSet remembers that run() set NO_COLOR, so that it can undo it (tests call run()
// many times in one process).
var noColorSet bool

func setNoColor() {
	if _, ok := os.LookupEnv("NO_COLOR"); !ok {
		os.Setenv("NO_COLOR", "1")
		noColorSet = true
	}
}

// run executes the CLI with the given arguments and streams and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(dashFlags(root, args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	defer func() {
		if noColorSet {
			os.Unsetenv("NO_COLOR")
			noColorSet = false
		}
	}()
	sig := watchSignals(stderr)
	defer sig.stop()
	err := root.ExecuteContext(sig.ctx)
	code := exitOK
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "ctlops: %s\n", termsafe.Error(ee.err))
		}
		code = ee.code
	default:
		fmt.Fprintf(stderr, "ctlops: %s\n", termsafe.Error(err))
		code = exitFailed
	}
	// A command that failed because a signal cancelled it reports the signal, not a failure.
	if n := sig.received(); n != 0 && code != exitOK && code != exitUsage {
		code = exitSignalBase + n
	}
	return code
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

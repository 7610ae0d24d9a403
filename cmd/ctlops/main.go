// Command ctlops manages Cisco CallManager Certificate Trust List (CTL) files the GitOps way.
//
// The CLI is deliberately thin: every command parses flags, calls a package function and maps
// its result to output and an exit status. Each command lives in its own file and registers
// itself with register() so that commands can be added without touching this file.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries the process exit status a command wants, beside the message (if any) to
// print on stderr. A nil err with a code means "exit quietly with that code".
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns err wrapped so that run() exits with code.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

var commands []func() *cobra.Command

// register adds a command constructor; each command file calls it from init.
func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ctlops",
		Short: "Manage Cisco CallManager CTL files from declared state",
		Long: `ctlops keeps Cisco CallManager Certificate Trust List (CTL) files in line with
the security mode, security tokens and alternate TFTP servers declared in YAML.

Exit status: 0 success, 1 error; plan and drift use 2 for "changes" or "drift found",
apply 3 when the confirmation is declined. "ctlops COMMAND --help" says more.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, newCmd := range commands {
		root.AddCommand(newCmd())
	}
	return root
}

// run executes the CLI with the given arguments and streams and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "ctlops: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "ctlops: %v\n", err)
	return 1
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

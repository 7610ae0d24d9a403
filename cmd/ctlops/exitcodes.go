package main

import (
	"errors"
	"fmt"
)

// The exit status of every ctlops command. Each code means one thing across the whole CLI, so
// that a CI step can branch on it without knowing which command ran. (Until this table, lab
// used 2 for a usage error and 3 for "some node does not run", which plan and apply use for
// "changes" and "declined".)
const (
	exitOK       = 0 // success: done, nothing to do, no drift, the lab runs
	exitFailed   = 1 // something failed or a plan is refused
	exitChanges  = 2 // plan --detailed-exitcode: changes to apply; drift: drift found
	exitDeclined = 3 // the answer to 'Type "yes"' was not yes (apply, unlock)
	exitUsage    = 4 // the command line could not be parsed
	exitLabDown  = 5 // lab status: some node of the lab does not run
	exitPartial  = 6 // apply: the clusters that could be applied were; others were skipped
	// A command stopped by a signal after cleaning up exits 128 + the signal's number: 130
	// for SIGINT (Ctrl-C), 143 for SIGTERM, as shells report a process killed by it.
	exitSignalBase = 128
)

// exitTable is the table `ctlops --help` and the README show.
const exitTable = `Exit status, the same for every command:
  0    success: done, nothing to do, no drift, the lab runs
  1    error: something failed, or the plan is refused; the message says what
  2    changes: plan --detailed-exitcode has changes to apply; drift found drift
  3    declined: the answer to 'Type "yes"' was not yes (apply, unlock)
  4    usage: unknown command, flag or lab event; wrong number of arguments;
       a flag value that does not parse
  5    lab status: some node of the lab does not run
  6    partial: apply applied the clusters it could and skipped the others
       (refused, suspended, unplannable); the report names each with its reason
  130  stopped by Ctrl-C (SIGINT), 143 by SIGTERM, after cleaning up (locks released);
       drift --every and watch stopped by a signal exit 0`

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

// usageError marks err as a command line that could not be parsed (exit 4). An error that
// already carries a code keeps it.
func usageError(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return exitCode(exitUsage, err)
}

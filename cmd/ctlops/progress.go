package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/ctlops/ctlops/internal/progress"
)

// progressFor is where plan, drift and apply report the servers they read (issue 17): off a
// terminal (a CI log, a cron mail), one line per server read to stderr, so a slow or dead
// server is not silence. On a terminal, one status line rewritten in place (servers read of
// those known, which are pending), erased once all are read. An in-process writer that is not
// a file (tests, a caller's buffer) gets nothing.
func progressFor(stderr io.Writer) progress.Reporter {
	f, ok := stderr.(*os.File)
	switch {
	case !ok:
		return progress.Nop{}
	case term.IsTerminal(int(f.Fd())):
		return progress.Terminal(f)
	}
	return progress.Lines(f)
}

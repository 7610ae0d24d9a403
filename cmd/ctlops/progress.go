package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/ctlops/ctlops/internal/progress"
	"github.com/ctlops/ctlops/internal/termsafe"
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

// lockCountdown shows, on a terminal, how long apply may still wait for a held lock (issue
// 17), rewritten in place about once a second and erased when the wait ends; off a terminal
// the one line "lock held by …; waiting up to …" apply prints says it.
func lockCountdown(stderr io.Writer) func(string, time.Duration) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return countdown(f)
}

// countdown writes the countdown line to w.
func countdown(w io.Writer) func(string, time.Duration) {
	var mu sync.Mutex
	shown := ""
	return func(addr string, left time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if left <= 0 {
			if shown != "" {
				fmt.Fprint(w, progress.ClearLine)
				shown = ""
			}
			return
		}
		line := fmt.Sprintf("  waiting for the update lock of %s: %s left (Ctrl-C stops and releases every lock)", termsafe.Line(addr), left.Round(time.Second))
		if line != shown {
			fmt.Fprint(w, progress.ClearLine+line)
			shown = line
		}
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
)

// cancelOnSignal lists the commands that watch their context and clean up when it ends: an
// apply releases its update locks, a drift loop stops after the check in flight. For them a
// SIGINT (Ctrl-C) or SIGTERM (a cancelled CI job, `kubectl delete`) cancels the context of
// the whole command; a second signal ends the process at once. Every other command dies of
// the signal as it always did: it holds nothing that needs cleaning up, and a prompt that
// does not watch the context must stay interruptible. A command added later joins the list
// with the annotation cancelAnnotation.
var cancelOnSignal = map[string]bool{
	"ctlops plan": true, "ctlops apply": true, "ctlops drift": true, "ctlops unlock": true,
	"ctlops watch": true, "ctlops import": true, "ctlops lab up": true, "ctlops lab event": true,
}

// cancelAnnotation on a command says "cancel my context on a signal" (see cancelOnSignal).
const cancelAnnotation = "ctlops/signals"

func watchesContext(c *cobra.Command) bool {
	return cancelOnSignal[c.CommandPath()] || c.Annotations[cancelAnnotation] == "cancel"
}

// runningCmd is the command being run, set once its flags are parsed: before that a signal
// ends the process as usual.
type runningCmd struct {
	mu  sync.Mutex
	cmd *cobra.Command
}

var current runningCmd

func (r *runningCmd) set(c *cobra.Command) {
	r.mu.Lock()
	r.cmd = c
	r.mu.Unlock()
}

func (r *runningCmd) get() *cobra.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd
}

// signals is the one signal context of a run.
type signals struct {
	ctx    context.Context
	stop   func()
	signal atomic.Int32
}

func (s *signals) received() int { return int(s.signal.Load()) }

// watchSignals starts watching SIGINT and SIGTERM for one run of the CLI.
func watchSignals(stderr io.Writer) *signals {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	s := &signals{ctx: ctx}
	s.stop = func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
	go func() {
		var first os.Signal
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				c := current.get()
				if first != nil || c == nil || !watchesContext(c) {
					die(sig)
				}
				first = sig
				s.signal.Store(int32(sig.(syscall.Signal)))
				fmt.Fprintf(stderr, "\nctlops: %s: stopping and cleaning up (a second signal quits at once)\n", name(sig))
				cancel()
			}
		}
	}()
	return s
}

func name(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "interrupted"
}

// die ends the process the way the signal would have without ctlops watching it.
func die(sig os.Signal) {
	signal.Reset(sig)
	_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	os.Exit(exitSignalBase + int(sig.(syscall.Signal)))
}

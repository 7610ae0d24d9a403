package phone

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Signals a phone process answers, so that the lab can act on it by pid as on its nodes.
const (
	// ResetSignal resets the phone: a new boot (R23's "reset all devices").
	ResetSignal = syscall.SIGHUP
	// EraseSignal erases the trust list (P49), then resets.
	EraseSignal = syscall.SIGUSR1
)

// Ready is the log line a phone process prints once its first boot is over.
const Ready = "phone booted:"

// Run is a phone process: it boots, then boots again on ResetSignal, erases and boots on
// EraseSignal, and ends on SIGTERM, SIGINT or ctx. Its state goes to cfg.StateFile after every
// change; log lines go to log.
func Run(ctx context.Context, cfg Config, log io.Writer) error {
	p, err := New(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, ResetSignal, EraseSignal, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	report := func(st State) {
		for _, l := range st.Log {
			fmt.Fprintf(log, "%s: %s\n", cfg.Name, l)
		}
		fmt.Fprintf(log, "%s %s registered=%v secure=%v status=%q\n", Ready, cfg.Name, st.Registered, st.Secure, st.Status)
	}
	report(p.Boot(ctx))
	for {
		select {
		case <-ctx.Done():
			p.Close()
			return nil
		case s := <-sig:
			switch s {
			case ResetSignal:
				fmt.Fprintf(log, "%s: reset\n", cfg.Name)
				report(p.Boot(ctx))
			case EraseSignal:
				fmt.Fprintf(log, "%s: erase trust list\n", cfg.Name)
				if err := p.Erase(); err != nil {
					fmt.Fprintf(log, "%s: erase: %v\n", cfg.Name, err)
				}
				report(p.Boot(ctx))
			default:
				p.Close()
				return nil
			}
		}
	}
}

package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/rollout"
)

// rolloutFlags are apply's flags for the verified rollout (R23) through the serviceability
// APIs of clusters that declare them.
type rolloutFlags struct {
	reset          bool
	batch          int
	timeout        time.Duration
	tolerance      string
	resume         bool
	publisherFirst bool
	poll           time.Duration
}

func addRolloutFlags(fl *pflag.FlagSet) *rolloutFlags {
	r := &rolloutFlags{}
	fl.BoolVar(&r.reset, "reset-devices", false, "reset every registered phone through AXL in batches after the push, waiting for each batch to register again (clusters with serviceability endpoints)")
	fl.IntVar(&r.batch, "reset-batch", 0, "phones reset at once (default 10% of the phones)")
	fl.DurationVar(&r.timeout, "restart-timeout", 10*time.Minute, "how long one node's restart (service Started, its phones registered again; the service only when the apply changes the security mode) or one reset batch may take before the rollout stops there")
	fl.StringVar(&r.tolerance, "rollout-tolerance", "0", "phones (N) or share (N%) of the phones registered before that may be missing after the rollout with the result still 'applied'")
	fl.BoolVar(&r.resume, "resume-rollout", false, "continue a rollout an earlier apply left incomplete, from its recorded progress; nothing is signed or pushed")
	fl.BoolVar(&r.publisherFirst, "publisher-first", false, "restart CallManager on the publisher before the subscribers (default: subscribers first)")
	fl.DurationVar(&r.poll, "rollout-poll", 5*time.Second, "how often the rollout asks Control Center and RisPort70 while it waits (Cisco's samples poll every 5 s)")
	return r
}

func (r *rolloutFlags) options() (apply.RolloutOptions, error) {
	tol, err := rollout.ParseTolerance(r.tolerance)
	if err != nil {
		return apply.RolloutOptions{}, exitCode(4, fmt.Errorf("--rollout-tolerance: %w", err))
	}
	if r.batch < 0 {
		return apply.RolloutOptions{}, exitCode(4, fmt.Errorf("--reset-batch %d: want a positive number of phones", r.batch))
	}
	if r.poll < 100*time.Millisecond || r.poll > time.Minute {
		return apply.RolloutOptions{}, exitCode(4, fmt.Errorf("--rollout-poll %v: want 100ms to 1m", r.poll))
	}
	if r.timeout <= 0 {
		return apply.RolloutOptions{}, exitCode(4, fmt.Errorf("--restart-timeout %v: want a positive duration", r.timeout))
	}
	return apply.RolloutOptions{ResetDevices: r.reset, Batch: r.batch, Timeout: r.timeout, Tolerance: tol, PublisherFirst: r.publisherFirst, Poll: r.poll}, nil
}

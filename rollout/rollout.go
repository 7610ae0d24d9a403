// Package rollout verifies that a new CTL reached the phones (R23): it restarts Cisco TFTP
// and Cisco CallManager through Control Center Services, resets the phones through AXL in
// batches, and checks every step against RisPort70 registration, stopping at the first step
// that does not come back and leaving the rest untouched. It talks to the services only
// through the interfaces below, so it runs against the lab's simulators or real nodes alike,
// and records what it did in a State that a later run continues from.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

// Services is Control Center Services on one node (*serviceability.Client).
type Services interface {
	GetServiceStatus(ctx context.Context, services ...string) (*serviceability.ServiceResponse, error)
	ControlServices(ctx context.Context, ct serviceability.ControlType, services ...string) (*serviceability.ServiceResponse, error)
}

// Registry is RisPort70 (*serviceability.Client).
type Registry interface {
	SelectCmDevice(ctx context.Context, cr serviceability.Criteria) (*serviceability.SelectResult, error)
}

// Resetter is AXL on the publisher (*serviceability.Client).
type Resetter interface {
	DoDeviceReset(ctx context.Context, device string) error
}

// Node is one server of the cluster.
type Node struct {
	Name      string
	Publisher bool
	Services  Services
}

// Cluster is what a rollout works on.
type Cluster struct {
	Name     string
	Nodes    []Node // in the spec's order
	Registry Registry
	Resetter Resetter // needed only for resets
}

// Options choose the steps and their limits.
type Options struct {
	RestartServices bool
	ResetDevices    bool
	// Batch is the number of phones reset at once; 0 means 10% of the phones (at least 1).
	Batch int
	// Timeout bounds each wait: one node's service coming back with its phones, one batch
	// coming back. 10 minutes when zero.
	Timeout time.Duration
	// Poll is the interval between status queries; 5 s when zero (DevNet's sample polls
	// Control Center every 5 s).
	Poll time.Duration
	// PublisherFirst restarts CallManager on the publisher before the subscribers.
	PublisherFirst bool
	// ModeChange says that the apply this rollout follows also changed the cluster's
	// security mode (R10, R11), as its fresh plan computed. Phones whose security profile
	// asks for encryption then cannot register again after a CallManager restart: they hold
	// no CTL of the new mode and their configuration file is the old one, and only a reset
	// makes them fetch both, while resets come after the restarts. Waiting for them at a
	// CallManager node would wait until Timeout and stop there. So each CallManager restart
	// waits for the service to be Started only, the phones not registered again then are
	// recorded (State.Deferred), and they are verified with the reset batches, which reset
	// and wait for every phone registered before; the Result still counts every one of
	// them (Tolerance). It is recorded in the State, so a resumed run continues the same
	// way; it needs ResetDevices whenever RestartServices is set (ErrModeChangeNeedsResets).
	ModeChange bool
	Tolerance  Tolerance
	// Emit receives every event (may be nil).
	Emit func(Progress)
	// Save is called with the State after every completed step (may be nil); an error
	// stops the rollout, since a step that cannot be recorded cannot be resumed safely.
	Save func(*State) error
}

// Status words of a Result.
const (
	Applied    = "applied"
	Incomplete = "applied, rollout incomplete"
)

// Result is how a rollout ended.
type Result struct {
	Status  string // Applied or Incomplete
	Before  *Counts
	After   *Counts
	Missing []string // registered before, not registered after
	Stopped string   // why it stopped short, "" if it ran to the end
	// StopReason is Stopped without the phones it names, StopPhones those phones: the ones the
	// step that stopped was still waiting for then (nil when it stopped for another reason).
	// Some may have registered since; Missing says which are still not.
	StopReason string
	StopPhones []string
	State      *State
}

// ErrModeChangeNeedsResets: the restarts of a rollout after a security mode change were asked
// for without the resets that bring the encrypted phones back (Options.ModeChange).
var ErrModeChangeNeedsResets = errors.New("the security mode changed: restarting Cisco CallManager without resetting the phones would leave those whose profile asks for encryption unregistered until a reset")

type runner struct {
	c   Cluster
	opt Options
	st  *State
}

// Run performs the rollout, continuing from st (a fresh one when nil). It returns an error
// only when it could not even take the before counts or record its state; a step that did
// not come back gives a Result with Status Incomplete and Stopped saying which.
func Run(ctx context.Context, c Cluster, opt Options, st *State) (*Result, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Minute
	}
	if opt.Poll <= 0 {
		opt.Poll = 5 * time.Second
	}
	if st == nil {
		st = &State{Version: StateVersion, Cluster: c.Name}
	}
	if st.Cluster != c.Name {
		return nil, fmt.Errorf("rollout state is for cluster %s, not %s", st.Cluster, c.Name)
	}
	if c.Registry == nil {
		return nil, fmt.Errorf("%s: no RisPort70 endpoint to verify registration with", c.Name)
	}
	// A mode change recorded once stays: a resumed run continues as the first one began.
	st.ModeChange = st.ModeChange || opt.ModeChange
	if st.ModeChange && opt.RestartServices && !opt.ResetDevices {
		return nil, fmt.Errorf("%s: %w", c.Name, ErrModeChangeNeedsResets)
	}
	st.Stopped = ""
	r := &runner{c: c, opt: opt, st: st}
	if st.Before == nil {
		phones, err := r.phones(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: before counts: %w", c.Name, err)
		}
		counts := Count(phones)
		st.Before = &counts
		st.Phones = nil
		for _, p := range phones {
			if p.Status == serviceability.Registered {
				st.Phones = append(st.Phones, p.Name)
			}
		}
		if err := r.save(); err != nil {
			return nil, err
		}
		r.emit(Progress{Kind: KindCounts, Phase: "before", Counts: st.Before})
	}
	stop, err := r.steps(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Before: st.Before, State: st}
	if stop != nil {
		res.Stopped, res.StopReason, res.StopPhones = stop.text, stop.reason, stop.phones
	}
	if phones, err := r.phones(ctx); err != nil {
		if res.Stopped == "" {
			res.Stopped = "after counts: " + err.Error()
			res.StopReason = res.Stopped
		}
	} else {
		after := Count(phones)
		res.After = &after
		res.Missing = missing(st.Phones, phones)
		r.emit(Progress{Kind: KindCounts, Phase: "after", Counts: res.After, Phones: res.Missing})
	}
	res.Status = Applied
	if res.Stopped != "" || res.After == nil || len(res.Missing) > opt.Tolerance.Allowed(len(st.Phones)) {
		res.Status = Incomplete
	}
	st.Stopped = res.Stopped
	st.Complete = res.Stopped == ""
	if err := r.save(); err != nil {
		return nil, err
	}
	r.emit(Progress{Kind: KindDone, Result: res})
	return res, nil
}

// steps runs what the state says is left; it returns why it stopped short, or nil.
func (r *runner) steps(ctx context.Context) (*stop, error) {
	if r.opt.RestartServices {
		for _, n := range r.c.Nodes {
			if has(r.st.TFTPDone, n.Name) {
				continue
			}
			if stop, err := r.restart(ctx, n, serviceability.ServiceTFTP); stop != nil || err != nil {
				return stop, err
			}
			r.st.TFTPDone = append(r.st.TFTPDone, n.Name)
			if err := r.save(); err != nil {
				return nil, err
			}
		}
		for _, n := range r.callManagerOrder() {
			if has(r.st.CallManagerDone, n.Name) {
				continue
			}
			if stop, err := r.restart(ctx, n, serviceability.ServiceCallManager); stop != nil || err != nil {
				return stop, err
			}
			r.st.CallManagerDone = append(r.st.CallManagerDone, n.Name)
			if err := r.save(); err != nil {
				return nil, err
			}
		}
	}
	if r.opt.ResetDevices {
		return r.resets(ctx)
	}
	return nil, nil
}

// callManagerOrder is the order CallManager restarts in: subscribers first, the publisher
// last, unless PublisherFirst. Why: phones' CallManager groups normally list subscribers, so
// a subscriber's phones have somewhere to fail over while it restarts; the publisher hosts
// AXL and usually the RisPort70 endpoint this rollout verifies through, and the database
// master, so it is disturbed last; and if a subscriber does not come back, the rollout stops
// with the publisher untouched, leaving the admin a working publisher to repair from.
func (r *runner) callManagerOrder() []Node {
	var subs, pubs []Node
	for _, n := range r.c.Nodes {
		if n.Publisher {
			pubs = append(pubs, n)
		} else {
			subs = append(subs, n)
		}
	}
	if r.opt.PublisherFirst {
		return append(pubs, subs...)
	}
	return append(subs, pubs...)
}

func (r *runner) emit(e Progress) {
	if r.opt.Emit != nil {
		e.Cluster = r.c.Name
		r.opt.Emit(e)
	}
}

func (r *runner) save() error {
	if r.opt.Save == nil {
		return nil
	}
	if err := r.opt.Save(r.st); err != nil {
		return fmt.Errorf("%s: recording the rollout state: %w", r.c.Name, err)
	}
	return nil
}

func (r *runner) phones(ctx context.Context) ([]serviceability.Phone, error) {
	res, err := r.c.Registry.SelectCmDevice(ctx, serviceability.Criteria{})
	if err != nil {
		return nil, err
	}
	return res.Phones(), nil
}

// fatal errors end a wait at once: retrying refused credentials only locks the account.
func fatal(err error) bool {
	return errors.Is(err, serviceability.ErrUnauthorized)
}

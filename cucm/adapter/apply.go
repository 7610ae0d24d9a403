package adapter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	WantMixed bool
	// RestartServices runs the R23 restarts; without it they are returned as Pending.
	RestartServices bool
	Now             func() time.Time
	// ExpiryWarning is the window of the before and after evaluations' certificate warnings:
	// the cluster's spec.Cluster.ExpiryWarning, as the plan warns with (zero:
	// tokenless.DefaultExpiryWarning, the spec's default).
	ExpiryWarning time.Duration
	// Progress is told each step (one line, already safe for a terminal).
	Progress func(string)
	// Expect, when set, is the command the approved plan calls for: Apply refuses, before
	// any write, when its own read of the cluster calls for another one (the cluster changed
	// since the plan was made). "none" expects nothing to do.
	Expect platform.CTLCommand
}

// ExpectNothing is ApplyOptions.Expect for a plan that calls for no command.
const ExpectNothing platform.CTLCommand = "none"

// ApplyResult says what Apply did.
type ApplyResult struct {
	Action   platform.CTLCommand
	Before   *Check
	After    *Check
	Restarts []string // "node service", in the order they ran
	Pending  []string // restarts to do by hand (no --restart-services)
	// BeforeState and AfterState are the reads before the command and after it (nil when it
	// did not run): what every node held, for the report and the audit log.
	BeforeState, AfterState *State
	// Ran is set once the publisher command was sent: from then on the cluster may have changed.
	Ran bool
}

// Apply reads the cluster, and when the desired state differs: checks the pre-flight
// conditions (every node reachable, R26; database replication healthy, TN 118893) before
// anything is written, runs the one publisher command the check calls for (answering its
// confirmation only when it is the expected one), reads every node back and compares it
// with the prediction, then restarts Cisco Tftp and Cisco CallManager one node at a time,
// publisher first (R23), or lists them.
func Apply(ctx context.Context, p *Pool, o ApplyOptions) (*ApplyResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ExpiryWarning <= 0 {
		o.ExpiryWarning = tokenless.DefaultExpiryWarning
	}
	say := func(f string, a ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(f, a...))
		}
	}
	st, err := Read(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, ns := range st.Nodes {
		if ns.Err != nil {
			return nil, fmt.Errorf("pre-flight: %w; nothing was changed (R26: every node must be reachable)", ns.Err)
		}
	}
	before, err := Evaluate(st, o.WantMixed, o.Now(), o.ExpiryWarning)
	if err != nil {
		return nil, err
	}
	res := &ApplyResult{Action: before.Action, Before: before, BeforeState: st}
	if o.Expect != "" {
		got := before.Action
		if got == "" {
			got = ExpectNothing
		}
		if got != o.Expect {
			return nil, fmt.Errorf("cluster %s changed since the plan: the plan calls for %q, the cluster now needs %q; nothing was changed: make a new plan", p.t.Cluster, o.Expect, got)
		}
	}
	if before.Action == "" {
		return res, nil
	}
	pub, err := p.Session(ctx, p.t.Publisher)
	if err != nil {
		return nil, err
	}
	repl, err := pub.Replication(ctx)
	if err != nil {
		return nil, fmt.Errorf("pre-flight: %w; nothing was changed", err)
	}
	if ok, why := repl.Healthy(); !ok {
		return nil, fmt.Errorf("pre-flight: database replication is not healthy (%s); nothing was changed: CUCM copies the CTL to every node, fix replication first", why)
	}
	say("%s: %s on %s", p.t.Cluster, before.Action, p.t.Publisher)
	res.Ran = true
	if err := pub.CTL(ctx, before.Action); err != nil {
		return res, err
	}
	st2, err := Read(ctx, p)
	if err != nil {
		return res, fmt.Errorf("read back: %w", err)
	}
	res.AfterState = st2
	after, err := Evaluate(st2, o.WantMixed, o.Now(), o.ExpiryWarning)
	if err != nil {
		return res, fmt.Errorf("read back: %w", err)
	}
	res.After = after
	if after.Drifted() {
		var d []string
		for _, n := range after.Nodes {
			for _, x := range n.Differences {
				d = append(d, n.Node+": "+x.String())
			}
		}
		return res, fmt.Errorf("read back after %s: the nodes do not hold the predicted CTL: %s", before.Action, strings.Join(d, "; "))
	}
	say("%s: every node holds the predicted CTL", p.t.Cluster)
	var steps [][2]string
	order := append([]Node{}, p.t.Nodes...)
	for i, n := range order { // publisher first
		if n.Name == p.t.Publisher && i > 0 {
			order[0], order[i] = order[i], order[0]
		}
	}
	for _, n := range order {
		if n.TFTPService {
			steps = append(steps, [2]string{n.Name, platform.ServiceTFTP})
		}
		if n.CallManager {
			steps = append(steps, [2]string{n.Name, platform.ServiceCallManager})
		}
	}
	for _, s := range steps {
		line := s[0] + " " + s[1]
		if !o.RestartServices {
			res.Pending = append(res.Pending, line)
			continue
		}
		sess, err := p.Session(ctx, s[0])
		if err != nil {
			return res, err
		}
		say("%s: utils service restart %s on %s", p.t.Cluster, s[1], s[0])
		if err := sess.RestartService(ctx, s[1]); err != nil {
			return res, err
		}
		res.Restarts = append(res.Restarts, line)
	}
	return res, nil
}

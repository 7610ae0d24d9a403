package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// A tokenless cluster (signing: tokenless) is applied through its publisher's platform CLI
// (cucm/adapter): ctlops signs and pushes nothing; it runs the one command the plan calls
// for, answering its (y/n) only when the prompt is exactly the expected one, reads every node
// back, and restarts services (R23). The token clusters of the same plan go through apply()
// as before; both kinds share the confirmation and write audit lines of the same shape.

// isTokenlessPlan reports whether a planned cluster is applied through the platform CLI.
func isTokenlessPlan(c *plan.Cluster) bool { return c.Platform != nil }

// applyAll applies the token clusters of a confirmed plan (apply), then the tokenless ones
// one at a time, and joins their errors.
func applyAll(ctx context.Context, o *Options, p *plan.Plan, res *Result) error {
	var tokens, tokenless bool
	for _, c := range p.Clusters {
		if !c.Summary.Changes || o.skipped[c.Name] {
			continue
		}
		if isTokenlessPlan(c) {
			tokenless = true
		} else {
			tokens = true
		}
	}
	var errs []error
	if tokens {
		if err := apply(ctx, o, p, res); err != nil {
			errs = append(errs, err)
		}
	}
	if tokenless && ctx.Err() == nil {
		if err := applyTokenless(ctx, o, p, res); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyTokenless runs every tokenless cluster of the plan that has changes, with its own
// audit intent and result lines (one apply id for them all).
func applyTokenless(ctx context.Context, o *Options, p *plan.Plan, res *Result) (err error) {
	if err := checkAuditLog(o.AuditLog); err != nil {
		return err
	}
	sub := &Result{Plan: p}
	o.applyID = newApplyID()
	started := o.Now()
	intent := AuditEntry{Time: started.UTC(), User: o.User, Host: o.Host, ApplyID: o.applyID,
		CtlopsVersion: o.Version, PlanDigest: p.Digest(), PlanFile: o.PlanFile, SpecDigest: p.SpecDigest,
		Clusters: []string{}, Details: []*ClusterResult{}, Result: "intent"}
	for _, c := range p.Clusters {
		if c.Summary.Changes && isTokenlessPlan(c) && !o.skipped[c.Name] {
			intent.Clusters = append(intent.Clusters, c.Name)
			intent.Targets = append(intent.Targets, fmt.Sprintf("%s/%s %s", c.Name, c.Platform.Publisher, c.Platform.Command))
		}
	}
	if err := appendAudit(o.AuditLog, intent); err != nil {
		return fmt.Errorf("audit log %s: %w (nothing was changed on any cluster)", o.AuditLog, err)
	}
	defer func() {
		if aerr := writeAudit(o, p, sub, started, err); aerr != nil && err == nil {
			err = fmt.Errorf("audit log %s: %w", o.AuditLog, aerr)
		}
	}()
	var errs []error
	for _, c := range p.Clusters {
		if !c.Summary.Changes || !isTokenlessPlan(c) || o.skipped[c.Name] || ctx.Err() != nil {
			continue
		}
		cr, cerr := o.tokenlessCluster(ctx, c)
		sub.Clusters = append(sub.Clusters, cr)
		res.Clusters = append(res.Clusters, cr)
		if cerr != nil {
			errs = append(errs, cerr)
		}
	}
	return errors.Join(errs...)
}

// tokenlessCluster drives one cluster and reports it.
func (o *Options) tokenlessCluster(ctx context.Context, c *plan.Cluster) (*ClusterResult, error) {
	cr := &ClusterResult{Name: c.Name, Targets: []*TargetResult{}}
	sc := o.Config.Cluster(c.Name)
	if sc == nil {
		return cr, fmt.Errorf("cluster %s is in the plan but not in the spec", c.Name)
	}
	t, err := live.TokenlessCluster(sc, o.Live)
	if err != nil {
		return cr, err
	}
	pool := adapter.NewPool(t)
	defer pool.Close()
	// Where the cluster declares its serviceability endpoints, restarts and resets go through
	// the verified rollout (Control Center, RisPort70, AXL), as for a token-based cluster;
	// the platform CLI's restarts are the fallback without them (issue 16).
	viaAPI := sc.Serviceability != nil && (o.RestartServices || o.Rollout.ResetDevices)
	fmt.Fprintf(o.Out, "\nCluster %s (tokenless): pre-flight, then %s on %s...\n", c.Name, c.Platform.Command, termsafe.Line(c.Platform.Publisher))
	o.event(Progress{Kind: "command", Cluster: c.Name, Server: c.Platform.Publisher, Detail: c.Platform.Command})
	ar, err := adapter.Apply(ctx, pool, adapter.ApplyOptions{
		WantMixed:       sc.Mode == cucm.ModeMixed,
		RestartServices: o.RestartServices && !viaAPI,
		Now:             o.Now,
		ExpiryWarning:   sc.ExpiryWarning,
		Expect:          platform.CTLCommand(c.Platform.Command),
		Progress:        func(s string) { fmt.Fprintf(o.Out, "  %s\n", termsafe.Line(s)) },
	})
	tokenlessResult(c, ar, cr)
	o.tokenlessWarnings(ar, cr)
	if err != nil {
		what := "nothing was changed"
		if ar != nil && ar.Ran {
			what = "the command was sent: run `ctlops plan` to see what every node holds now"
		}
		msg := termsafe.Line(err.Error())
		if !strings.Contains(msg, "nothing was changed") {
			msg += "; " + what
		}
		cr.Problems = append(cr.Problems, msg)
		fmt.Fprintf(o.Out, "  FAILED: %s\n", msg)
		if ar != nil && ar.Ran {
			return cr, &PushError{Problems: []string{c.Name + ": " + msg}, Interrupted: ctx.Err() != nil}
		}
		return cr, fmt.Errorf("cluster %s: %s", c.Name, msg)
	}
	o.tokenlessReport(c, ar, cr)
	if ar.Action != "" {
		if viaAPI {
			o.verifiedRollout(ctx, sc, cr, c.Mode.Changed)
		} else {
			cr.Problems = append(cr.Problems, o.tokenlessRolloutGaps(sc)...)
		}
	}
	o.tokenlessNext(c, ar, cr, viaAPI && o.RestartServices)
	if len(cr.Problems) > 0 {
		var problems []string
		for _, pr := range cr.Problems {
			problems = append(problems, c.Name+": "+pr)
		}
		return cr, &PushError{Problems: problems, Interrupted: ctx.Err() != nil}
	}
	return cr, nil
}

// tokenlessRolloutGaps says what the flags asked that a tokenless cluster without
// serviceability endpoints cannot do, rather than ignore it: the platform CLI restarts
// services but resets no phone, so --reset-devices leaves them to the admin, as on a token
// cluster without serviceability.
func (o *Options) tokenlessRolloutGaps(sc *spec.Cluster) []string {
	if !o.Rollout.ResetDevices || sc.Serviceability != nil {
		return nil
	}
	return []string{"phones not reset: the cluster declares no serviceability endpoints (AXL); reset them by hand"}
}

// tokenlessResult fills the cluster's result from the adapter's reads: each TFTP node with
// the file before and after (sha256, as plans show it), the mode, the restarts.
func tokenlessResult(c *plan.Cluster, ar *adapter.ApplyResult, cr *ClusterResult) {
	if ar == nil {
		return
	}
	digest := func(st *adapter.State, node string) (string, bool) {
		if st == nil {
			return unknown, false
		}
		ns := st.Node(node)
		if ns == nil || ns.Err != nil {
			return unknown, false
		}
		if ns.CTL == nil {
			return "", true
		}
		return cucm.Digest(ns.CTL), true
	}
	for _, ts := range c.Targets {
		tr := &TargetResult{Server: ts.Server, Address: ts.Address, Before: ts.Digest, Holds: ts.Digest, Status: "not pushed"}
		if b, ok := digest(ar.BeforeState, ts.Server); ok {
			tr.Before, tr.Holds = b, b
		}
		if ar.AfterState != nil {
			tr.Holds, _ = digest(ar.AfterState, ts.Server)
			tr.Status = "unchanged"
			if tr.Holds != tr.Before {
				tr.Status = "updated"
			}
			if ar.After != nil && ar.After.Drifted() {
				tr.Status, tr.Error = "failed", "does not hold the predicted CTL after "+string(ar.Action)
			}
			if tr.Status != "failed" && cr.Digest == "" {
				cr.Digest = tr.Holds
			}
		}
		cr.Targets = append(cr.Targets, tr)
	}
	if ar.AfterState != nil && c.Mode.Changed {
		cr.Mode = string(c.Mode.To)
		cr.ModeSetOn = []string{c.Platform.Publisher}
	}
	cr.Restarted = append(cr.Restarted, ar.Restarts...)
}

// tokenlessWarnings prints the warnings of the adapter's evaluations (certificate expiry
// within the cluster's window, nodes the cluster lists but the spec does not declare, ITL
// drift), read before the command and, when it ran, after it: each once, the words of the
// cluster made safe for a terminal. They are kept in the cluster's result.
func (o *Options) tokenlessWarnings(ar *adapter.ApplyResult, cr *ClusterResult) {
	if ar == nil {
		return
	}
	seen := map[string]bool{}
	for _, chk := range []*adapter.Check{ar.Before, ar.After} {
		if chk == nil {
			continue
		}
		for _, w := range chk.Warnings {
			w = termsafe.Line(w)
			if w == "" || seen[w] {
				continue
			}
			seen[w] = true
			cr.Warnings = append(cr.Warnings, w)
		}
	}
	for _, w := range cr.Warnings {
		fmt.Fprintf(o.Out, "  Warning: %s\n", w)
	}
}

// tokenlessReport prints what the command did to every node and the mode.
func (o *Options) tokenlessReport(c *plan.Cluster, ar *adapter.ApplyResult, cr *ClusterResult) {
	if ar.Action == "" {
		fmt.Fprintf(o.Out, "  Nothing to do: every node already holds the predicted CTL.\n")
		return
	}
	for _, t := range cr.Targets {
		fmt.Fprintf(o.Out, "  %s  %s: %s, holds %s (was %s), records match the prediction\n", termsafe.Line(t.Server), termsafe.Line(t.Address), t.Status, shortDigest(t.Holds), shortDigest(t.Before))
	}
	if len(cr.ModeSetOn) > 0 {
		fmt.Fprintf(o.Out, "  Security mode is now %s (R10, R11).\n", cr.Mode)
	}
}

// tokenlessNext prints the restarts done, the problems and the next steps: the restarts the
// CLI did not run, unless the rollout was asked to (an incomplete one is resumed), as the
// exact CLI commands, then the phone resets unless the rollout did them (R23).
func (o *Options) tokenlessNext(c *plan.Cluster, ar *adapter.ApplyResult, cr *ClusterResult, restartsViaAPI bool) {
	if ar.Action == "" {
		return
	}
	for _, r := range cr.Restarted {
		fmt.Fprintf(o.Out, "  Restarted %s (R23).\n", termsafe.Line(r))
	}
	for _, pr := range cr.Problems {
		fmt.Fprintf(o.Out, "  Problem: %s\n", pr)
	}
	var next []string
	if !restartsViaAPI { // an incomplete rollout's restarts are resumed, not done by hand
		for _, p := range ar.Pending {
			node, svc, _ := strings.Cut(p, " ")
			next = append(next, fmt.Sprintf("on %s: utils service restart %s (wait for [STARTED]; one node at a time, R23)", termsafe.Line(node), svc))
		}
	}
	for _, s := range c.AfterApply {
		if s.Kind != plan.StepRestart && !rolledOut(cr, s.Kind) {
			next = append(next, s.String())
		}
	}
	if len(next) > 0 {
		fmt.Fprintln(o.Out, "  Next steps:")
		for i, s := range next {
			fmt.Fprintf(o.Out, "    %d. %s\n", i+1, s)
		}
	}
	if len(cr.Problems) == 0 {
		fmt.Fprintln(o.Out, "\nApply complete.")
	}
}

// confirmPrompt is the question before anything is changed: what is signed and pushed for
// token clusters, and which CLI command runs on which publisher for tokenless ones.
func confirmPrompt(p *plan.Plan, skipped map[string]bool) string {
	var tokens, cmds []string
	for _, c := range p.Clusters {
		switch {
		case !c.Summary.Changes || skipped[c.Name]:
		case isTokenlessPlan(c):
			cmds = append(cmds, fmt.Sprintf("`%s` on %s (cluster %s)", c.Platform.Command, termsafe.Line(c.Platform.Publisher), c.Name))
		default:
			tokens = append(tokens, c.Name)
		}
	}
	var b strings.Builder
	if len(tokens) > 0 {
		fmt.Fprintf(&b, "\nctlops will sign a new CTL and push it to every server of %s.", strings.Join(tokens, ", "))
	}
	if len(cmds) > 0 {
		fmt.Fprintf(&b, "\nctlops will run %s, answering its confirmation, then read every node back.", strings.Join(cmds, ", "))
	}
	b.WriteString("\nOnly 'yes' will be accepted.\n\nType \"yes\" to apply: ")
	return b.String()
}

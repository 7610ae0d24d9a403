// Package drift tells when live clusters have moved away from what Git declares: a drift
// check is a plan (package live fetches, package plan judges) that is never applied, run once
// or on a schedule, reported as JSON lines, a JSON report, Prometheus metrics and a webhook;
// watch re-plans whenever the spec or a file it references changes.
//
// Nothing here can change a server. The package reaches servers only through package live,
// which only ever holds provider.Reader values (see readonly.go): the drift path has no write
// method to call, whatever the flags.
package drift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ctlops/ctlops/internal/progress"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// Options bound one check.
type Options struct {
	// Parallelism bounds the clusters checked at once; each cluster reads its servers
	// concurrently (at most ServerParallelism requests), so a fleet costs a few round trips.
	Parallelism int
	// ServerParallelism bounds requests in flight inside one cluster; 16 when zero.
	ServerParallelism int
	// Timeout bounds every request, so that a slow or dead server delays only its own cluster.
	Timeout time.Duration
	// Progress receives the servers' reads as they start and end (live.Options.Progress).
	Progress progress.Reporter
	// Retries for reads (provider.Options semantics).
	Retries int
	// Shard picks a stable subset of the clusters (all when zero).
	Shard Shard
	// Version is the ctlops version recorded in the plans.
	Version string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Result is one drift check of every selected cluster.
type Result struct {
	Time     time.Time `json:"time"`
	Duration float64   `json:"duration_seconds"`
	// SpecDigest identifies the spec the check ran against.
	SpecDigest string           `json:"spec_digest"`
	Shard      string           `json:"shard,omitempty"`
	Clusters   []*ClusterResult `json:"clusters"`
}

// ClusterResult is one cluster's verdict and what it was based on.
type ClusterResult struct {
	Name string `json:"name"`
	// Drift is true when the live cluster is not what the spec declares (see Judge).
	Drift bool `json:"drift"`
	// Error is set when the cluster could not be checked; Drift is then meaningless.
	Error   string   `json:"error,omitempty"`
	Reasons []string `json:"reasons"`
	// State identifies the drift (see State); "" when there is none.
	State string `json:"state,omitempty"`
	// LiveDigests are every target's file digest, "server=digest" ("-" for none), sorted.
	LiveDigests   []string `json:"live_digests"`
	DesiredDigest string   `json:"desired_digest,omitempty"`
	// Warnings are reported but are not drift (tokenless clusters: ITL drift, expiry).
	Warnings []string `json:"warnings,omitempty"`
	// FetchErrors counts failed reads by server in this check.
	FetchErrors map[string]int `json:"fetch_errors,omitempty"`
	Duration    float64        `json:"duration_seconds"`
	Checked     time.Time      `json:"checked"`
	// Plan is the full plan the verdict was made from.
	Plan *plan.Cluster `json:"plan"`
}

// Drifted reports whether any cluster drifted.
func (r *Result) Drifted() bool {
	for _, c := range r.Clusters {
		if c.Drift {
			return true
		}
	}
	return false
}

// Failed reports whether any cluster could not be checked.
func (r *Result) Failed() bool {
	for _, c := range r.Clusters {
		if c.Error != "" {
			return true
		}
	}
	return false
}

// ExitCode is the status a one-shot check exits with: 1 when a cluster could not be checked
// (an unknown state must not pass for "no drift"), 2 on drift, 0 otherwise.
func (r *Result) ExitCode() int {
	switch {
	case r.Failed():
		return 1
	case r.Drifted():
		return 2
	}
	return 0
}

// Check reads and plans the selected clusters of cfg (names: all when empty) and judges each.
// It returns an error only for a bad selection; a cluster that cannot be read gets its Error.
func Check(ctx context.Context, cfg *spec.Config, names []string, o Options) (*Result, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	clusters, err := live.Select(cfg, names)
	if err != nil {
		return nil, err
	}
	clusters = o.Shard.Filter(clusters)
	n := o.Parallelism
	if n <= 0 {
		n = 10
	}
	sp := o.ServerParallelism
	if sp <= 0 {
		sp = 16
	}
	start := now()
	res := &Result{Time: start.UTC(), SpecDigest: cfg.Digest(), Clusters: make([]*ClusterResult, len(clusters))}
	if !o.Shard.All() {
		res.Shard = o.Shard.String()
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				res.Clusters[i] = &ClusterResult{Name: c.Name, Error: ctx.Err().Error(), Reasons: []string{}, LiveDigests: []string{}}
				return
			}
			defer func() { <-sem }()
			t0 := now()
			lives := live.Fetch(ctx, cfg, []*spec.Cluster{c}, live.Options{Parallelism: sp, Timeout: o.Timeout, Retries: o.Retries, Progress: o.Progress})
			l := lives[c.Name]
			pc := plan.Build(c, l, t0)
			cr := Judge(pc)
			cr.FetchErrors = fetchErrors(c, l)
			cr.Checked = t0.UTC()
			cr.Duration = now().Sub(t0).Seconds()
			res.Clusters[i] = cr
		}()
	}
	wg.Wait()
	res.Duration = now().Sub(start).Seconds()
	return res, nil
}

// Judge turns one cluster's plan into a verdict. Drift is anything an operator must act on:
// records or the mode to change (a discovered server missing from the CTL is an add, R14; a
// changed IP or certificate a refresh, R22), a server whose copy differs from the cluster's or
// is missing (R4, R23), and every refusal: a live file whose signature fails or whose signer
// nobody declared (R19), an inventory that no longer matches expectServers (R14). Warnings
// (certificates close to expiry) are not drift; metrics carry the dates.
func Judge(pc *plan.Cluster) *ClusterResult {
	cr := &ClusterResult{Name: pc.Name, Plan: pc, Reasons: []string{}, LiveDigests: []string{}}
	if pc.Error != "" {
		cr.Error = pc.Error
		return cr
	}
	for _, t := range pc.Targets {
		d := t.Digest
		if d == "" {
			d = "-"
		}
		cr.LiveDigests = append(cr.LiveDigests, t.Server+"="+d)
		server := termsafe.Line(t.Server)
		switch t.Status {
		case plan.Current:
		case plan.Missing:
			cr.Reasons = append(cr.Reasons, fmt.Sprintf("server %s holds no CTL file", server))
		case plan.Differs, plan.Invalid:
			what := "differs from the cluster's"
			if pc.Platform != nil {
				what = "differs from the CTL CUCM would build now" // tokenless: the prediction
			}
			if t.Status == plan.Invalid {
				what = "fails its own check"
			}
			msg := fmt.Sprintf("server %s holds a CTL that %s", server, what)
			if n := t.Note(); n != "" {
				msg += " (" + n + ")"
			}
			cr.Reasons = append(cr.Reasons, msg)
		}
	}
	sort.Strings(cr.LiveDigests)
	// A cluster without a CTL in non-secure mode is the default state (R12): its "missing"
	// servers are not drift unless the plan wants to change something.
	if !pc.Summary.Changes && len(pc.Refusals) == 0 {
		cr.Reasons = cr.Reasons[:0]
	}
	if pc.Mode.Changed {
		cr.Reasons = append(cr.Reasons, fmt.Sprintf("security mode is %s, declared %s (R9, R10)", pc.Mode.From, pc.Mode.To))
	}
	for _, a := range pc.Actions {
		if !pc.Summary.Changes {
			break // e.g. the records a first non-secure CTL would hold: none is created (R12)
		}
		what := a.Reason.String()
		if a.Action == plan.Create && a.Reason.Kind == plan.ReasonServer {
			what = "server " + termsafe.Line(a.Reason.Name) + " is missing from the CTL"
		}
		r := fmt.Sprintf("%s %s: %s", plan.Symbol(a.Action), termsafe.Line(a.Record), what)
		if a.Reason.Rule != "" {
			r += " (" + a.Reason.Rule + ")"
		}
		cr.Reasons = append(cr.Reasons, r)
	}
	for _, p := range pc.Refusals {
		r := "refused: " + p.Message()
		if p.Rule != "" {
			r += " (" + p.Rule + ")"
		}
		cr.Reasons = append(cr.Reasons, r)
	}
	// A held lock is not drift, but a stale one blocks the next apply: say so (issue 17).
	for _, t := range pc.Targets {
		if t.Lock != nil {
			cr.Warnings = append(cr.Warnings, "server "+termsafe.Line(t.Server)+": "+t.Lock.String())
		}
	}
	judgeTokenless(pc, cr) // drift/tokenless.go
	if pc.Desired != nil {
		s := sha256.Sum256(pc.Desired.Data)
		cr.DesiredDigest = hex.EncodeToString(s[:])
	}
	cr.Drift = len(cr.Reasons) > 0
	if cr.Drift {
		cr.State = State(pc.Name, cr.LiveDigests, cr.DesiredDigest)
	}
	return cr
}

// State is the identity of a drift: the cluster, every target's digest and the desired file's
// digest. The same drift seen at every tick has the same State, so it is reported once; a new
// file on one server, or a new desired file, is a new drift.
func State(cluster string, liveDigests []string, desired string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", cluster)
	for _, d := range liveDigests {
		fmt.Fprintf(h, "%s\n", d)
	}
	fmt.Fprintf(h, "desired=%s\n", desired)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// fetchErrors attributes a cluster's failed reads to servers: each target that could not be
// read, each server the inventory reports unreachable, and, when no provider gave an
// inventory, each declared provider.
func fetchErrors(c *spec.Cluster, l *plan.Live) map[string]int {
	if l == nil || len(l.Errors) == 0 {
		return nil
	}
	out := map[string]int{}
	for _, t := range l.Targets {
		if t.Err != "" {
			out[t.Server]++
		}
	}
	if l.Inventory != nil {
		for _, s := range l.Inventory.Servers {
			if s.Error != "" {
				out[s.Name]++
			}
		}
	} else if len(l.Targets) == 0 {
		for _, p := range c.Providers {
			out[p.String()]++
		}
	}
	if len(out) == 0 {
		out["(cluster)"] = len(l.Errors)
	}
	return out
}

package apply

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// node is one server whose update lock is held (R24): a cluster node or an alternate TFTP
// server, whatever file locations on it are written.
type node struct {
	addr     string
	clusters []string // the clusters written there, for the unlock command of a lock error
	w        provider.Writer
	lock     *provider.Lock
}

// target is one place a cluster's file goes.
type target struct {
	c      *plan.Cluster
	ts     plan.TargetState
	w      provider.Writer
	node   *node
	cur    []byte // what it holds under the lock
	digest string
	file   *ctl.File
	res    *TargetResult
}

// work is one cluster being applied.
type work struct {
	c       *plan.Cluster
	spec    *spec.Cluster
	targets []*target
	data    []byte // the file to push, nil when only the mode changes
	sign    bool
	res     *ClusterResult
}

// apply executes a fresh, confirmed plan in the order a reader follows in the files of this
// package: open the targets (run.go), check the signer and the audit log, take the locks
// (lock.go), re-read every target under them (reread.go), sign and check the files
// (signing.go), write the intent line (audit.go), push (push.go), set the mode and restart
// services (after.go), report (report.go), and write the result line (audit.go).
func apply(ctx context.Context, o *Options, p *plan.Plan, res *Result) (err error) {
	works, nodes, err := openTargets(o, p)
	if err != nil {
		return err
	}
	// A signer that cannot be opened fails here, before any lock: nothing reached a server.
	if err := o.checkSigner(works); err != nil {
		return err
	}
	for _, w := range works {
		res.Clusters = append(res.Clusters, w.res)
	}
	// The audit log must take our lines before anything is locked.
	if err := checkAuditLog(o.AuditLog); err != nil {
		return err
	}
	o.applyID = newApplyID()
	started := o.Now()
	defer func() {
		if aerr := writeAudit(o, p, res, started, err); aerr != nil {
			fmt.Fprintf(o.Out, "warning: audit log %s: %v\n", o.AuditLog, aerr)
			if err == nil {
				err = fmt.Errorf("audit log %s: %w", o.AuditLog, aerr)
			}
		}
	}()

	fmt.Fprintf(o.Out, "\nTaking the update lock of %d server(s) (R24)...\n", len(nodes))
	if err := o.lockAll(ctx, nodes); err != nil {
		o.releaseAll(nodes, res)
		return err
	}
	workCtx, cancel := context.WithCancel(ctx)
	lost := o.renew(workCtx, cancel, nodes)
	defer func() {
		cancel()
		if l := lost(); l != nil && err == nil {
			err = l
		}
		o.releaseAll(nodes, res)
	}()

	if err := o.readUnderLock(workCtx, works); err != nil {
		return err
	}
	if err := o.prepare(workCtx, works, res); err != nil {
		return err
	}
	if err := writeIntent(o, p, works, started); err != nil {
		return fmt.Errorf("audit log %s: %w (nothing was written to any server)", o.AuditLog, err)
	}
	o.push(workCtx, works)
	o.finish(workCtx, works)
	if l := lost(); l != nil {
		return l
	}
	return o.report(ctx, works)
}

// openTargets opens a writer per target and one lock holder per server address, sorted by
// address so that two applies always take locks in the same order.
func openTargets(o *Options, p *plan.Plan) ([]*work, []*node, error) {
	byAddr := map[string]*node{}
	var works []*work
	for _, c := range p.Clusters {
		if !c.Summary.Changes || o.skipped[c.Name] || isTokenlessPlan(c) { // tokenless: apply/tokenless.go
			continue
		}
		sc := o.Config.Cluster(c.Name)
		if sc == nil {
			return nil, nil, fmt.Errorf("cluster %s is in the plan but not in the spec", c.Name)
		}
		w := &work{c: c, spec: sc, res: &ClusterResult{Name: c.Name, Targets: []*TargetResult{}}}
		po, err := live.ProviderOptions(sc, o.Live)
		if err != nil {
			return nil, nil, err
		}
		for _, ts := range c.Targets {
			opts, err := targetOptions(o.Config, sc, po, ts, o.Live)
			if err != nil {
				return nil, nil, err
			}
			wr, err := provider.OpenWriter(ts.Address, opts)
			if err != nil {
				return nil, nil, fmt.Errorf("cluster %s: server %s: %w", c.Name, ts.Server, err)
			}
			n := byAddr[ts.Address]
			if n == nil {
				lo := opts
				lo.Location = ""
				lw, err := provider.OpenWriter(ts.Address, lo)
				if err != nil {
					return nil, nil, fmt.Errorf("cluster %s: server %s: %w", c.Name, ts.Server, err)
				}
				n = &node{addr: ts.Address, w: lw}
				byAddr[ts.Address] = n
			}
			if len(n.clusters) == 0 || n.clusters[len(n.clusters)-1] != c.Name {
				n.clusters = append(n.clusters, c.Name)
			}
			tr := &TargetResult{Server: ts.Server, Address: ts.Address, Alternate: ts.Alternate, Before: ts.Digest, Holds: ts.Digest, Status: "not pushed"}
			w.targets = append(w.targets, &target{c: c, ts: ts, w: wr, node: n, res: tr})
			w.res.Targets = append(w.res.Targets, tr)
		}
		works = append(works, w)
	}
	nodes := make([]*node, 0, len(byAddr))
	for _, n := range byAddr {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].addr < nodes[j].addr })
	return works, nodes, nil
}

// targetOptions are the provider options to write one target: the cluster's own (po), or for an
// alternate TFTP server those of its cluster with this cluster's alternate location.
func targetOptions(cfg *spec.Config, sc *spec.Cluster, po provider.Options, ts plan.TargetState, lo live.Options) (provider.Options, error) {
	if !ts.Alternate {
		return po, nil
	}
	decl, ok := alternateDecl(sc, ts.Address)
	if !ok {
		return po, fmt.Errorf("cluster %s: alternate TFTP target %s is not declared in the spec", sc.Name, ts.Address)
	}
	return live.AlternateOptions(cfg, sc, decl, lo)
}

func alternateDecl(c *spec.Cluster, addr string) (spec.AlternateTFTP, bool) {
	for _, a := range c.AlternateTFTP {
		if a.Addr() == addr {
			return a, true
		}
	}
	return spec.AlternateTFTP{}, false
}

// parallel runs fn(0..n-1) with at most limit at a time.
func parallel(limit, n int, fn func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

func allTargets(works []*work) []*target {
	var ts []*target
	for _, w := range works {
		ts = append(ts, w.targets...)
	}
	return ts
}

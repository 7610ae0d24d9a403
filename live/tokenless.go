package live

import (
	"context"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// tokenless reads a signing: tokenless cluster through its publisher's platform CLI and its
// nodes' TFTP (cucm/adapter), within the fetch's parallelism bound: every node read takes a
// slot of the same semaphore as the other clusters' requests. Nothing here can change the
// cluster: the adapter's Read runs only `show` commands and TFTP reads.
func (f *fetcher) tokenless(ctx context.Context, c *spec.Cluster) *plan.Live {
	l := &plan.Live{}
	t, err := TokenlessCluster(c, f.opt)
	if err != nil {
		l.Errors = append(l.Errors, err.Error())
		return l
	}
	t.Sem = f.sem
	p := adapter.NewPool(t)
	defer p.Close()
	// AXL's nodes (to cross-check `show network cluster`) and RisPort70's counts, where the
	// spec declares the serviceability endpoints, while the CLI is read: they touch only the
	// Live fields of their own (live/serviceability.go).
	asked := make(chan struct{})
	go func() { defer close(asked); f.serviceability(ctx, c, l) }()
	st, err := adapter.Read(ctx, p)
	<-asked
	if err != nil {
		l.Errors = append(l.Errors, err.Error())
		return l
	}
	l.Platform = PlatformLive(c, st)
	// The TFTP copies are also the cluster's targets, so that what reads Live generically
	// (`ctlops show`, drift's fetch errors) sees the file phones get; the planner decides
	// from Platform.
	for _, n := range l.Platform.Nodes {
		if n.TFTP == "" {
			continue
		}
		t := plan.Target{Server: n.Name, Address: "tftp://" + n.TFTP + "/" + cucm.FileName, Data: n.CTL, Err: n.Err}
		l.Targets = append(l.Targets, t)
	}
	return l
}

// TokenlessCluster is the adapter's view of a tokenless cluster with the fetch's options: the
// per-request timeout bounds each command and TFTP read, Options.Platform (tests) sets the
// session timings. Apply drives the same cluster.
func TokenlessCluster(c *spec.Cluster, o Options) (*adapter.Cluster, error) {
	n := o.Parallelism
	if n <= 0 {
		n = 10
	}
	t, err := PlatformCluster(c, n)
	if err != nil {
		return nil, err
	}
	if o.Platform != nil {
		t.SSH = *o.Platform
	}
	if o.Timeout > 0 && t.SSH.CommandTimeout == 0 {
		t.SSH.CommandTimeout = o.Timeout
	}
	if o.Timeout > 0 {
		t.TFTPTimeout = o.Timeout
	}
	return t, nil
}

// PlatformLive turns the adapter's read into the planner's view of it: plain data, no
// connection, so that package plan can decide without touching the network.
func PlatformLive(c *spec.Cluster, st *adapter.State) *plan.PlatformLive {
	pl := &plan.PlatformLive{Version: st.Version, Inventory: st.Inventory, IMAndPresence: st.IMAndPresence}
	if c.Platform != nil {
		pl.From = c.Platform.Addr()
	}
	listed := map[string]bool{}
	for _, ns := range st.Nodes {
		listed[ns.Name] = true
		n := plan.PlatformNodeLive{Name: ns.Name, Declared: ns.Declared != nil, CTL: ns.CTL, ITL: ns.ITLData}
		if ns.Declared != nil {
			n.SSH, n.TFTP = ns.Declared.SSH, ns.Declared.TFTP
		}
		if ns.ShowCTL != nil {
			n.ShowCTL, n.ShowCTLMD5 = ns.ShowCTL.Present, ns.ShowCTL.MD5
		}
		if ns.Err != nil && ns.Declared != nil {
			n.Err = ns.Err.Error()
		}
		pl.Nodes = append(pl.Nodes, n)
	}
	if c.Platform != nil {
		for _, n := range c.Platform.Nodes {
			if !listed[n.Name] {
				pl.Missing = append(pl.Missing, n.Name)
			}
		}
	}
	return pl
}

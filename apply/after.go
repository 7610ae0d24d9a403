package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/provider"
)

// Steps 6 and 7: the security mode, then the service restarts (R10, R11, R23).

// finish sets the security mode and restarts services where the whole cluster holds its file.
func (o *Options) finish(ctx context.Context, works []*work) {
	for _, w := range works {
		ok := true
		for _, t := range w.targets {
			if t.res.Status == "failed" {
				ok = false
			}
		}
		if !ok {
			if w.c.Mode.Changed {
				w.res.Problems = append(w.res.Problems, fmt.Sprintf("security mode left at %s: the file is not on every server yet", w.c.Mode.From))
			}
			continue
		}
		if w.c.Mode.Changed {
			w.res.Mode = string(w.c.Mode.To)
			for _, t := range w.targets {
				if t.ts.Alternate {
					continue // an alternate TFTP server's mode is its own cluster's (R17)
				}
				o.event(Progress{Kind: "mode", Cluster: w.c.Name, Server: t.ts.Server, Address: t.ts.Address, Detail: string(w.c.Mode.To)})
				if err := t.node.w.SetMode(ctx, t.node.lock.ID, w.c.Mode.To); err != nil {
					w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s: setting the security mode: %s", t.ts.Server, t.node.scrub(err)))
					continue
				}
				w.res.ModeSetOn = append(w.res.ModeSetOn, t.ts.Server)
			}
		}
		if o.RestartServices || o.Rollout.ResetDevices {
			o.rolloutOrRestart(ctx, w)
		}
	}
}

// restart restarts CallManager and TFTP on every server of the cluster that runs them (R23).
func (o *Options) restart(ctx context.Context, w *work) {
	var first *target
	for _, t := range w.targets {
		if !t.ts.Alternate {
			first = t
			break
		}
	}
	if first == nil {
		return
	}
	inv, err := first.node.w.Cluster(ctx)
	if err != nil {
		w.res.Problems = append(w.res.Problems, fmt.Sprintf("reading the inventory to restart services: %v", err))
		return
	}
	nodes := map[string]*node{}
	for _, t := range w.targets {
		nodes[t.ts.Address] = t.node
	}
	for _, s := range inv.Servers {
		var svc []provider.Service
		if s.HasRole(provider.RoleCCM) {
			svc = append(svc, provider.ServiceCallManager)
		}
		if s.HasRole(provider.RoleTFTP) {
			svc = append(svc, provider.ServiceTFTP)
		}
		if len(svc) == 0 {
			continue
		}
		n := nodes[s.Provider]
		if n == nil {
			w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s (%s) is not locked by this apply: restart its services by hand", s.Name, s.Provider))
			continue
		}
		o.event(Progress{Kind: "restart", Cluster: w.c.Name, Server: s.Name, Address: s.Provider})
		if err := n.w.Restart(ctx, n.lock.ID, svc); err != nil {
			w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s: restarting %v: %s", termsafe.Line(s.Name), svc, n.scrub(err)))
			continue
		}
		var names []string
		for _, x := range svc {
			names = append(names, string(x))
		}
		w.res.Restarted = append(w.res.Restarted, fmt.Sprintf("%s (%s)", s.Name, strings.Join(names, ", ")))
	}
}

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

// restart restarts TFTP, then CallManager, on every server of the cluster that runs them (R23).
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
	// Cisco TFTP on every server first, then Cisco CallManager (R23, docs/rollout.md): phones
	// that re-register after a CallManager restart fetch the CTL from a TFTP service that
	// already serves the new file. The verified rollout (rollout.go) waits for each step; this
	// fallback, for servers without serviceability endpoints, only keeps the order.
	restarted := map[string][]string{} // server name -> the services restarted there, in order
	for _, s := range inv.Servers {
		if (s.HasRole(provider.RoleTFTP) || s.HasRole(provider.RoleCCM)) && nodes[s.Provider] == nil {
			w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s (%s) is not locked by this apply: restart its services by hand", s.Name, s.Provider))
		}
	}
	for _, pass := range []struct {
		role provider.Role
		svc  provider.Service
	}{{provider.RoleTFTP, provider.ServiceTFTP}, {provider.RoleCCM, provider.ServiceCallManager}} {
		for _, s := range inv.Servers {
			n := nodes[s.Provider]
			if !s.HasRole(pass.role) || n == nil {
				continue
			}
			o.event(Progress{Kind: "restart", Cluster: w.c.Name, Server: s.Name, Address: s.Provider})
			if err := n.w.Restart(ctx, n.lock.ID, []provider.Service{pass.svc}); err != nil {
				w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s: restarting %v: %s", termsafe.Line(s.Name), pass.svc, n.scrub(err)))
				continue
			}
			restarted[s.Name] = append(restarted[s.Name], string(pass.svc))
		}
	}
	for _, s := range inv.Servers {
		if names := restarted[s.Name]; len(names) > 0 {
			w.res.Restarted = append(w.res.Restarted, fmt.Sprintf("%s (%s)", s.Name, strings.Join(names, ", ")))
		}
	}
}

package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
)

// BrokenLock is a lock `ctlops unlock` broke: where, and who held it (never its id).
type BrokenLock struct {
	Cluster string         `json:"cluster"`
	Server  string         `json:"server"`
	Address string         `json:"address"`
	Holder  *provider.Lock `json:"holder"`
}

// lockReader is what a CTL Provider client offers beside provider.Writer: the current holder.
type lockReader interface {
	GetLock(ctx context.Context) (*provider.Lock, error)
}

// Unlock breaks the update locks (R24) held on the servers the selected clusters write: for an
// admin after an apply or a CTL client died holding them. It lists every holder, asks (as apply
// does: AutoApprove, Confirm), breaks them and records the holders in the audit log.
func Unlock(ctx context.Context, o Options) ([]BrokenLock, error) {
	o.defaults()
	if o.Config == nil {
		return nil, errors.New("unlock: no spec")
	}
	p, err := live.Plan(ctx, o.Config, o.Clusters, o.Live, o.Version, o.Now())
	if err != nil {
		return nil, err
	}
	type held struct {
		BrokenLock
		w provider.Writer
	}
	var locks []held
	var readOnly []string
	seen := map[string]bool{}
	for _, c := range p.Clusters {
		if c.Error != "" {
			return nil, fmt.Errorf("cluster %s: %s", c.Name, c.Error)
		}
		sc := o.Config.Cluster(c.Name)
		po, err := live.ProviderOptions(sc, o.Live)
		if err != nil {
			return nil, err
		}
		for _, ts := range c.Targets {
			if seen[ts.Address] {
				continue
			}
			seen[ts.Address] = true
			if readOnlySource(ts.Address) {
				// tftp:// and dir:// are read-only sources for ctlops (spec: apply writes through
				// CTL Providers only), so ctlops never holds a lock there and has none to break.
				readOnly = append(readOnly, ts.Address)
				continue
			}
			opts, err := targetOptions(o.Config, sc, po, ts, o.Live)
			if err != nil {
				return nil, err
			}
			opts.Location = "" // the lock is the node's, whatever location is written
			w, err := provider.OpenWriter(ts.Address, opts)
			if err != nil {
				return nil, err
			}
			lr, ok := w.(lockReader)
			if !ok {
				return nil, fmt.Errorf("%s: cannot read who holds its lock", ts.Address)
			}
			l, err := lr.GetLock(ctx)
			if errors.Is(err, provider.ErrNotLocked) {
				continue
			}
			if err != nil {
				return nil, err
			}
			l.ID = "" // servers answer without it; never record a lock's capability anyway
			locks = append(locks, held{BrokenLock{Cluster: c.Name, Server: ts.Server, Address: ts.Address, Holder: l}, w})
		}
	}
	if len(readOnly) > 0 {
		fmt.Fprintf(o.Out, "Skipped %d read-only source(s) (%s): ctlops takes no update lock there.\n", len(readOnly), termsafe.Line(strings.Join(readOnly, ", ")))
	}
	if len(locks) == 0 {
		fmt.Fprintf(o.Out, "No update lock is held on the %d server(s) of %s.\n", len(seen)-len(readOnly), clusterNames(p.Clusters))
		return nil, nil
	}
	sort.Slice(locks, func(i, j int) bool { return locks[i].Address < locks[j].Address })
	fmt.Fprintf(o.Out, "Update locks held (R24):\n")
	for _, l := range locks {
		fmt.Fprintf(o.Out, "  %s %s (%s): %s\n", termsafe.Line(l.Cluster), termsafe.Line(l.Server), termsafe.Line(l.Address), l.Holder)
	}
	if !o.AutoApprove {
		if o.Confirm == nil {
			return nil, ErrInputNeeded
		}
		ok, err := o.Confirm("\nBreaking a lock lets another writer in while its holder may still be working.\n" +
			"Only 'yes' will be accepted.\n\nType \"yes\" to break these locks: ")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrDeclined
		}
	}
	var broken []BrokenLock
	var failed []string
	for _, l := range locks {
		was, err := l.w.BreakLock(ctx)
		switch {
		case errors.Is(err, provider.ErrNotLocked):
			fmt.Fprintf(o.Out, "  %s: released meanwhile\n", termsafe.Line(l.Server))
		case err != nil:
			failed = append(failed, termsafe.Error(err))
		default:
			was.ID = ""
			l.Holder = was
			broken = append(broken, l.BrokenLock)
			fmt.Fprintf(o.Out, "  %s: broke the lock of %s\n", termsafe.Line(l.Server), was)
		}
	}
	e := AuditEntry{Time: o.Now().UTC(), Finished: o.Now().UTC(), User: o.User, Host: o.Host, CtlopsVersion: o.Version,
		PlanDigest: p.Digest(), SpecDigest: p.SpecDigest, Clusters: []string{}, Result: "unlocked", Broken: broken}
	for _, c := range p.Clusters {
		e.Clusters = append(e.Clusters, c.Name)
	}
	if len(failed) > 0 {
		e.Result, e.Error = "failed", strings.Join(failed, "; ")
	}
	if err := appendAudit(o.AuditLog, e); err != nil {
		failed = append(failed, fmt.Sprintf("audit log %s: %v", o.AuditLog, err))
	}
	if len(failed) > 0 {
		return broken, errors.New(strings.Join(failed, "; "))
	}
	return broken, nil
}

// readOnlySource reports whether a target address is a tftp:// or dir:// source, which
// ctlops only reads.
func readOnlySource(addr string) bool {
	return strings.HasPrefix(addr, "tftp://") || strings.HasPrefix(addr, "dir://")
}

func clusterNames(cs []*plan.Cluster) string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

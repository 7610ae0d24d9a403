// Package live reads the live state of declared clusters for the planner: the inventory from
// a cluster's CTL Providers (R14), every server's copy of the CTL (R4) and the declared
// alternate TFTP servers (R15, R17).
//
// It only ever asks package provider for Readers, so nothing here can change a server: plan
// and drift run on this package, apply adds writing on top of it.
package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/internal/progress"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// Options bound the fetch.
type Options struct {
	// Parallelism bounds concurrent requests across all clusters and servers; 10 when zero.
	Parallelism int
	// Timeout bounds each request, so that a dead server delays only its own cluster.
	Timeout time.Duration
	// Retries for idempotent reads (provider.Options semantics).
	Retries int
	// Platform, when set, is the SSH session configuration for tokenless clusters (tests
	// shorten the start-up wait); addresses and credentials come from the spec.
	Platform *platform.Config
	// Plan is what the admin told the planner beyond the spec (apply --replace); it does not
	// change what is read.
	Plan plan.Inputs
	// Progress receives a Started and a Done event per server read (progress.Nop when nil);
	// an interface, so that this package never imports terminal code.
	Progress progress.Reporter
}

// Fetch reads the given clusters of cfg concurrently. A cluster whose servers cannot be read
// gets a Live with Errors naming each server; the others are still read.
func Fetch(ctx context.Context, cfg *spec.Config, clusters []*spec.Cluster, o Options) map[string]*plan.Live {
	n := o.Parallelism
	if n <= 0 {
		n = 10
	}
	if o.Progress == nil {
		o.Progress = progress.Nop{}
	}
	f := &fetcher{cfg: cfg, opt: o, sem: make(chan struct{}, n)}
	out := make(map[string]*plan.Live, len(clusters))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := f.cluster(ctx, c)
			mu.Lock()
			out[c.Name] = l
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

type fetcher struct {
	cfg *spec.Config
	opt Options
	sem chan struct{} // bounds requests in flight
}

// do runs one request under the parallelism bound.
func (f *fetcher) do(ctx context.Context, fn func(context.Context) error) error {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-f.sem }()
	return fn(ctx)
}

// ProviderOptions turns a cluster's declared TLS and credentials into provider options. The
// password is resolved here, when it is needed; its error names the reference, not the value.
func ProviderOptions(c *spec.Cluster, o Options) (provider.Options, error) {
	po := provider.Options{Timeout: o.Timeout, Retries: o.Retries}
	if c.TLS != nil {
		po.CAPool = c.TLS.CertPool()
		po.Pins = c.TLS.Pins
	}
	if c.Credentials != nil {
		po.Username = c.Credentials.Username
		pw, err := c.Credentials.Password.Resolve()
		if err != nil {
			return po, fmt.Errorf("cluster %s: provider password: %w", c.Name, err)
		}
		po.Password = pw
	}
	return po, nil
}

// AlternateOptions are the options to reach cluster c's copy of its CTL on an alternate TFTP
// server: that server's alternate location for c (R4, R17), with the credentials and CA of the
// declared cluster it belongs to, or c's own when it names none.
func AlternateOptions(cfg *spec.Config, c *spec.Cluster, a spec.AlternateTFTP, o Options) (provider.Options, error) {
	owner := c
	if other := cfg.Cluster(a.Cluster); other != nil {
		owner = other
	}
	po, err := ProviderOptions(owner, o)
	if err != nil {
		return po, err
	}
	po.Location = c.Name
	return po, nil
}

// cluster reads one cluster: its declared providers, the inventory from the first that has
// one (R14), then every server's copy and every alternate TFTP server, concurrently.
func (f *fetcher) cluster(ctx context.Context, c *spec.Cluster) *plan.Live {
	if c.Signing == spec.SigningTokenless {
		return f.tokenless(ctx, c) // live/tokenless.go
	}
	l := &plan.Live{}
	po, err := ProviderOptions(c, f.opt)
	if err != nil {
		l.Errors = append(l.Errors, err.Error())
		return l
	}
	readers := f.open(c, po, l)
	if len(l.Errors) > 0 {
		return l
	}
	pre := f.prefetch(ctx, readers) // the declared nodes' copies, while the inventory comes
	defer pre.stop()
	ictx, asked := pre.inventoryContext(ctx)
	ok := f.inventory(ictx, c.Name, readers, l)
	asked()
	if !ok {
		return l
	}
	f.serviceability(ctx, c, l) // live/serviceability.go: AXL's nodes and RisPort70's counts
	jobs := f.serverJobs(c, readers, po, l)
	jobs = append(jobs, f.alternateJobs(c, l)...)
	f.read(ctx, c, jobs, l, pre)
	return l
}

// job is one place to read a cluster's CTL from.
type job struct {
	server, addr string
	alternate    bool
	altIndex     int
	reader       provider.Reader
	altOpts      provider.Options // alternates: to read the node itself
}

// open opens a reader per declared provider: host:port, tftp://… or dir://….
func (f *fetcher) open(c *spec.Cluster, po provider.Options, l *plan.Live) []provider.Reader {
	readers := make([]provider.Reader, 0, len(c.Providers))
	for _, p := range c.Providers {
		r, err := provider.Open(p.String(), po)
		if err != nil {
			l.Errors = append(l.Errors, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		readers = append(readers, r)
	}
	return readers
}

// inventory takes the inventory from the first CTL Provider that answers (R14); read-only
// sources have none. It reports false when no provider could be read at all.
func (f *fetcher) inventory(ctx context.Context, cluster string, readers []provider.Reader, l *plan.Live) bool {
	var invErrs []string
	for _, r := range readers {
		var inv *provider.Inventory
		f.opt.Progress.Report(progress.Event{Kind: progress.Started, Cluster: cluster, Server: r.Name()})
		err := f.do(ctx, func(ctx context.Context) (err error) { inv, err = r.Cluster(ctx); return })
		done := progress.Event{Kind: progress.Done, Cluster: cluster, Server: r.Name()}
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			done.Err = serverError(r.Name(), r.Name(), err)
		}
		f.opt.Progress.Report(done)
		if errors.Is(err, errors.ErrUnsupported) {
			continue
		}
		if err != nil {
			invErrs = append(invErrs, done.Err)
			continue
		}
		l.Inventory, l.InventoryFrom = inv, r.Name()
		return true
	}
	if len(invErrs) > 0 {
		l.Errors = invErrs
		return false
	}
	return true
}

// serverJobs are the servers that hold the file: every CallManager and TFTP server of the
// inventory (R4, R23) at an address the spec's trust covers, or the declared read-only
// sources when there is no inventory.
func (f *fetcher) serverJobs(c *spec.Cluster, readers []provider.Reader, po provider.Options, l *plan.Live) []job {
	var jobs []job
	inv := l.Inventory
	if inv == nil {
		for _, r := range readers {
			jobs = append(jobs, job{server: r.Name(), addr: r.Name(), reader: r})
		}
		return jobs
	}
	for _, s := range inv.Servers {
		if s.Error != "" {
			// Every server must be up before the CTL changes (R26).
			l.Errors = append(l.Errors, fmt.Sprintf("server %s (%s) is unreachable from %s: %s", s.Name, s.Provider, l.InventoryFrom, s.Error))
			continue
		}
		if !s.HasRole(provider.RoleCCM) && !s.HasRole(provider.RoleTFTP) {
			continue
		}
		if s.Provider == "" {
			l.Errors = append(l.Errors, fmt.Sprintf("server %s: the inventory gives no CTL Provider address", s.Name))
			continue
		}
		if !covered(c, s.Provider) {
			// Reported by the plan, never contacted nor written (issue 12, item 4).
			l.Foreign = append(l.Foreign, plan.ForeignTarget{Server: s.Name, Address: s.Provider})
			continue
		}
		// Reuse the declared provider's client (and its TLS connection) for the same node.
		r, err := reuse(readers, s.Provider), error(nil)
		if r == nil {
			r, err = provider.Open(s.Provider, po)
		}
		if err != nil {
			l.Errors = append(l.Errors, fmt.Sprintf("server %s (%s): %v", s.Name, s.Provider, err))
			continue
		}
		jobs = append(jobs, job{server: s.Name, addr: s.Provider, reader: r})
	}
	return jobs
}

// alternateJobs are the declared alternate TFTP servers' locations for this cluster (R4,
// R17), with the credentials and CA of the cluster each belongs to.
func (f *fetcher) alternateJobs(c *spec.Cluster, l *plan.Live) []job {
	var jobs []job
	l.Alternates = make([]plan.Alternate, len(c.AlternateTFTP))
	for i, a := range c.AlternateTFTP {
		l.Alternates[i].Decl = a
		if other := f.cfg.Cluster(a.Cluster); other != nil {
			l.Alternates[i].DeclaredMode = other.Mode
		}
		ao, err := AlternateOptions(f.cfg, c, a, f.opt)
		if err != nil {
			l.Alternates[i].Err = err.Error()
			continue
		}
		r, err := provider.Open(a.Addr(), ao)
		if err != nil {
			l.Alternates[i].Err = err.Error()
			continue
		}
		ao.Location = ""
		jobs = append(jobs, job{server: a.Host, addr: a.Addr(), alternate: true, altIndex: i, reader: r, altOpts: ao})
	}
	return jobs
}

// read fetches every job's file, and each alternate's node and cluster, concurrently within
// the bound; then names alternate targets by the server's own name.
func (f *fetcher) read(ctx context.Context, c *spec.Cluster, jobs []job, l *plan.Live, pre *prefetch) {
	l.Targets = make([]plan.Target, len(jobs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := plan.Target{Server: j.server, Address: j.addr, Alternate: j.alternate}
			f.opt.Progress.Report(progress.Event{Kind: progress.Started, Cluster: c.Name, Server: j.server})
			data, held, err, ok := pre.take(ctx, j.reader)
			if !ok {
				data, held, err = f.readFile(ctx, j.reader)
			}
			if errors.Is(err, provider.ErrNoCTL) {
				err = nil
			} else {
				t.Data = data
			}
			if err != nil {
				t.Err = serverError(j.server, j.addr, err)
				mu.Lock()
				l.Errors = append(l.Errors, t.Err)
				mu.Unlock()
			}
			if t.Err == "" {
				t.Lock = held
			}
			l.Targets[i] = t
			f.opt.Progress.Report(progress.Event{Kind: progress.Done, Cluster: c.Name, Server: j.server, Err: t.Err})
		}()
		if j.alternate {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.alternate(ctx, c.AlternateTFTP[j.altIndex], j.altOpts, &l.Alternates[j.altIndex])
			}()
		}
	}
	wg.Wait()
	for i, j := range jobs {
		if !j.alternate {
			continue
		}
		if s := l.Alternates[j.altIndex].Server; s != nil && s.Name != "" {
			l.Targets[i].Server = s.Name
		}
	}
}

// reuse returns the reader already open for addr, or nil.
func reuse(readers []provider.Reader, addr string) provider.Reader {
	for _, r := range readers {
		if r.Name() == addr {
			return r
		}
	}
	return nil
}

// alternate reads what the planner needs of an alternate TFTP server: the node itself (its
// certificate, R15) and its cluster (mode and version, R17).
func (f *fetcher) alternate(ctx context.Context, a spec.AlternateTFTP, po provider.Options, out *plan.Alternate) {
	c, err := provider.OpenNode(a.Addr(), po)
	if err != nil {
		out.Err = err.Error()
		return
	}
	// Both asked at once (one round trip, not two: issue 18); the cluster's answer counts only
	// when the node's did, as when they were asked one after the other.
	var inv *provider.Inventory
	var invErr error
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		invErr = f.do(ctx, func(ctx context.Context) (err error) { inv, err = c.Cluster(ctx); return })
	}()
	err = f.do(ctx, func(ctx context.Context) (err error) { out.Server, err = c.Node(ctx); return })
	<-asked
	if err == nil {
		out.Inventory, err = inv, invErr
	}
	if err != nil {
		out.Err = err.Error()
	}
}

// Select returns the named clusters of cfg (all when names is empty), refusing unknown names.
func Select(cfg *spec.Config, names []string) ([]*spec.Cluster, error) {
	if len(names) == 0 {
		return cfg.Clusters, nil
	}
	var out []*spec.Cluster
	var unknown []string
	for _, n := range names {
		c := cfg.Cluster(n)
		if c == nil {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, c)
	}
	if len(unknown) > 0 {
		var known []string
		for _, c := range cfg.Clusters {
			known = append(known, c.Name)
		}
		return nil, fmt.Errorf("no cluster named %s in the spec (clusters: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// Plan fetches the selected clusters and plans them: what `ctlops plan`, `apply` and `drift`
// all start with.
func Plan(ctx context.Context, cfg *spec.Config, names []string, o Options, version string, now time.Time) (*plan.Plan, error) {
	clusters, err := Select(cfg, names)
	if err != nil {
		return nil, err
	}
	lives := Fetch(ctx, cfg, clusters, o)
	p := plan.NewWith(cfg, lives, version, now, o.Plan)
	if err := o.Plan.Check(p); err != nil {
		return nil, err
	}
	return p, nil
}

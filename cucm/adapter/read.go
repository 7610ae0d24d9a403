package adapter

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// NodeState is what one node showed.
type NodeState struct {
	Name     string
	Declared *Node // how the spec reaches it; nil for a node the cluster lists but the spec does not declare
	ShowCTL  *platform.ShowCTL
	// CTL is the file the node's TFTP serves (nil: none, or the node runs no TFTP).
	CTL     []byte
	CTLFile *ctl.File
	ITL     *ctl.File
	ITLData []byte // ITLFile.tlv as served (nil: none); ITL is nil when it does not parse
	// Err is why the node could not be read (unreachable, login refused, unknown output).
	Err error
}

// State is one read of the cluster.
type State struct {
	Cluster   string
	Version   string
	Mixed     bool
	Network   *platform.Cluster
	Inventory tokenless.Inventory
	Nodes     []*NodeState
	Warnings  []string
	// IMAndPresence lists the IM and Presence nodes `show network cluster` names that the
	// spec does not declare: they hold no CTL, so they are neither read nor predicted, and
	// are not undeclared CTL servers (R14). A declared one is read like any other node.
	IMAndPresence []string
}

// Node returns the node's state, or nil.
func (s *State) Node(name string) *NodeState {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Read logs into the publisher (inventory, release, security mode), then reads every node
// concurrently within Parallelism: its certificates (`show cert own`), `show ctl`, and over
// TFTP the CTLFile.tlv and ITLFile.tlv phones get. An error on one node is kept in its
// NodeState; only the publisher's failure fails the read.
func Read(ctx context.Context, p *Pool) (*State, error) {
	t := p.t
	par := t.Parallelism
	if par <= 0 {
		par = 4
	}
	sem := t.Sem
	if sem == nil {
		sem = make(chan struct{}, par)
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	st, rel, err := readPublisher(ctx, p)
	<-sem
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, cn := range st.Network.Nodes {
		listed[cn.Host] = true
		nt := t.node(cn.Host)
		if nt == nil && cn.IMAndPresence() {
			st.IMAndPresence = append(st.IMAndPresence, cn.Host)
			continue
		}
		ns := &NodeState{Name: cn.Host, Declared: nt}
		if nt == nil {
			ns.Err = fmt.Errorf("node %s is in `show network cluster` but not declared in the spec", termsafe.Line(cn.Host))
			st.Warnings = append(st.Warnings, ns.Err.Error())
		}
		st.Nodes = append(st.Nodes, ns)
		ip, _ := netip.ParseAddr(cn.IP)
		n := tokenless.Node{Name: cn.Host, IP: ip, Publisher: cn.Publisher, CallManager: true, TFTP: true}
		if nt != nil {
			n.CallManager, n.TFTP, n.CAPF = nt.CallManager, nt.TFTPService, nt.CAPF
		}
		st.Inventory.Nodes = append(st.Inventory.Nodes, n)
	}
	for _, nt := range t.Nodes {
		if !listed[nt.Name] {
			st.Warnings = append(st.Warnings, fmt.Sprintf("node %s is declared but not in `show network cluster`", nt.Name))
		}
	}
	var wg sync.WaitGroup
	for i, ns := range st.Nodes {
		if ns.Declared == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ns.Err = readNode(ctx, p, rel, ns, &st.Inventory.Nodes[i], t.tftpTimeout())
		}()
	}
	wg.Wait()
	return st, nil
}

// readPublisher reads what only the publisher says: the nodes, the release, the mode.
func readPublisher(ctx context.Context, p *Pool) (*State, tokenless.Release, error) {
	t := p.t
	var rel tokenless.Release
	pub, err := p.Session(ctx, t.Publisher)
	if err != nil {
		return nil, rel, fmt.Errorf("cluster %s: publisher: %w", t.Cluster, err)
	}
	st := &State{Cluster: t.Cluster}
	if st.Network, err = pub.NetworkCluster(ctx); err != nil {
		return nil, rel, err
	}
	if pn := st.Network.Publisher(); pn.Host != t.Publisher {
		return nil, rel, fmt.Errorf("cluster %s: the declared publisher is %s but CUCM says %s", t.Cluster, t.Publisher, termsafe.Line(pn.Host))
	}
	v, err := pub.Version(ctx)
	if err != nil {
		return nil, rel, err
	}
	st.Version = v.Active
	rel, err = tokenless.ParseRelease(v.Active)
	if err != nil {
		return nil, rel, err
	}
	if st.Mixed, err = pub.SecurityMode(ctx); err != nil {
		return nil, rel, err
	}
	st.Inventory = tokenless.Inventory{Release: rel, Mixed: st.Mixed}
	return st, rel, nil
}

func (t *Cluster) tftpTimeout() time.Duration {
	if t.TFTPTimeout > 0 {
		return t.TFTPTimeout
	}
	return 5 * time.Second
}

func readNode(ctx context.Context, p *Pool, rel tokenless.Release, ns *NodeState, n *tokenless.Node, tftpTimeout time.Duration) error {
	s, err := p.Session(ctx, ns.Name)
	if err != nil {
		return err
	}
	get := func(unit string) (*x509.Certificate, error) { return s.CertOwn(ctx, unit) }
	if n.CallManagerCert, err = get(platform.UnitCallManager); err != nil {
		return err
	}
	if n.CAPF {
		if n.CAPFCert, err = get(platform.UnitCAPF); err != nil {
			return err
		}
	}
	if n.Publisher && (rel.HasITLRecoverySAST() || rel.ITLRecoverySigns()) {
		if n.ITLRecoveryCert, err = get(platform.UnitITLRecovery); err != nil {
			return err
		}
	}
	// TVS only feeds the ITL warnings: a node without one is not an error.
	n.TVSCert, _ = get(platform.UnitTVS)
	if ns.ShowCTL, err = s.ShowCTL(ctx); err != nil {
		return err
	}
	if ns.Declared.TFTP == "" || !n.TFTP {
		return nil
	}
	b, err := fetch(ns.Declared.TFTP, "CTLFile.tlv", tftpTimeout)
	switch {
	case errors.Is(err, errNoFile):
	case err != nil:
		return fmt.Errorf("node %s: %w", ns.Name, err)
	default:
		ns.CTL = b
		if ns.CTLFile, err = ctl.Parse(b); err != nil {
			return fmt.Errorf("node %s: CTLFile.tlv over TFTP: %w", ns.Name, err)
		}
	}
	if b, err := fetch(ns.Declared.TFTP, "ITLFile.tlv", tftpTimeout); err == nil {
		ns.ITLData = b
		ns.ITL, _ = ctl.Parse(b)
	}
	return nil
}

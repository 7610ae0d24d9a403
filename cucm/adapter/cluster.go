// Package adapter manages one tokenless CUCM cluster through its platform CLI (cucm/platform)
// and its TFTP service: read the inventory and every node's CTL, predict the CTL the
// publisher will build (cucm/tokenless), say what differs, and drive the publisher to rebuild
// it. It is the part of ctlops that talks to a real CUCM; live and apply wrap it.
package adapter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// Node is how to reach one node and what it runs. Services are declared, because
// `show network cluster` does not list them.
type Node struct {
	Name     string   // host name, as `show network cluster` prints it
	SSH      string   // host:port of the platform CLI
	TFTP     string   // host:port of Cisco TFTP ("" : the node runs no TFTP)
	HostKeys []string // SHA256 fingerprints (or use Cluster.KnownHosts)
	// Services the node runs.
	CallManager, TFTPService, CAPF bool
}

// Cluster is one tokenless cluster: how to reach its nodes and log in.
type Cluster struct {
	Cluster   string
	Publisher string // node name
	Nodes     []Node
	// The platform account: the same on every node (R25).
	User       string
	Password   func() (string, error)
	Auth       string
	KnownHosts string
	Legacy     bool

	Parallelism int // concurrent node reads; default 4
	// Sem, when set, bounds node reads instead of Parallelism: one semaphore shared by every
	// cluster of a plan keeps the whole fetch within --parallelism.
	Sem         chan struct{}
	TFTPTimeout time.Duration // per file; default 5 s
	SSH         platform.Config
}

func (t *Cluster) node(name string) *Node {
	for i := range t.Nodes {
		if t.Nodes[i].Name == name {
			return &t.Nodes[i]
		}
	}
	return nil
}

// Pool keeps one CLI session per node for the length of one check (plan, drift or apply), so
// that every node is logged into once: logins are slow (~10 s on CUCM) and each is a chance
// to count towards lockout.
type Pool struct {
	t        *Cluster
	mu       sync.Mutex
	sessions map[string]*platform.Session
	failed   map[string]error // a node whose login failed is not tried again in this check
}

// NewPool returns an empty pool for t.
func NewPool(t *Cluster) *Pool {
	return &Pool{t: t, sessions: map[string]*platform.Session{}, failed: map[string]error{}}
}

// Session returns the node's session, logging in on first use. A failed login is remembered
// and returned again without a second attempt (never retry a login: CUCM locks accounts).
func (p *Pool) Session(ctx context.Context, name string) (*platform.Session, error) {
	p.mu.Lock()
	if s := p.sessions[name]; s != nil {
		p.mu.Unlock()
		return s, nil
	}
	if err := p.failed[name]; err != nil {
		p.mu.Unlock()
		return nil, err
	}
	p.mu.Unlock()
	nt := p.t.node(name)
	if nt == nil {
		return nil, fmt.Errorf("node %s is not declared in cluster %s: ctlops does not know how to reach it", termsafe.Line(name), p.t.Cluster)
	}
	cfg := p.t.SSH
	cfg.Addr, cfg.User, cfg.Password, cfg.Auth = nt.SSH, p.t.User, p.t.Password, p.t.Auth
	cfg.HostKeys, cfg.KnownHosts, cfg.Legacy = nt.HostKeys, p.t.KnownHosts, p.t.Legacy
	s, err := platform.Dial(ctx, cfg)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("node %s: %w", name, err)
		p.failed[name] = err
		return nil, err
	}
	p.sessions[name] = s
	return s, nil
}

// Add hands the pool a session already logged into node name, which the pool then owns (Close
// logs out of it): a caller that logged in to learn the cluster's nodes (`ctlops import`)
// passes its login on instead of making a second one. A node that already has a session
// keeps it, and s is closed.
func (p *Pool) Add(name string, s *platform.Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[name] != nil {
		s.Close()
		return
	}
	p.sessions[name] = s
}

// Close logs out of every node.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range p.sessions {
		s.Close()
		delete(p.sessions, k)
	}
}

// Package cucmsim simulates the platform administration CLI of a CUCM cluster over SSH, and
// its TFTP service, for the lab and for tests (CUCM-INTERFACES.md §2). Each node has an SSH
// server (PTY shell only, no exec channel, login banner, slow start-up, admin: prompt, CRLF
// and escape noise, confirmation prompts, lockout after 3 failed logins) and a TFTP server
// that serves CTLFile.tlv and ITLFile.tlv. The publisher really builds and signs the CTL
// with the node keys it holds (CallManager, ITLRecovery per release), by code of its own, so
// that cucm/tokenless's prediction is tested against a file made by another path.
//
// Everything this package prints that Cisco documents is taken from the reference; what is
// not documented is marked [unconfirmed] where it is produced.
package cucmsim

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ctlops/ctlops/cucm/tokenless"
)

// NodeSpec is one simulated server.
type NodeSpec struct {
	Name                    string // host name (processnode name)
	Domain                  string // FQDN = Name + "." + Domain
	IP                      netip.Addr
	Publisher               bool
	CallManager, TFTP, CAPF bool
	// IMAndPresence makes it an IM and Presence node: `show network cluster` names it cups,
	// and it gets neither the cluster's CTL nor a TVS record in the ITLs (it runs no
	// CallManager, TFTP or CAPF: leave those false).
	IMAndPresence     bool
	SSHAddr, TFTPAddr string // listen addresses; default 127.0.0.1:0
}

// Delays are the simulated durations, scaled down from a real CUCM (about 10 s from connect
// to the first prompt and ~5 s for `show version active`, §2.1).
type Delays struct {
	Startup time.Duration // login to first prompt
	Command time.Duration // every answer (one round trip)
	CTL     time.Duration // utils ctl … after "y"
	Restart time.Duration // each [STOPPING]/[STARTING] step of a restart
}

// Config describes a simulated cluster.
type Config struct {
	Release  string // as `show version active` prints it, e.g. 12.5.1.11900-146
	Mixed    bool   // start in mixed mode (with a CTL), else non-secure without one
	Nodes    []NodeSpec
	User     string
	Password string
	Delays   Delays
	KeyBits  int                                     // RSA size of node keys; default 2048
	NewKey   func(bits int) (*rsa.PrivateKey, error) // optional key source (tests share a pool)
	Now      func() time.Time
	// Noise adds VT100 escapes around prompts, as real sessions show (§2.1).
	Noise bool
	// Restore starts the cluster as a Snapshot left it (keys, host keys, mode, each node's
	// CTL); Nodes and Mixed are then taken from it. See persist.go.
	Restore *Snapshot
	// OnChange runs after a CLI command changed what a Snapshot holds (utils ctl …), without
	// the cluster's lock held, so that a process can save it.
	OnChange func(*Cluster)
}

// Cluster is a running simulated cluster.
type Cluster struct {
	mu      sync.Mutex
	cfg     Config
	release tokenless.Release
	mixed   bool
	nodes   []*Node
	healthy bool // database replication
	// script overrides for tests: a confirmation prompt text, or an answer per command.
	prompt   string
	override map[string]string
	// Restarts logs every service restart, in order: "node service".
	restarts []string
	commands []string // every command typed on any node: "node: cmd"
	ctlMod   time.Time
}

// Node is one simulated server and its listeners.
type Node struct {
	c        *Cluster
	spec     NodeSpec
	keys     map[string]*keyPair // CallManager, CAPF, ITLRecovery, TVS
	ctlFile  []byte              // the CTLFile.tlv this node holds (nil: none)
	served   []byte              // when set (Tamper), what TFTP serves instead of ctlFile
	itlFile  []byte
	down     bool
	failed   int // failed logins in a row
	attempts int // every password the server received
	conns    int // every TCP connection its SSH listener accepted
	ssh      *sshServer
	tftp     *tftpServer
}

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// Start builds keys and certificates for every node, the CTL when the cluster starts mixed,
// each TFTP node's ITL, and starts the servers.
func Start(cfg Config) (*Cluster, error) {
	rel, err := tokenless.ParseRelease(cfg.Release)
	if err != nil {
		return nil, err
	}
	if cfg.KeyBits == 0 {
		cfg.KeyBits = 2048
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.User == "" || cfg.Password == "" {
		return nil, errors.New("cucmsim: a platform user and password are required")
	}
	c := &Cluster{cfg: cfg, release: rel, mixed: cfg.Mixed, healthy: true, override: map[string]string{}}
	pubs := 0
	specs := cfg.Nodes
	if cfg.Restore != nil {
		specs = nil
		for _, ns := range cfg.Restore.Nodes {
			specs = append(specs, ns.Spec)
		}
	}
	for _, s := range specs {
		if s.Publisher {
			pubs++
		}
	}
	if pubs != 1 {
		return nil, fmt.Errorf("cucmsim: want exactly one publisher, got %d", pubs)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg.Restore != nil {
		if err := c.restoreLocked(cfg.Restore); err != nil {
			c.closeLocked()
			return nil, err
		}
		return c, nil
	}
	for _, s := range cfg.Nodes {
		if _, err := c.addNodeLocked(s, nil); err != nil {
			c.closeLocked()
			return nil, err
		}
	}
	if c.mixed {
		if err := c.updateCTLLocked(); err != nil {
			c.closeLocked()
			return nil, err
		}
	}
	for _, n := range c.nodes {
		if err := n.rebuildITLLocked(); err != nil {
			c.closeLocked()
			return nil, err
		}
	}
	return c, nil
}

// addNodeLocked adds a node with fresh keys, or with saved's keys and host key.
func (c *Cluster) addNodeLocked(s NodeSpec, saved *NodeSnapshot) (*Node, error) {
	for _, n := range c.nodes {
		if n.spec.Name == s.Name {
			return nil, fmt.Errorf("cucmsim: node %s exists", s.Name)
		}
	}
	n := &Node{c: c, spec: s, keys: map[string]*keyPair{}}
	units := []string{"CallManager", "TVS"}
	if s.CAPF {
		units = append(units, "CAPF")
	}
	// ITLRecovery: "12.5+ ITL Recovery is only generated by the Publisher" (TN 214231).
	if s.Publisher || !c.release.ITLRecoveryOnPublisherOnly() {
		units = append(units, "ITLRecovery")
	}
	var hostKey ed25519.PrivateKey
	if saved != nil {
		var err error
		if hostKey, err = saved.load(n); err != nil {
			return nil, fmt.Errorf("cucmsim: node %s: %w", s.Name, err)
		}
	} else {
		for _, u := range units {
			if err := n.regenLocked(u); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if n.ssh, err = startSSH(n, s.SSHAddr, hostKey); err != nil {
		return nil, err
	}
	if n.tftp, err = startTFTP(n, s.TFTPAddr); err != nil {
		n.ssh.close()
		return nil, err
	}
	c.nodes = append(c.nodes, n)
	return n, nil
}

// Close stops every node.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *Cluster) closeLocked() {
	for _, n := range c.nodes {
		n.stopLocked()
	}
}

func (n *Node) stopLocked() {
	if n.ssh != nil {
		n.ssh.close()
	}
	if n.tftp != nil {
		n.tftp.close()
	}
}

// Nodes returns the nodes in `show network cluster` order.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Node returns the node of that name, or nil.
func (c *Cluster) Node(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeLocked(name)
}

func (c *Cluster) nodeLocked(name string) *Node {
	for _, n := range c.nodes {
		if n.spec.Name == name {
			return n
		}
	}
	return nil
}

func (c *Cluster) publisherLocked() *Node {
	for _, n := range c.nodes {
		if n.spec.Publisher {
			return n
		}
	}
	return nil
}

// Name is the node's host name.
func (n *Node) Name() string { n.c.mu.Lock(); defer n.c.mu.Unlock(); return n.spec.Name }

// Spec returns the node's current description (after renames and IP changes).
func (n *Node) Spec() NodeSpec { n.c.mu.Lock(); defer n.c.mu.Unlock(); return n.spec }

// SSHAddr is where the node's CLI listens.
func (n *Node) SSHAddr() string { return n.ssh.addr() }

// TFTPAddr is where the node's TFTP server listens.
func (n *Node) TFTPAddr() string { return n.tftp.addr() }

// HostKey is the SHA-256 fingerprint of the node's SSH host key, as ssh-keygen -l prints it.
func (n *Node) HostKey() string { return n.ssh.fingerprint }

// PasswordsSeen counts the passwords the node received (wrong or right).
func (n *Node) PasswordsSeen() int { n.c.mu.Lock(); defer n.c.mu.Unlock(); return n.attempts }

// SSHConnections counts the TCP connections the node's SSH listener accepted: logins, key
// exchanges ended before authentication, and any other.
func (n *Node) SSHConnections() int { n.c.mu.Lock(); defer n.c.mu.Unlock(); return n.conns }

// Locked reports whether the platform account is locked (3 failed logins).
func (n *Node) Locked() bool { n.c.mu.Lock(); defer n.c.mu.Unlock(); return n.failed >= 3 }

// Cert returns the node's current certificate of a unit (CallManager, CAPF, ITLRecovery, TVS).
func (n *Node) Cert(unit string) *x509.Certificate {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	if k := n.keys[unit]; k != nil {
		return k.cert
	}
	return nil
}

// CTL returns the CTLFile.tlv the node holds (nil: none).
func (n *Node) CTL() []byte {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return append([]byte(nil), n.ctlFile...)
}

// Restarts returns the service restarts so far, in order.
func (c *Cluster) Restarts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.restarts...)
}

// Commands returns every command typed so far ("node: command").
func (c *Cluster) Commands() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.commands...)
}

// Mixed reports the cluster security mode.
func (c *Cluster) Mixed() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.mixed }

// listen opens a TCP listener on addr, loopback only.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

// Package providertest starts reference CTL Provider clusters inside a test, the way
// net/http/httptest starts servers: every node on 127.0.0.1 with a port of its own, real TLS
// from the cluster's own CA, real TFTP, state on disk under t.TempDir(). It exposes the events
// of R22 so that plan, apply and drift tests can make a cluster drift the way a real one does.
//
// Servers that misbehave on purpose (redirects, huge or garbage answers, slow drips, broken
// TFTP) are in the sub-package hostile, for tests that prove a client stays bounded.
package providertest

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
)

// Password is the admin password of every test cluster; tests must not print it either.
const Password = "lab-Secret-123"

// Cluster is a running lab cluster.
type Cluster struct {
	t        testing.TB
	Dir      string
	CAFile   string
	CAPool   *x509.CertPool
	User     string
	Password string

	mu    sync.Mutex
	nodes []*Node
}

// Node is one running node.
type Node struct {
	Name     string // the name it had when started; see Config for the current one
	Addr     string // HTTPS 127.0.0.1:port
	TFTPAddr string // UDP 127.0.0.1:port
	Config   string // path of node.yaml
	Server   *refserver.Node
	done     chan error
}

// Start runs an n-node cluster named "lab" until the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return StartNamed(t, "lab", n)
}

// keyPool makes the test binary's server keys once (refserver.KeyPool): 64 in a row are
// distinct, more than any test's clusters use together.
var keyPool sync.Once

// StartNamed runs an n-node cluster with the given cluster name.
func StartNamed(t testing.TB, name string, n int) *Cluster {
	t.Helper()
	keyPool.Do(func() { refserver.SetKeySource(refserver.KeyPool(64)) })
	dir := t.TempDir()
	var lns []net.Listener
	var pcs []net.PacketConn
	var addrs, taddrs []string
	for i := 0; i < n; i++ {
		ln, pc := listen(t, "127.0.0.1:0", "127.0.0.1:0")
		lns, pcs = append(lns, ln), append(pcs, pc)
		addrs, taddrs = append(addrs, ln.Addr().String()), append(taddrs, pc.LocalAddr().String())
	}
	info, err := refserver.Init(refserver.InitOptions{Dir: dir, Cluster: name, Nodes: n,
		Listen: addrs, TFTPListen: taddrs, Password: Password})
	if err != nil {
		t.Fatalf("providertest: init: %v", err)
	}
	c := &Cluster{t: t, Dir: dir, CAFile: info.CAFile, User: refserver.AdminUser, Password: Password}
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	c.CAPool = x509.NewCertPool()
	c.CAPool.AppendCertsFromPEM(pem)
	for i, ni := range info.Nodes {
		c.nodes = append(c.nodes, c.serve(ni, lns[i], pcs[i]))
	}
	t.Cleanup(c.Close)
	return c
}

func listen(t testing.TB, tcp, udp string) (net.Listener, net.PacketConn) {
	t.Helper()
	ln, err := net.Listen("tcp", tcp)
	if err != nil {
		t.Fatalf("providertest: %v", err)
	}
	pc, err := net.ListenPacket("udp", udp)
	if err != nil {
		ln.Close()
		t.Fatalf("providertest: %v", err)
	}
	return ln, pc
}

func (c *Cluster) serve(ni refserver.NodeInfo, ln net.Listener, pc net.PacketConn) *Node {
	c.t.Helper()
	srv, err := refserver.New(ni.Config)
	if err != nil {
		c.t.Fatalf("providertest: %v", err)
	}
	n := &Node{Name: ni.Name, Addr: ln.Addr().String(), TFTPAddr: pc.LocalAddr().String(), Config: ni.Config,
		Server: srv, done: make(chan error, 1)}
	go func() { n.done <- srv.Serve(ln, pc) }()
	return n
}

// Close stops every node.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.Server != nil {
			n.Server.Close()
			<-n.done
			n.Server = nil
		}
	}
}

// Nodes returns the running nodes.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Node returns the node started under name.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes() {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("providertest: no node %q", name)
	return nil
}

// Addrs returns the HTTPS addresses of the running nodes.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes() {
		out = append(out, n.Addr)
	}
	return out
}

// Options are client options that trust the cluster's CA and carry its credentials.
func (c *Cluster) Options() provider.Options {
	return provider.Options{Username: c.User, Password: c.Password, CAPool: c.CAPool, Timeout: 10 * time.Second}
}

// Client returns an HTTPS client of node.
func (c *Cluster) Client(node string) *provider.Client {
	cl, err := provider.NewClient(c.Node(node).Addr, c.Options())
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// reload makes every running node see an event at once.
func (c *Cluster) reload() {
	for _, n := range c.Nodes() {
		if n.Server != nil {
			if err := n.Server.Reload(); err != nil {
				c.t.Fatalf("providertest: reload %s: %v", n.Name, err)
			}
		}
	}
}

func (c *Cluster) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("providertest: %v", err)
	}
	c.reload()
}

// ChangeIP changes the IPv4 address node reports (R22). node is its current name.
func (c *Cluster) ChangeIP(node, ip string) { c.must(refserver.SetIPv4(c.Dir, node, ip)) }

// Rename changes node's host name and reissues its certificate (R22).
func (c *Cluster) Rename(node, newName string) { c.must(refserver.Rename(c.Dir, node, newName)) }

// RegenCert gives node a new CallManager certificate (R22).
func (c *Cluster) RegenCert(node string) { c.must(refserver.RegenCert(c.Dir, node)) }

// EnableCAPF turns CAPF on at the publisher (R22).
func (c *Cluster) EnableCAPF() { c.must(refserver.EnableCAPF(c.Dir)) }

// SetDelay adds d to every request node answers (WAN latency in benchmarks).
func (c *Cluster) SetDelay(node string, d time.Duration) {
	c.must(refserver.SetDelay(c.Dir, node, d))
}

// AddNode adds and starts a subscriber (R22).
func (c *Cluster) AddNode() *Node {
	c.t.Helper()
	ln, pc := listen(c.t, "127.0.0.1:0", "127.0.0.1:0")
	ni, err := refserver.AddNode(c.Dir, ln.Addr().String(), pc.LocalAddr().String())
	if err != nil {
		ln.Close()
		pc.Close()
		c.t.Fatalf("providertest: %v", err)
	}
	n := c.serve(*ni, ln, pc)
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	c.reload()
	return n
}

// RemoveNode stops node and removes it from the cluster (R22). node is its current name.
func (c *Cluster) RemoveNode(node string) {
	c.t.Helper()
	cfg, err := refserver.FindNode(c.Dir, node)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	for i, n := range c.nodes {
		if n.Config == cfg.Path() {
			if n.Server != nil {
				n.Server.Close()
				<-n.done
			}
			c.nodes = append(c.nodes[:i], c.nodes[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	c.must(refserver.RemoveNode(c.Dir, node))
}

// Stop stops a node without removing it, as a crash would; Restart brings it back on the same
// addresses with the state it had on disk.
func (n *Node) Stop() {
	if n.Server != nil {
		n.Server.Close()
		<-n.done
		n.Server = nil
	}
}

// Restart starts a stopped node again.
func (c *Cluster) Restart(n *Node) {
	c.t.Helper()
	n.Stop()
	var ln net.Listener
	var pc net.PacketConn
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		ln, err = net.Listen("tcp", n.Addr)
		if err == nil {
			pc, err = net.ListenPacket("udp", n.TFTPAddr)
			if err == nil {
				break
			}
			ln.Close()
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("providertest: rebinding %s: %v", n.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv, err := refserver.New(n.Config)
	if err != nil {
		c.t.Fatal(err)
	}
	n.Server, n.done = srv, make(chan error, 1)
	go func() { n.done <- srv.Serve(ln, pc) }()
}

// FileLocation returns the directory node serves over TFTP.
func (n *Node) FileLocation() string {
	cfg, err := refserver.LoadConfig(n.Config)
	if err != nil {
		return ""
	}
	return cfg.Abs(cfg.FileLocation)
}

// PutCTL places data as node's CTLFile.tlv directly, without any check: how a test seeds the
// installed file, or tampers with it behind the provider's back.
func (c *Cluster) PutCTL(node string, data []byte) {
	c.t.Helper()
	if err := provider.WriteCTLFile(c.Node(node).FileLocation(), data); err != nil {
		c.t.Fatal(err)
	}
}

// Tamper flips one byte of node's CTLFile.tlv at offset, so that its signature no longer
// verifies.
func (c *Cluster) Tamper(node string, offset int) {
	c.t.Helper()
	p := filepath.Join(c.Node(node).FileLocation(), provider.FileName)
	data, err := os.ReadFile(p)
	if err != nil {
		c.t.Fatal(err)
	}
	if offset < 0 || offset >= len(data) {
		c.t.Fatalf("providertest: offset %d outside the %d-byte file", offset, len(data))
	}
	data[offset] ^= 0xff
	c.PutCTL(node, data)
}

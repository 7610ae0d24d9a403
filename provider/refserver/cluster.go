package refserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
)

// Files of a cluster directory written by Init.
const (
	CAFile       = "ca.pem"
	CAKeyFile    = "ca.key" // kept so that events can issue new node certificates
	PasswordFile = "admin.password"
	NodeConfig   = "node.yaml"
	AdminUser    = "admin"
)

// DefaultVersion is the CallManager version a lab cluster reports.
const DefaultVersion = "14.0.1.13900-155"

// InitOptions describe a new lab cluster.
type InitOptions struct {
	Dir     string
	Cluster string
	Nodes   int
	Host    string // listen address of every node; 127.0.0.1 when empty
	// BasePort and TFTPBasePort number the nodes' ports consecutively (2444 and 6969 when 0).
	BasePort     int
	TFTPBasePort int
	// Listen and TFTPListen, when set, give each node's addresses instead (one per node).
	Listen     []string
	TFTPListen []string
	// Password is the admin password; when empty one is generated and written to
	// DIR/admin.password with mode 0600.
	Password string
	Version  string
}

// NodeInfo locates one node of a lab cluster.
type NodeInfo struct {
	Name       string
	Config     string // path of node.yaml
	Listen     string
	TFTPListen string
}

// ClusterInfo is what Init made.
type ClusterInfo struct {
	Dir      string
	CAFile   string
	Password string
	Nodes    []NodeInfo
}

// Init writes a ready cluster into opt.Dir (created if missing, refused if it already holds
// a cluster): the CA, per node a config, a CallManager certificate and key, a FileLocation and
// a state directory, and the publisher's CAPF certificate (listed once CAPF is enabled, R22).
func Init(opt InitOptions) (*ClusterInfo, error) {
	if opt.Cluster == "" {
		return nil, errors.New("a cluster name is required")
	}
	if opt.Nodes < 1 || opt.Nodes > 20 {
		return nil, fmt.Errorf("--nodes %d: want 1 to 20", opt.Nodes)
	}
	if opt.Listen != nil && len(opt.Listen) != opt.Nodes || opt.TFTPListen != nil && len(opt.TFTPListen) != opt.Nodes {
		return nil, errors.New("one listen address per node is needed")
	}
	if opt.Host == "" {
		opt.Host = "127.0.0.1"
	}
	if opt.BasePort == 0 {
		opt.BasePort = 2444
	}
	if opt.TFTPBasePort == 0 {
		opt.TFTPBasePort = 6969
	}
	if opt.Version == "" {
		opt.Version = DefaultVersion
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, err
	}
	caPath := filepath.Join(opt.Dir, CAFile)
	if _, err := os.Stat(caPath); err == nil {
		return nil, fmt.Errorf("%s already holds a cluster (%s exists); choose an empty directory", opt.Dir, CAFile)
	}
	info := &ClusterInfo{Dir: opt.Dir, CAFile: caPath, Password: opt.Password}
	if info.Password == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		info.Password = base64.RawURLEncoding.EncodeToString(b)
		if err := atomicfile.Write(filepath.Join(opt.Dir, PasswordFile), []byte(info.Password+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	hash, err := HashPassword(info.Password)
	if err != nil {
		return nil, err
	}
	if err := newCA(opt.Cluster, caPath, filepath.Join(opt.Dir, CAKeyFile)); err != nil {
		return nil, err
	}
	var cfgs []*Config
	for i := 1; i <= opt.Nodes; i++ {
		listen := net.JoinHostPort(opt.Host, strconv.Itoa(opt.BasePort+i-1))
		tftp := net.JoinHostPort(opt.Host, strconv.Itoa(opt.TFTPBasePort+i-1))
		if opt.Listen != nil {
			listen, tftp = opt.Listen[i-1], opt.TFTPListen[i-1]
		}
		c := &Config{Cluster: opt.Cluster, Version: opt.Version, Listen: listen, TFTPListen: tftp}
		c.Admin.User, c.Admin.PasswordHash = AdminUser, hash
		c.Name = "cm" + strconv.Itoa(i)
		if err := writeNode(opt.Dir, c, i == 1, i); err != nil {
			return nil, err
		}
		cfgs = append(cfgs, c)
	}
	for _, c := range cfgs {
		for _, o := range cfgs {
			if o != c {
				c.Peers = append(c.Peers, Peer{Name: o.Name, Address: o.Listen})
			}
		}
		if err := c.Save(); err != nil {
			return nil, err
		}
		info.Nodes = append(info.Nodes, NodeInfo{Name: c.Name, Config: c.path, Listen: c.Listen, TFTPListen: c.TFTPListen})
	}
	return info, nil
}

// writeNode creates a node's directory, certificate and config (without peers).
func writeNode(dir string, c *Config, publisher bool, index int) error {
	nd := filepath.Join(dir, c.Name)
	if _, err := os.Stat(nd); err == nil {
		return fmt.Errorf("%s exists already", nd)
	}
	for _, d := range []string{nd, filepath.Join(nd, "tftp"), filepath.Join(nd, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	c.path = filepath.Join(nd, NodeConfig)
	c.DNSName = c.Name + "." + c.Cluster + ".example.com"
	c.IPv4 = fmt.Sprintf("192.0.2.%d", 10+index) // TEST-NET-1: reported, never dialled
	c.Roles = []string{"CCM", "TFTP"}
	c.FileLocation, c.StateDir = "tftp", "state"
	c.Certificate, c.Key, c.CA = "callmanager.pem", "callmanager.key", "../"+CAFile
	caCert, caKey, err := loadCA(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return err
	}
	if err := newNodeCert(caCert, caKey, c, c.Abs(c.Certificate), c.Abs(c.Key)); err != nil {
		return err
	}
	if publisher {
		c.CAPFCertificate = "capf.pem"
		if err := newCAPFCert(c.Cluster, c.Abs("capf.pem"), c.Abs("capf.key")); err != nil {
			return err
		}
	}
	return c.Save()
}

// Nodes lists the node configs of a cluster directory, by name.
func Nodes(dir string) ([]*Config, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Config
	for _, e := range ents {
		p := filepath.Join(dir, e.Name(), NodeConfig)
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		c, err := LoadConfig(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no node (no */%s)", dir, NodeConfig)
	}
	return out, nil
}

// FindNode returns the config of the node called name.
func FindNode(dir, name string) (*Config, error) {
	all, err := Nodes(dir)
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%s: no node named %q", dir, name)
}

// SetIPv4 changes the address a node reports (R22).
func SetIPv4(dir, name, ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return fmt.Errorf("%q is not an IPv4 address", ip)
	}
	c, err := FindNode(dir, name)
	if err != nil {
		return err
	}
	return UpdateConfig(c.path, func(c *Config) error { c.IPv4 = a.String(); return nil })
}

// Rename changes a node's host name (R22). The CallManager certificate names the host, so it
// is reissued, as CUCM does; peers learn the new name.
func Rename(dir, name, newName string) error {
	if newName == "" {
		return errors.New("a new host name is required")
	}
	all, err := Nodes(dir)
	if err != nil {
		return err
	}
	var node *Config
	for _, c := range all {
		if c.Name == newName {
			return fmt.Errorf("a node named %q exists already", newName)
		}
		if c.Name == name {
			node = c
		}
	}
	if node == nil {
		return fmt.Errorf("%s: no node named %q", dir, name)
	}
	if err := UpdateConfig(node.path, func(c *Config) error {
		c.Name, c.DNSName = newName, newName+"."+c.Cluster+".example.com"
		return reissue(dir, c)
	}); err != nil {
		return err
	}
	for _, c := range all {
		if c != node {
			if err := UpdateConfig(c.path, func(c *Config) error {
				for i := range c.Peers {
					if c.Peers[i].Name == name {
						c.Peers[i].Name = newName
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

func reissue(dir string, c *Config) error {
	caCert, caKey, err := loadCA(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return err
	}
	return newNodeCert(caCert, caKey, c, c.Abs(c.Certificate), c.Abs(c.Key))
}

// RegenCert issues a node a new CallManager certificate and key (R22: replacing a server).
func RegenCert(dir, name string) error {
	c, err := FindNode(dir, name)
	if err != nil {
		return err
	}
	return UpdateConfig(c.path, func(c *Config) error { return reissue(dir, c) })
}

// EnableCAPF turns CAPF on at the publisher (R22).
func EnableCAPF(dir string) error {
	all, err := Nodes(dir)
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.CAPFCertificate != "" {
			return UpdateConfig(c.path, func(c *Config) error { c.CAPF = true; return nil })
		}
	}
	return errors.New("no node has a CAPF certificate (the publisher made by init has)")
}

// AddNode adds a subscriber listening on the given addresses and tells every node (R22).
func AddNode(dir, listen, tftpListen string) (*NodeInfo, error) {
	all, err := Nodes(dir)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, c := range all {
		names[c.Name] = true
	}
	i := len(all) + 1
	for names["cm"+strconv.Itoa(i)] {
		i++
	}
	first := all[0]
	c := &Config{Cluster: first.Cluster, Version: first.Version, Listen: listen, TFTPListen: tftpListen,
		Name: "cm" + strconv.Itoa(i), Admin: first.Admin}
	for _, o := range all {
		c.Peers = append(c.Peers, Peer{Name: o.Name, Address: o.Listen})
	}
	if err := writeNode(dir, c, false, i); err != nil {
		return nil, err
	}
	for _, o := range all {
		if err := UpdateConfig(o.path, func(o *Config) error {
			o.Peers = append(o.Peers, Peer{Name: c.Name, Address: c.Listen})
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return &NodeInfo{Name: c.Name, Config: c.path, Listen: c.Listen, TFTPListen: c.TFTPListen}, nil
}

// RemoveNode takes a node out of every other node's peers and deletes its directory (R22).
// Stop its server first.
func RemoveNode(dir, name string) error {
	node, err := FindNode(dir, name)
	if err != nil {
		return err
	}
	if node.CAPFCertificate != "" {
		return fmt.Errorf("%s is the publisher; a cluster cannot lose it", name)
	}
	all, err := Nodes(dir)
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.Name == name {
			continue
		}
		if err := UpdateConfig(c.path, func(c *Config) error {
			var keep []Peer
			for _, p := range c.Peers {
				if p.Name != name {
					keep = append(keep, p)
				}
			}
			c.Peers = keep
			return nil
		}); err != nil {
			return err
		}
	}
	return os.RemoveAll(filepath.Dir(node.path))
}

// SetDelay sets the artificial per-request delay of a node.
func SetDelay(dir, name string, d time.Duration) error {
	c, err := FindNode(dir, name)
	if err != nil {
		return err
	}
	return UpdateConfig(c.path, func(c *Config) error { c.Delay = d; return nil })
}

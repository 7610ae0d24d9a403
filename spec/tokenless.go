package spec

import (
	"net"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/internal/safefile"
)

// Signing says who signs a cluster's CTL.
type Signing string

const (
	// SigningTokens: security tokens sign (R15, R16), pushed through ctlops's own CTL
	// Provider protocol. The default.
	SigningTokens Signing = "tokens"
	// SigningTokenless: CUCM signs with its own CallManager / ITLRecovery keys, driven through
	// the publisher's platform CLI over SSH (CUCM-INTERFACES.md §2, §3).
	SigningTokenless Signing = "tokenless"
)

// DefaultSSHPort is the platform CLI's port.
const DefaultSSHPort = 22

// Platform is how a tokenless cluster is reached: the publisher's platform CLI, the nodes
// the admin expects, and the platform account (the same on every node, R25).
type Platform struct {
	Host string
	Port int
	// HostKeys are SHA256 fingerprints; every node's host key must be one of them. KnownHosts
	// is an absolute path to a known_hosts file. One of the two is required: "accept any"
	// is not offered.
	HostKeys   []string
	KnownHosts string
	// LegacyAlgorithms enables old SSH algorithms for this cluster only (some older UCOS
	// releases need them; which ones is [unconfirmed]).
	LegacyAlgorithms bool
	// Auth is "password", "keyboard-interactive" or "" (whichever the server offers).
	Auth        string
	Credentials *Credentials
	Nodes       []PlatformNode
	Pos         Pos
}

// Addr is the publisher's host:port.
func (p *Platform) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// Publisher returns the node reached at the platform address (or named as its host).
func (p *Platform) Publisher() *PlatformNode {
	for i := range p.Nodes {
		if p.Nodes[i].SSH == p.Addr() {
			return &p.Nodes[i]
		}
	}
	for i := range p.Nodes {
		if strings.EqualFold(p.Nodes[i].Name, strings.SplitN(p.Host, ".", 2)[0]) {
			return &p.Nodes[i]
		}
	}
	return nil
}

// PlatformNode is one node the admin expects, and how to reach it.
type PlatformNode struct {
	Name  string      // host name as `show network cluster` prints it
	SSH   string      // host:port of its platform CLI (default name:22)
	TFTP  string      // host:port of its TFTP service (default ssh host:69); "" when no TFTP role
	Roles []cucm.Role // CCM, TFTP, CAPF
	Pos   Pos
}

var (
	hostKeyPattern = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}=?$`)
	// tokenlessRefused are the cluster keys a tokenless cluster may not have, and why.
	tokenlessRefused = map[string]string{
		"tokens":        "a tokenless CTL is signed by CUCM's own CallManager and ITLRecovery certificates, which are its two SAST records (R16 is met by them); the platform CLI cannot add tokens (docs/cucm-interfaces.md §2.15)",
		"signWith":      "CUCM signs a tokenless CTL itself on the publisher; ctlops holds no key for it",
		"alternateTFTP": "the platform CLI cannot add alternate TFTP servers to a tokenless CTL (docs/cucm-interfaces.md §2.15), so ctlops cannot enforce them",
		"providers":     "a tokenless cluster is read and changed through platform: (SSH and TFTP), not CTL Providers",
		"credentials":   "give the platform account under platform.credentials",
		"tls":           "the platform CLI is SSH: pin host keys under platform.hostKeys or platform.knownHosts",
	}
)

func init() {
	keys["cluster"] = append(keys["cluster"], "signing", "platform")
	keys["platform"] = []string{"host", "port", "hostKeys", "knownHosts", "legacyAlgorithms", "auth", "credentials", "nodes"}
	keys["platformNode"] = []string{"name", "ssh", "tftp", "roles"}
}

// signing reads the cluster's signing key ("" when absent: tokens).
func (l *loader) signing(d *decoder, f fields, path string) Signing {
	v, ok := f.get("signing")
	if !ok {
		return SigningTokens
	}
	s, ok := d.str(v.val, join(path, "signing"))
	if !ok {
		return SigningTokens
	}
	switch Signing(s) {
	case SigningTokens, SigningTokenless:
		return Signing(s)
	}
	d.errorf(v.val, join(path, "signing"), "bad signing %q: want tokens or tokenless", s)
	return SigningTokens
}

// tokenlessKeys refuses the keys that make no sense for a tokenless cluster, each with why.
func (l *loader) tokenlessKeys(d *decoder, f fields, path string) {
	for _, k := range sorted(keysOf(tokenlessRefused)) {
		if v, ok := f.get(k); ok {
			d.errorf(v.key, join(path, k), "not allowed with signing: tokenless: %s", tokenlessRefused[k])
		}
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (l *loader) platform(d *decoder, n *yaml.Node, path string) *Platform {
	f, ok := d.mapping(n, path, keys["platform"]...)
	if !ok {
		return nil
	}
	p := &Platform{Port: DefaultSSHPort, Pos: d.pos(f.node)}
	d.required(f, "host", "credentials", "nodes")
	if v, ok := f.get("host"); ok {
		if s, ok := d.str(v.val, join(path, "host")); ok {
			if hostPattern.MatchString(s) || isIP(s) {
				p.Host = s
			} else {
				d.errorf(v.val, join(path, "host"), "bad host %q", s)
			}
		}
	}
	if v, ok := f.get("port"); ok {
		if n, ok := d.integer(v.val, join(path, "port")); ok {
			if n < 1 || n > 65535 {
				d.errorf(v.val, join(path, "port"), "port %d out of range", n)
			} else {
				p.Port = n
			}
		}
	}
	if !f.has("hostKeys") && !f.has("knownHosts") {
		d.errorf(f.node, path, "give hostKeys: (SHA256 fingerprints of the nodes' SSH host keys) or knownHosts: (a known_hosts file); accepting any host key is not offered")
	}
	if v, ok := f.get("hostKeys"); ok {
		items, _ := d.list(v.val, join(path, "hostKeys"))
		for i, it := range items {
			ip := index(join(path, "hostKeys"), i)
			if s, ok := d.str(it, ip); ok {
				if !hostKeyPattern.MatchString(s) {
					d.errorf(it, ip, "bad host key fingerprint: want SHA256:<43 base64 characters>, as `ssh-keygen -l -E sha256` prints")
				} else {
					p.HostKeys = append(p.HostKeys, s)
				}
			}
		}
	}
	if v, ok := f.get("knownHosts"); ok {
		if s, ok := d.str(v.val, join(path, "knownHosts")); ok {
			abs, shown := d.resolvePath(s)
			// 1 MiB: platform.MaxKnownHostsFile, which reads it again at connection time
			// (spec may not import cucm/platform)
			if _, err := safefile.Read(abs, 1<<20); err != nil {
				d.errorf(v.val, join(path, "knownHosts"), "known_hosts file %s: %v", shown, err)
			}
			p.KnownHosts = abs
		}
	}
	if v, ok := f.get("legacyAlgorithms"); ok {
		p.LegacyAlgorithms, _ = d.boolean(v.val, join(path, "legacyAlgorithms"))
	}
	if v, ok := f.get("auth"); ok {
		if s, ok := d.str(v.val, join(path, "auth")); ok {
			if s != "password" && s != "keyboard-interactive" {
				d.errorf(v.val, join(path, "auth"), "bad auth %q: want password or keyboard-interactive", s)
			}
			p.Auth = s
		}
	}
	if v, ok := f.get("credentials"); ok {
		p.Credentials = l.credentials(d, v.val, join(path, "credentials"))
	}
	if v, ok := f.get("nodes"); ok {
		items, _ := d.list(v.val, join(path, "nodes"))
		for i, it := range items {
			if nd, ok := l.platformNode(d, it, index(join(path, "nodes"), i)); ok {
				for _, o := range p.Nodes {
					if strings.EqualFold(o.Name, nd.Name) {
						d.errorf(it, index(join(path, "nodes"), i), "duplicate node %q", nd.Name)
					}
				}
				p.Nodes = append(p.Nodes, nd)
			}
		}
		if len(items) > 0 && len(p.Nodes) == len(items) && p.Publisher() == nil {
			d.errorf(v.val, join(path, "nodes"), "no node is reached at %s: list the publisher with ssh: %s", p.Addr(), p.Addr())
		}
	}
	return p
}

func (l *loader) platformNode(d *decoder, n *yaml.Node, path string) (PlatformNode, bool) {
	f, ok := d.mapping(n, path, keys["platformNode"]...)
	if !ok {
		return PlatformNode{}, false
	}
	nd := PlatformNode{Pos: d.pos(f.node)}
	d.required(f, "name", "roles")
	good := true
	if v, ok := f.get("name"); ok {
		if s, ok := d.str(v.val, join(path, "name")); ok && hostPattern.MatchString(s) {
			nd.Name = s
		} else {
			d.errorf(v.val, join(path, "name"), "bad node name")
			good = false
		}
	}
	addr := func(key string, def int) string {
		v, ok := f.get(key)
		if !ok {
			return ""
		}
		s, ok := d.str(v.val, join(path, key))
		if !ok {
			good = false
			return ""
		}
		h, pt, err := net.SplitHostPort(s)
		if err != nil {
			h, pt = s, strconv.Itoa(def)
		}
		if n, err := strconv.Atoi(pt); err != nil || n < 1 || n > 65535 || !(hostPattern.MatchString(h) || isIP(h)) {
			d.errorf(v.val, join(path, key), "bad address %q: want host or host:port", s)
			good = false
			return ""
		}
		return net.JoinHostPort(h, pt)
	}
	nd.SSH = addr("ssh", DefaultSSHPort)
	if nd.SSH == "" {
		nd.SSH = net.JoinHostPort(nd.Name, strconv.Itoa(DefaultSSHPort))
	}
	nd.TFTP = addr("tftp", DefaultTFTPPort)
	if v, ok := f.get("roles"); ok {
		items, _ := d.list(v.val, join(path, "roles"))
		for i, it := range items {
			s, ok := d.str(it, index(join(path, "roles"), i))
			if !ok {
				continue
			}
			switch cucm.Role(s) {
			case cucm.RoleCCM, cucm.RoleTFTP, cucm.RoleCAPF:
				nd.Roles = append(nd.Roles, cucm.Role(s))
			default:
				d.errorf(it, index(join(path, "roles"), i), "bad role %q: want CCM, TFTP or CAPF", s)
			}
		}
	}
	hasTFTP := false
	for _, r := range nd.Roles {
		hasTFTP = hasTFTP || r == cucm.RoleTFTP
	}
	if hasTFTP && nd.TFTP == "" {
		h, _, _ := net.SplitHostPort(nd.SSH)
		nd.TFTP = net.JoinHostPort(h, strconv.Itoa(DefaultTFTPPort))
	}
	if !hasTFTP {
		nd.TFTP = ""
	}
	return nd, good
}

func isIP(s string) bool { return net.ParseIP(s) != nil }

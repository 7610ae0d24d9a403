package adopt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/spec"
)

// A tokenless cluster is imported through its publisher's platform CLI (ssh://USER@HOST[:PORT],
// issue 14): `show network cluster` names the nodes, the adapter reads each one as plan will
// (`show cert own`, `show ctl`, CTLFile.tlv and ITLFile.tlv over TFTP), and the spec written
// declares `signing: tokenless` with a `platform:` block. Only `show` commands and TFTP reads
// are run: import never changes a cluster.
//
// Host keys are never trusted on first use. A host key must be confirmed before the password
// is sent anywhere: --host-key SHA256:… (as `ssh-keygen -l` prints it) or --known-hosts FILE.
// Without either, import only runs the SSH key exchange with the publisher (and every
// --node-ssh address), ends it before authentication, prints the fingerprints it saw and
// stops: the admin compares them with the nodes' consoles and runs import again with them.
// With them, the publisher's login is its only connection: the login's own key exchange
// checks the key before anything is sent. The subscribers' addresses come from the publisher,
// so their keys are checked (key exchange only) after the publisher's login and before any
// password reaches them: every node's key is known good before the first subscriber login.

// DefaultPlatformPasswordEnv is the variable the platform password is read from, and named
// in the spec as {env: ...}, when Options.PasswordEnv is empty and the source is ssh://.
const DefaultPlatformPasswordEnv = "CTLOPS_PLATFORM_PASSWORD"

// maxPasswordFile bounds --password-file: a password is short.
const maxPasswordFile = 4 << 10

var hostKeyPattern = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}=?$`)

// HostKeyPending is the error of an import that stopped to have host keys confirmed: nothing
// was sent to any node. Keys lists what each server offered.
type HostKeyPending struct {
	Keys []SeenKey
	Why  string
}

// SeenKey is one server's host key, as the key exchange showed it.
type SeenKey struct {
	Node, Addr, Fingerprint, Type string
}

func (e *HostKeyPending) Error() string {
	var b strings.Builder
	b.WriteString(e.Why)
	for _, k := range e.Keys {
		fmt.Fprintf(&b, "; %s (%s) offers %s %s", termsafe.Line(k.Node), termsafe.Line(k.Addr), termsafe.Line(k.Type), k.Fingerprint)
	}
	b.WriteString(". Nothing was sent to them (key exchange only). Compare each fingerprint with the node's own (on its console), then run import again with --host-key FINGERPRINT for each, or --known-hosts FILE")
	return b.String()
}

func parsePlatformSource(s string) (source, error) {
	src := source{raw: s, ssh: true}
	rest := strings.TrimSuffix(strings.TrimPrefix(s, "ssh://"), "/")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		src.user, rest = rest[:at], rest[at+1:]
		if src.user == "" {
			return src, fmt.Errorf("source %s: empty user name before @", s)
		}
	}
	host, port, err := splitHostPort(rest, spec.DefaultSSHPort)
	if err != nil {
		return src, fmt.Errorf("source %s: %w", s, err)
	}
	src.host, src.port = host, port
	src.open = "ssh://" + joinHostPort(host, port)
	return src, nil
}

// platformTrust is how host keys are confirmed: pinned fingerprints and/or a known_hosts file.
type platformTrust struct {
	pins       []string
	knownHosts string // absolute
}

func (o Options) platformTrust() (platformTrust, error) {
	var t platformTrust
	for _, k := range o.HostKeys {
		if !hostKeyPattern.MatchString(k) {
			return t, fmt.Errorf("--host-key %q: want SHA256:<43 base64 characters>, as `ssh-keygen -l -E sha256` prints it", termsafe.Line(k))
		}
		t.pins = append(t.pins, k)
	}
	if o.KnownHosts != "" {
		abs, err := filepath.Abs(o.KnownHosts)
		if err != nil {
			return t, fmt.Errorf("--known-hosts: %w", err)
		}
		if _, err := safefile.Read(abs, 1<<20); err != nil {
			return t, fmt.Errorf("--known-hosts: %w", err)
		}
		t.knownHosts = abs
	}
	return t, nil
}

func (t platformTrust) none() bool { return len(t.pins) == 0 && t.knownHosts == "" }

// passwordRef is how the written spec names the platform password, and how import reads it
// now. The password itself is never stored anywhere but in the closure.
type passwordRef struct {
	env, file string // exactly one is set
	read      func() (string, error)
	prompted  bool
}

// platformPassword picks the password source: --password-file, else the environment
// variable, else the prompt (a terminal). The spec names the file or the variable.
func (o Options) platformPassword(user, addr string) (*passwordRef, error) {
	if !envPattern.MatchString(o.PasswordEnv) {
		return nil, fmt.Errorf("--password-env %q: want an environment variable name", o.PasswordEnv)
	}
	if o.PasswordFile != "" {
		abs, err := filepath.Abs(o.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		return &passwordRef{file: abs, read: func() (string, error) {
			b, err := safefile.Read(abs, maxPasswordFile)
			if err != nil {
				return "", fmt.Errorf("--password-file: %w", err)
			}
			pw := strings.TrimRight(string(b), "\r\n")
			if pw == "" {
				return "", errors.New("--password-file: the file is empty")
			}
			return pw, nil
		}}, nil
	}
	if pw, ok := lookupEnv(o.PasswordEnv); ok && pw != "" {
		return &passwordRef{env: o.PasswordEnv, read: func() (string, error) { return pw, nil }}, nil
	}
	if o.AskPassword == nil {
		return nil, fmt.Errorf("no platform password: set %s, give --password-file FILE, or run import on a terminal to be asked (the spec names the variable or the file, never the password)", o.PasswordEnv)
	}
	// Asked once, when the publisher asks for it, and reused for every node (R25).
	var once sync.Once
	var pw string
	var perr error
	ref := &passwordRef{env: o.PasswordEnv, prompted: true}
	ref.read = func() (string, error) {
		once.Do(func() {
			pw, perr = o.AskPassword(fmt.Sprintf("Platform password for %s@%s: ", termsafe.Line(user), termsafe.Line(addr)))
			if perr == nil && pw == "" {
				perr = errors.New("empty password")
			}
		})
		return pw, perr
	}
	return ref, nil
}

// nodeAddrs parses --node-ssh / --node-tftp NAME=HOST:PORT.
func nodeAddrs(flag string, vals []string, def int) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		name, hp, ok := strings.Cut(v, "=")
		if !ok || !validHost(name) {
			return nil, fmt.Errorf("%s %q: want NAME=HOST:PORT (NAME as `show network cluster` prints it)", flag, termsafe.Line(v))
		}
		host, port, err := splitHostPort(hp, def)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, termsafe.Line(v), err)
		}
		k := strings.ToLower(name)
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s names %s twice", flag, termsafe.Line(name))
		}
		out[k] = joinHostPort(host, port)
	}
	return out, nil
}

// platformRead is what the platform CLI and TFTP showed.
type platformRead struct {
	src      source
	trust    platformTrust
	password *passwordRef
	network  *platform.Cluster
	// per node of network.Nodes, in its order, but for the IM and Presence nodes
	nodes []discovered
	// imp are the IM and Presence nodes network lists: they hold no CTL, so import neither
	// reaches them nor declares them (buildPlatform says so).
	imp   []string
	state *adapter.State
}

type discovered struct {
	node    platform.ClusterNode
	ssh     string
	tftp    string
	hostKey string
}

// readPlatform logs into the publisher, lists the nodes, checks every node's host key and
// reads the cluster through the adapter, as plan will.
func readPlatform(ctx context.Context, o Options, src source) (*platformRead, error) {
	r := &platformRead{src: src}
	user := src.user
	if user == "" {
		user = o.Username
	}
	if user == "" {
		return nil, fmt.Errorf("source %s: give the platform administrator as ssh://USER@HOST (or --username): the OS administrator, not the CM Administration user", src.raw)
	}
	src.user = user
	r.src = src
	var err error
	if r.trust, err = o.platformTrust(); err != nil {
		return nil, err
	}
	nodeSSH, err := nodeAddrs("--node-ssh", o.NodeSSH, spec.DefaultSSHPort)
	if err != nil {
		return nil, err
	}
	nodeTFTP, err := nodeAddrs("--node-tftp", o.NodeTFTP, spec.DefaultTFTPPort)
	if err != nil {
		return nil, err
	}
	pubAddr := joinHostPort(src.host, src.port)
	cfg := platform.Config{}
	if o.Platform != nil {
		cfg = *o.Platform
	}
	if o.Timeout > 0 && cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = o.Timeout
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = o.Timeout
	}

	if r.trust.none() {
		return nil, probeAll(ctx, cfg, pubAddr, nodeSSH, o.LegacyAlgorithms)
	}
	if r.password, err = o.platformPassword(user, pubAddr); err != nil {
		return nil, err
	}

	// The publisher's own list of nodes. Its key is confirmed (pinned or in known_hosts), so
	// no key-exchange-only probe comes first: the login checks the key during its own key
	// exchange, before the user name or the password is sent (the password is read only when
	// the server asks for it), and a key that is not a confirmed one ends the handshake there
	// and is shown, as the probe would have.
	pc := cfg
	pc.Addr, pc.User, pc.Password, pc.HostKeys, pc.KnownHosts, pc.Legacy = pubAddr, user, r.password.read, r.trust.pins, r.trust.knownHosts, o.LegacyAlgorithms
	s, err := platform.Dial(ctx, pc)
	var hke *platform.HostKeyError
	if errors.As(err, &hke) {
		return nil, &HostKeyPending{Keys: []SeenKey{{Node: "publisher", Addr: pubAddr, Fingerprint: hke.Fingerprint}},
			Why: "the publisher offers a host key that is not among the confirmed ones (--host-key, --known-hosts)"}
	}
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	pubKey := s.HostKey
	// This login is the import's only one on the publisher: the adapter's read below reuses
	// it (Pool.Add) rather than log in again (each login counts towards CUCM's lockout).
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	r.network, err = s.NetworkCluster(ctx)
	if err != nil {
		return nil, fmt.Errorf("publisher %s: %w", pubAddr, err)
	}
	pub := r.network.Publisher()
	if pub == nil {
		return nil, fmt.Errorf("%s: `show network cluster` lists no Publisher: give the publisher's address", pubAddr)
	}
	listed, imp := map[string]bool{}, map[string]bool{}
	for _, n := range r.network.Nodes {
		if !validHost(n.Host) {
			return nil, fmt.Errorf("`show network cluster` names a node %q, which is not a host name the spec accepts", termsafe.Line(n.Host))
		}
		listed[strings.ToLower(n.Host)] = true
		if n.IMAndPresence() && !n.Publisher {
			imp[strings.ToLower(n.Host)] = true
		}
	}
	for _, m := range []map[string]string{nodeSSH, nodeTFTP} {
		for name := range m {
			switch {
			case !listed[name]:
				return nil, fmt.Errorf("--node-ssh/--node-tftp name %s, which `show network cluster` does not list (it lists %s)", termsafe.Line(name), nodeList(r.network))
			case imp[name]:
				return nil, fmt.Errorf("--node-ssh/--node-tftp name %s, an IM and Presence node: it holds no CTL, and import does not reach it", termsafe.Line(name))
			}
		}
	}

	// Where each node is reached, and its host key, before any password goes to it.
	var pending []SeenKey
	var unreachable []string
	for _, n := range r.network.Nodes {
		k := strings.ToLower(n.Host)
		if imp[k] {
			r.imp = append(r.imp, n.Host) // no host key check, no password: it is not read
			continue
		}
		d := discovered{node: n}
		switch {
		case n.Publisher:
			d.ssh, d.hostKey = pubAddr, pubKey
		case nodeSSH[k] != "":
			d.ssh = nodeSSH[k]
		default:
			d.ssh = joinHostPort(nodeHost(n), spec.DefaultSSHPort)
		}
		d.tftp = nodeTFTP[k]
		if d.tftp == "" {
			h, _, _ := net.SplitHostPort(d.ssh)
			d.tftp = joinHostPort(h, spec.DefaultTFTPPort)
		}
		if !n.Publisher {
			fp, err := platform.CheckHostKey(ctx, d.ssh, r.trust.pins, r.trust.knownHosts, cfg.DialTimeout, o.LegacyAlgorithms)
			switch {
			case errors.As(err, &hke):
				pending = append(pending, SeenKey{Node: n.Host, Addr: d.ssh, Fingerprint: hke.Fingerprint})
			case err != nil:
				unreachable = append(unreachable, fmt.Sprintf("%s: %s", n.Host, termsafe.Error(err)))
			}
			d.hostKey = fp
		}
		r.nodes = append(r.nodes, d)
	}
	if len(unreachable) > 0 {
		return nil, fmt.Errorf("cannot reach every node of the cluster (R26; --node-ssh NAME=HOST:PORT says where a node is reached): %s", strings.Join(unreachable, "; "))
	}
	if len(pending) > 0 {
		return nil, &HostKeyPending{Keys: pending, Why: "the publisher's host key is confirmed, but not every node's"}
	}

	// The read plan will make. Roles are provisional here (every node TFTP, CAPF on the
	// publisher): roles.go decides them from what was read.
	t := &adapter.Cluster{Cluster: pub.Host, Publisher: pub.Host, User: user, Password: r.password.read,
		KnownHosts: r.trust.knownHosts, Legacy: o.LegacyAlgorithms, Parallelism: 4, SSH: cfg, TFTPTimeout: o.Timeout}
	for _, d := range r.nodes {
		t.Nodes = append(t.Nodes, adapter.Node{Name: d.node.Host, SSH: d.ssh, TFTP: d.tftp, HostKeys: r.trust.pins,
			CallManager: d.node.Product == "callmanager", TFTPService: true, CAPF: d.node.Publisher})
	}
	p := adapter.NewPool(t)
	defer p.Close()
	p.Add(pub.Host, s)
	s = nil // the pool's now
	if r.state, err = adapter.Read(ctx, p); err != nil {
		return nil, err
	}
	return r, nil
}

// probeAll runs the key exchange only with the publisher and every --node-ssh address and
// returns what they offered as a *HostKeyPending.
func probeAll(ctx context.Context, cfg platform.Config, pubAddr string, nodeSSH map[string]string, legacy bool) error {
	e := &HostKeyPending{Why: "no host key is confirmed (give --host-key or --known-hosts): import does not trust a key on first use"}
	add := func(name, addr string) error {
		fp, typ, err := platform.ProbeHostKey(ctx, addr, cfg.DialTimeout, legacy)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		e.Keys = append(e.Keys, SeenKey{Node: name, Addr: addr, Fingerprint: fp, Type: typ})
		return nil
	}
	if err := add("publisher", pubAddr); err != nil {
		return err
	}
	for _, name := range sortedKeys(nodeSSH) {
		if nodeSSH[name] == pubAddr {
			continue
		}
		if err := add(name, nodeSSH[name]); err != nil {
			return err
		}
	}
	return e
}

// nodeHost is where a node is reached by default: its IP as the publisher lists it, else its
// FQDN, else its host name.
func nodeHost(n platform.ClusterNode) string {
	if a, err := netip.ParseAddr(n.IP); err == nil && a.Zone() == "" {
		return a.String()
	}
	if n.FQDN != "" && validHost(n.FQDN) {
		return n.FQDN
	}
	return n.Host
}

func nodeList(c *platform.Cluster) string {
	var s []string
	for _, n := range c.Nodes {
		s = append(s, n.Host)
	}
	return termsafe.Line(strings.Join(s, ", "))
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

package platform

import (
	"net/netip"
	"strings"

	"github.com/ctlops/ctlops/cucm/tokenless"
)

// ClusterNode is one line of `show network cluster` (§2.10): IP, FQDN (absent on some
// releases), host name, role, product, DB role, and whether it is authenticated.
type ClusterNode struct {
	IP            string `json:"ip"`
	FQDN          string `json:"fqdn,omitempty"`
	Host          string `json:"host"`
	Publisher     bool   `json:"publisher"`
	Product       string `json:"product"`
	DBRole        string `json:"dbRole"`
	Authenticated bool   `json:"authenticated"`
	Since         string `json:"since,omitempty"`
}

// ProductIMAndPresence is the product `show network cluster` names an IM and Presence node
// with (a Unified CM node is callmanager, §2.10).
const ProductIMAndPresence = "cups"

// IMAndPresence says whether the node is an IM and Presence node. It holds no CTL: CUCM's CTL
// lists only the cluster's Unified CM nodes (AXL listProcessNode calls these nodes "CUCM IM
// and Presence", and live's cross-check leaves them out for the same reason).
func (n ClusterNode) IMAndPresence() bool { return n.Product == ProductIMAndPresence }

// Cluster is the parsed `show network cluster`. ProcessNodes is set only on the publisher,
// which alone prints the Server Table (processnode) Entries.
type Cluster struct {
	Nodes        []ClusterNode `json:"nodes"`
	ProcessNodes []string      `json:"processNodes,omitempty"`
	Dynamic      string        `json:"dynamic,omitempty"`
}

// Publisher returns the publisher's line, or nil.
func (c *Cluster) Publisher() *ClusterNode {
	for i := range c.Nodes {
		if c.Nodes[i].Publisher {
			return &c.Nodes[i]
		}
	}
	return nil
}

const cmdNetworkCluster = "show network cluster"

// ParseNetworkCluster parses `show network cluster`. Each node is IP, [FQDN], host,
// Publisher|Subscriber, product, DB role, "authenticated" [+ "using TCP since <date>"].
func ParseNetworkCluster(out string) (*Cluster, error) {
	s := stripEcho(Flat(out), cmdNetworkCluster)
	c := &Cluster{}
	if i := strings.Index(s, "Dynamic Cluster Configuration is enabled for "); i >= 0 {
		c.Dynamic = strings.TrimSuffix(strings.TrimSpace(s[i+len("Dynamic Cluster Configuration is enabled for "):]), ".")
		s = strings.TrimSpace(s[:i])
	}
	const table = "Server Table (processnode) Entries"
	if i := strings.Index(s, table); i >= 0 {
		rest := strings.Fields(s[i+len(table):])
		if len(rest) == 0 || strings.Trim(rest[0], "-") != "" {
			return nil, unknown(cmdNetworkCluster, "processnode table without its underline", s[i:])
		}
		c.ProcessNodes = append([]string{}, rest[1:]...)
		if len(c.ProcessNodes) == 0 {
			return nil, unknown(cmdNetworkCluster, "empty processnode table", s[i:])
		}
		s = strings.TrimSpace(s[:i])
	}
	tok := strings.Fields(s)
	for i := 0; i < len(tok); {
		start := i
		if _, err := netip.ParseAddr(tok[i]); err != nil {
			return nil, unknown(cmdNetworkCluster, "expected a node's IP address", strings.Join(tok[i:], " "))
		}
		n := ClusterNode{IP: tok[i]}
		i++
		var names []string
		for i < len(tok) && tok[i] != "Publisher" && tok[i] != "Subscriber" && len(names) < 3 {
			names = append(names, tok[i])
			i++
		}
		switch len(names) {
		case 1:
			n.Host = names[0]
		case 2:
			n.FQDN, n.Host = names[0], names[1]
		default:
			return nil, unknown(cmdNetworkCluster, "expected FQDN, host name and role", strings.Join(tok[start:], " "))
		}
		if i+3 >= len(tok) {
			return nil, unknown(cmdNetworkCluster, "node line cut short", strings.Join(tok[start:], " "))
		}
		n.Publisher = tok[i] == "Publisher"
		n.Product, n.DBRole = tok[i+1], tok[i+2]
		if !strings.HasPrefix(n.DBRole, "DB") {
			return nil, unknown(cmdNetworkCluster, "expected a DB role (DBPub/DBSub)", strings.Join(tok[start:], " "))
		}
		// The state word: only "authenticated" is documented. Anything else (a node that lost
		// its peer) is reported as not authenticated, with the words kept for the message.
		i += 3
		if tok[i] != "authenticated" {
			return nil, unknown(cmdNetworkCluster, "node "+n.Host+" is not in the documented state 'authenticated'", strings.Join(tok[start:], " "))
		}
		n.Authenticated = true
		i++
		if i+2 < len(tok) && tok[i] == "using" && tok[i+1] == "TCP" && tok[i+2] == "since" {
			if i+8 > len(tok) {
				return nil, unknown(cmdNetworkCluster, "date cut short", strings.Join(tok[start:], " "))
			}
			n.Since = strings.Join(tok[i+3:i+8], " ")
			i += 8
		}
		c.Nodes = append(c.Nodes, n)
	}
	if len(c.Nodes) == 0 {
		return nil, unknown(cmdNetworkCluster, "no nodes in the answer", out)
	}
	if c.Publisher() == nil {
		return nil, unknown(cmdNetworkCluster, "no node is the Publisher", s)
	}
	return c, nil
}

// Version is the parsed `show version active` (§2.13).
type Version struct {
	Active  string   `json:"active"`
	Options []string `json:"options"`
}

const cmdVersion = "show version active"

// ParseVersion parses `show version active`: the Active Master Version, then the installed
// options (.cop files) or "No Installed Software Options Found.".
func ParseVersion(out string) (*Version, error) {
	s := stripEcho(Flat(out), cmdVersion)
	tok := strings.Fields(s)
	if len(tok) < 4 || strings.Join(tok[:3], " ") != "Active Master Version:" {
		return nil, unknown(cmdVersion, "expected 'Active Master Version:'", s)
	}
	v := &Version{Active: tok[3], Options: []string{}}
	if _, err := tokenless.ParseRelease(v.Active); err != nil {
		return nil, unknown(cmdVersion, err.Error(), s)
	}
	rest := strings.Join(tok[4:], " ")
	if rest == "" {
		return v, nil
	}
	const opts = "Active Version Installed Software Options:"
	if !strings.HasPrefix(rest, opts) {
		return nil, unknown(cmdVersion, "unexpected text after the version", rest)
	}
	rest = strings.TrimSpace(rest[len(opts):])
	if rest == "No Installed Software Options Found." || rest == "" {
		return v, nil
	}
	for _, f := range strings.Fields(rest) {
		if !strings.HasSuffix(f, ".cop") && !strings.HasSuffix(f, ".cop.sgn") {
			return nil, unknown(cmdVersion, "expected .cop file names", rest)
		}
		v.Options = append(v.Options, f)
	}
	return v, nil
}

package spec

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultServiceabilityPort is Tomcat's HTTPS port, where AXL, Control Center Services and
// RisPort70 listen on every node.
const DefaultServiceabilityPort = 8443

// Serviceability declares where a cluster's Cisco serviceability APIs are reached (Control
// Center Services on every node, RisPort70 and AXL on the publisher) and with which CCM
// application user. When it is declared, apply restarts services and resets phones through
// these APIs and verifies registration (R23); without it, the CTL Provider's restart call
// stays the fallback.
type Serviceability struct {
	// Credentials are the application user's (HTTP Basic, valid for all three APIs).
	Credentials *Credentials
	// TLS must give a CA: the serviceability client verifies Tomcat's certificate chain and
	// does not take pins alone.
	TLS *TLS
	// AXLVersion is the AXL schema version ("14.0" when empty).
	AXLVersion string
	Nodes      []ServiceabilityNode
	Pos        Pos
}

// ServiceabilityNode is one node's Tomcat.
type ServiceabilityNode struct {
	// Name is the node's name in the cluster (Control Center's NodeName, RisPort70's CmNode
	// name, AXL's processNode name).
	Name      string
	Host      string
	Port      int
	Publisher bool
	Pos       Pos
}

// URL is https://host:port.
func (n ServiceabilityNode) URL() string {
	return "https://" + net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
}

// Publisher returns the publisher's node (RisPort70 and AXL are asked there).
func (s *Serviceability) Publisher() *ServiceabilityNode {
	for i := range s.Nodes {
		if s.Nodes[i].Publisher {
			return &s.Nodes[i]
		}
	}
	return nil
}

var (
	axlVersionPattern = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]{1,2}$`)
	nodeNamePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
)

func (l *loader) serviceability(d *decoder, n *yaml.Node, path string) *Serviceability {
	f, ok := d.mapping(n, path, keys["serviceability"]...)
	if !ok {
		return nil
	}
	s := &Serviceability{Pos: d.pos(f.node)}
	d.required(f, "credentials", "tls", "nodes")
	if v, ok := f.get("credentials"); ok {
		s.Credentials = l.credentials(d, v.val, join(path, "credentials"))
	}
	if v, ok := f.get("tls"); ok {
		s.TLS = l.tls(d, v.val, join(path, "tls"))
		if s.TLS != nil && s.TLS.CAFile == "" && len(s.TLS.Pins) > 0 {
			d.errorf(v.val, join(path, "tls"), "give ca: the serviceability APIs are checked against a CA (Tomcat's), not by pins alone")
		}
	}
	if v, ok := f.get("axlVersion"); ok {
		if str, ok := d.str(v.val, join(path, "axlVersion")); ok {
			if axlVersionPattern.MatchString(str) {
				s.AXLVersion = str
			} else {
				d.errorf(v.val, join(path, "axlVersion"), "bad AXL version %q: want major.minor such as 14.0", str)
			}
		}
	}
	if v, ok := f.get("nodes"); ok {
		items, ok := d.list(v.val, join(path, "nodes"))
		if ok && len(items) == 0 {
			d.errorf(d.deref(v.val, ""), join(path, "nodes"), "no node given")
		}
		pubs := 0
		for i, it := range items {
			p := index(join(path, "nodes"), i)
			nf, ok := d.mapping(it, p, keys["serviceabilityNode"]...)
			if !ok {
				continue
			}
			d.required(nf, "name", "host")
			nd := ServiceabilityNode{Port: DefaultServiceabilityPort, Pos: d.pos(nf.node)}
			if v, ok := nf.get("name"); ok {
				if str, ok := d.str(v.val, join(p, "name")); ok {
					if nodeNamePattern.MatchString(str) {
						nd.Name = str
					} else {
						d.errorf(v.val, join(p, "name"), "bad node name %q: letters, digits, '.', '_' and '-'", str)
					}
				}
			}
			if v, ok := nf.get("host"); ok {
				nd.Host, _ = d.host(v.val, join(p, "host"))
			}
			if v, ok := nf.get("port"); ok {
				if port, ok := d.port(v.val, join(p, "port")); ok {
					nd.Port = port
				}
			}
			if v, ok := nf.get("publisher"); ok {
				nd.Publisher, _ = d.boolean(v.val, join(p, "publisher"))
			}
			for _, o := range s.Nodes {
				if nd.Name != "" && strings.EqualFold(o.Name, nd.Name) {
					d.errorf(nf.node, p, "node %s is declared twice", nd.Name)
				}
			}
			if nd.Publisher {
				pubs++
			}
			s.Nodes = append(s.Nodes, nd)
		}
		if ok && len(items) > 0 && pubs != 1 {
			d.errorf(d.deref(v.val, ""), join(path, "nodes"), "%s", fmt.Sprintf("want exactly one node with publisher: true (RisPort70 and AXL are asked there), found %d", pubs))
		}
	}
	return s
}

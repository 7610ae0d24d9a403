package cucmsim

import (
	"fmt"
	"net/netip"
	"strings"
)

// Event is one lab event, as `ctlops lab event` sends it to a serving process.
type Event struct {
	Kind string `json:"kind"`           // regen-cert, ip-change, rename, add-node, remove-node, tamper
	Node string `json:"node,omitempty"` // the node it happens to (not for add-node)
	// Arg is the new IPv4 address (ip-change) or host name (rename, add-node).
	Arg string `json:"arg,omitempty"`
	// SSH and TFTP are the new node's listeners (add-node), handed out by the lab.
	SSH  string `json:"ssh,omitempty"`
	TFTP string `json:"tftp,omitempty"`
}

// EventKinds are the kinds Do knows.
var EventKinds = []string{"regen-cert", "ip-change", "rename", "add-node", "remove-node", "tamper"}

// Do causes ev and says, in a sentence, what changed.
func (c *Cluster) Do(ev Event) (string, error) {
	switch ev.Kind {
	case "regen-cert":
		if err := c.RegenCert(ev.Node, "CallManager"); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s has a new CallManager certificate (serial %X)", ev.Node, c.Node(ev.Node).Cert("CallManager").SerialNumber), nil
	case "ip-change":
		ip, err := netip.ParseAddr(ev.Arg)
		if err != nil || !ip.Is4() {
			return "", fmt.Errorf("%q is not an IPv4 address", ev.Arg)
		}
		n := c.Node(ev.Node)
		if n == nil {
			return "", fmt.Errorf("no node %s", ev.Node)
		}
		old := n.Spec().IP
		if err := c.ChangeIP(ev.Node, ip); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s now reports IP %s in show network cluster (was %s)", ev.Node, ip, old), nil
	case "rename":
		if err := c.Rename(ev.Node, ev.Arg); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s is now %s, with new CallManager and TVS certificates naming it", ev.Node, ev.Arg), nil
	case "add-node":
		n, err := c.AddNode(c.newSubscriber(ev))
		if err != nil {
			return "", err
		}
		s := n.Spec()
		return fmt.Sprintf("%s (CallManager, TFTP; IP %s) joined, CLI on %s (host key %s), TFTP on %s",
			s.Name, s.IP, n.SSHAddr(), n.HostKey(), n.TFTPAddr()), nil
	case "remove-node":
		if err := c.RemoveNode(ev.Node); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s was shut down and left the cluster", ev.Node), nil
	case "tamper":
		if err := c.Tamper(ev.Node); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s now serves over TFTP a CTLFile.tlv with one byte flipped (show ctl still reads the good copy)", ev.Node), nil
	}
	return "", fmt.Errorf("unknown event %q (events: %s)", ev.Kind, strings.Join(EventKinds, ", "))
}

// newSubscriber describes the node add-node adds: CallManager and TFTP, in the publisher's
// domain, at the address after the highest one in the cluster.
func (c *Cluster) newSubscriber(ev Event) NodeSpec {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := NodeSpec{Name: ev.Arg, CallManager: true, TFTP: true, SSHAddr: ev.SSH, TFTPAddr: ev.TFTP}
	var top netip.Addr
	for _, n := range c.nodes {
		if n.spec.Publisher {
			s.Domain = n.spec.Domain
		}
		if !top.IsValid() || top.Less(n.spec.IP) {
			top = n.spec.IP
		}
	}
	s.IP = top.Next()
	return s
}

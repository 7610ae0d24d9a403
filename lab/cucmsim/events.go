package cucmsim

import (
	"fmt"
	"net/netip"
	"strings"
)

// The events an administrator (or the lab) causes. None of them touches the CTL: on CUCM the
// CTL changes only through `utils ctl …` (R22), which is exactly why they make drift.

// RegenCert regenerates one unit's key and certificate on a node (`set cert regen`).
func (c *Cluster) RegenCert(node, unit string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(node)
	if n == nil {
		return fmt.Errorf("no node %s", node)
	}
	if n.keys[unit] == nil {
		return fmt.Errorf("node %s has no %s certificate", node, unit)
	}
	return n.regenLocked(unit)
}

// ChangeIP gives a node a new address (the data IP in show network cluster; the listeners
// stay where they are).
func (c *Cluster) ChangeIP(node string, ip netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(node)
	if n == nil {
		return fmt.Errorf("no node %s", node)
	}
	n.spec.IP = ip
	return nil
}

// Rename changes a node's host name. CUCM regenerates the certificates of a renamed node;
// the simulator regenerates the CallManager one (and TVS) so that its subject follows.
func (c *Cluster) Rename(node, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(node)
	if n == nil {
		return fmt.Errorf("no node %s", node)
	}
	if c.nodeLocked(name) != nil {
		return fmt.Errorf("node %s exists", name)
	}
	n.spec.Name = name
	for _, u := range []string{"CallManager", "TVS"} {
		if err := n.regenLocked(u); err != nil {
			return err
		}
	}
	return nil
}

// AddNode adds a subscriber with fresh keys and its own listeners. It holds no CTL until the
// next `utils ctl update CTLFile`.
func (c *Cluster) AddNode(s NodeSpec) (*Node, error) {
	if s.Publisher {
		return nil, fmt.Errorf("a cluster has one publisher")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.addNodeLocked(s, nil)
	if err != nil {
		return nil, err
	}
	return n, n.rebuildITLLocked()
}

// RemoveNode stops a subscriber and deletes it from the cluster.
func (c *Cluster) RemoveNode(node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.nodes {
		if n.spec.Name == node {
			if n.spec.Publisher {
				return fmt.Errorf("the publisher cannot be removed")
			}
			n.stopLocked()
			c.nodes = append(c.nodes[:i], c.nodes[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("no node %s", node)
}

// Tamper flips one byte of the CTL the node's TFTP serves, leaving the copy `show ctl`
// reads alone: a corrupted or replaced download (what CUCM's own `show ctl` prints for a
// file that fails verification is [unconfirmed], so the simulator does not invent it). The
// next `utils ctl` command rewrites both.
func (c *Cluster) Tamper(node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(node)
	if n == nil || len(n.ctlFile) == 0 {
		return fmt.Errorf("node %s holds no CTL", node)
	}
	b := append([]byte(nil), n.ctlFile...)
	b[len(b)/3] ^= 0x01
	n.served = b
	return nil
}

// SetReplication makes database replication healthy or not.
func (c *Cluster) SetReplication(healthy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.healthy = healthy
}

// SetDown takes a node off the network (its SSH sessions drop, new ones are closed at once,
// TFTP answers File not found) or brings it back.
func (c *Cluster) SetDown(node string, down bool) error {
	c.mu.Lock()
	n := c.nodeLocked(node)
	if n == nil {
		c.mu.Unlock()
		return fmt.Errorf("no node %s", node)
	}
	n.down = down
	c.mu.Unlock()
	if down {
		n.ssh.dropConns()
	}
	return nil
}

// ScriptPrompt replaces the text before "Do you want to continue? (y/n):" of every utils
// ctl command ("" restores the real one): a CUCM that asks something unexpected.
func (c *Cluster) ScriptPrompt(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prompt = text
}

// ScriptAnswer makes a command print text instead of its answer ("" restores it).
func (c *Cluster) ScriptAnswer(cmd, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if text == "" {
		delete(c.override, strings.ToLower(cmd))
		return
	}
	c.override[strings.ToLower(cmd)] = text
}

// Unlock clears a node's failed-login count (`utils reset_application_ui_administrator…` or
// waiting out the Unlock Time on a real node).
func (c *Cluster) Unlock(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.nodeLocked(node); n != nil {
		n.failed = 0
	}
}

// SetCTL puts a file on one node, as a copy by hand would (`file` over SFTP).
func (c *Cluster) SetCTL(node string, b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(node)
	if n == nil {
		return fmt.Errorf("no node %s", node)
	}
	n.ctlFile, n.served = append([]byte(nil), b...), nil
	return nil
}

package cucmsim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/safefile"
)

// A CUCM keeps its keys, certificates, security mode and CTL across reboots; the lab's
// simulator must too, so that `ctlops lab down` then `lab up` finds the cluster as apply left
// it. A Snapshot is that state, written by the process that serves the cluster after every
// change and read back when it starts.

// Snapshot is a cluster's lasting state. It holds private keys: its file is 0600.
type Snapshot struct {
	Release string         `json:"release"`
	Mixed   bool           `json:"mixed"`
	CTLMod  time.Time      `json:"ctlModified,omitzero"`
	Nodes   []NodeSnapshot `json:"nodes"`
}

// NodeSnapshot is one node: its description, SSH host key, unit keys and the CTL it holds.
type NodeSnapshot struct {
	Spec NodeSpec `json:"spec"`
	// HostKey is the SSH host key (PKCS#8 DER), so that pinned fingerprints stay valid.
	HostKey []byte             `json:"hostKey"`
	Keys    map[string]UnitKey `json:"keys"`
	CTL     []byte             `json:"ctl,omitempty"`
	Served  []byte             `json:"served,omitempty"` // a tampered download (Tamper)
}

// UnitKey is one unit's key (PKCS#8 DER) and certificate (DER).
type UnitKey struct {
	Key  []byte `json:"key"`
	Cert []byte `json:"cert"`
}

// MaxSnapshot bounds a snapshot file: a few nodes' keys and CTLs are far below it.
const MaxSnapshot = 4 << 20

// Snapshot returns the cluster's lasting state, nodes in `show network cluster` order.
func (c *Cluster) Snapshot() (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Snapshot{Release: c.cfg.Release, Mixed: c.mixed, CTLMod: c.ctlMod}
	for _, n := range c.nodes {
		hk, err := x509.MarshalPKCS8PrivateKey(n.ssh.private)
		if err != nil {
			return nil, err
		}
		ns := NodeSnapshot{Spec: n.spec, HostKey: hk, Keys: map[string]UnitKey{},
			CTL: append([]byte(nil), n.ctlFile...), Served: append([]byte(nil), n.served...)}
		// The listeners' real addresses, so that a node started on port 0 keeps its port.
		ns.Spec.SSHAddr, ns.Spec.TFTPAddr = n.ssh.addr(), n.tftp.addr()
		units := make([]string, 0, len(n.keys))
		for u := range n.keys {
			units = append(units, u)
		}
		sort.Strings(units)
		for _, u := range units {
			k, err := x509.MarshalPKCS8PrivateKey(n.keys[u].key)
			if err != nil {
				return nil, err
			}
			ns.Keys[u] = UnitKey{Key: k, Cert: n.keys[u].cert.Raw}
		}
		s.Nodes = append(s.Nodes, ns)
	}
	return s, nil
}

// restoreLocked builds the nodes of s with their saved keys and files, and their ITLs.
func (c *Cluster) restoreLocked(s *Snapshot) error {
	if s.Release != c.cfg.Release {
		return fmt.Errorf("cucmsim: the saved cluster runs %s, the config says %s", s.Release, c.cfg.Release)
	}
	c.mixed, c.ctlMod = s.Mixed, s.CTLMod
	for i := range s.Nodes {
		n, err := c.addNodeLocked(s.Nodes[i].Spec, &s.Nodes[i])
		if err != nil {
			return err
		}
		n.ctlFile = nilIfEmpty(s.Nodes[i].CTL)
		n.served = nilIfEmpty(s.Nodes[i].Served)
	}
	for _, n := range c.nodes {
		if err := n.rebuildITLLocked(); err != nil {
			return err
		}
	}
	return nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// load puts the saved unit keys into n and returns the saved host key.
func (ns *NodeSnapshot) load(n *Node) (ed25519.PrivateKey, error) {
	hk, err := x509.ParsePKCS8PrivateKey(ns.HostKey)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	priv, ok := hk.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("host key: not ed25519")
	}
	if len(ns.Keys) == 0 {
		return nil, errors.New("no unit keys")
	}
	for u, k := range ns.Keys {
		pk, err := x509.ParsePKCS8PrivateKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("%s key: %w", u, err)
		}
		rk, ok := pk.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s key: not RSA", u)
		}
		cert, err := x509.ParseCertificate(k.Cert)
		if err != nil {
			return nil, fmt.Errorf("%s certificate: %w", u, err)
		}
		if !rk.PublicKey.Equal(cert.PublicKey) {
			return nil, fmt.Errorf("%s: the certificate is not the key's", u)
		}
		n.keys[u] = &keyPair{key: rk, cert: cert}
	}
	return priv, nil
}

// SaveSnapshot writes s to path atomically, 0600 (it holds private keys).
func SaveSnapshot(path string, s *Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// LoadSnapshot reads a snapshot file, bounded in size, unknown fields refused.
func LoadSnapshot(path string) (*Snapshot, error) {
	b, err := safefile.Read(path, MaxSnapshot)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var s Snapshot
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(s.Nodes) == 0 {
		return nil, fmt.Errorf("%s: no nodes", path)
	}
	return &s, nil
}

// HostKeyFingerprint is the SHA-256 fingerprint of the node's saved SSH host key, as
// HostKey and ssh-keygen -l print it: what a spec pins.
func (ns *NodeSnapshot) HostKeyFingerprint() (string, error) {
	hk, err := x509.ParsePKCS8PrivateKey(ns.HostKey)
	if err != nil {
		return "", fmt.Errorf("node %s: host key: %w", ns.Spec.Name, err)
	}
	priv, ok := hk.(ed25519.PrivateKey)
	if !ok {
		return "", fmt.Errorf("node %s: host key: not ed25519", ns.Spec.Name)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(pub), nil
}

package lab

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
)

// metro's phones (issue 15). metro's nodes are one simulator process (lab/cucmsim) that
// holds their keys and serves CTLFile.tlv and ITLFile.tlv over TFTP; it knows nothing of
// phones. Each metro node gets the same phone side as a token cluster's node (lab/callmanager,
// `ctlops lab callmanager-run`), given a callmanager.Source instead of files: its TFTP relays
// the simulator's TFTP service, answering the per-MAC names CTLSEP<MAC>.tlv and
// ITLSEP<MAC>.tlv with the simulator's CTLFile.tlv and ITLFile.tlv (P3) and adding the
// configuration files; its registration listeners present the node's CallManager
// certificate from metro's state, and its TVS the node's TVS key. So a metro phone trusts
// what the simulator built and signed, and nothing the lab made up beside it.

// createMetroPhones adds metro's phone side and phones to pl: its CallManager nodes, the
// subscribers first, as for the token clusters.
func (l *Lab) createMetroPhones(pl *PhoneLab, perCluster int, mac *int) error {
	snap, err := l.metroState()
	if err != nil || snap == nil {
		return err
	}
	var group, tftp []string
	var pub string
	for _, n := range snap.Nodes {
		s := n.Spec
		if !s.CallManager {
			continue
		}
		pn := PhoneNode{Cluster: Metro, Node: s.Name, Upstream: s.TFTPAddr}
		if err := allocatePorts(&pn); err != nil {
			return err
		}
		pl.Nodes = append(pl.Nodes, pn)
		if s.Publisher {
			pub = s.Name
			continue
		}
		group = append(group, s.Name)
		if s.TFTP {
			tftp = append(tftp, s.Name)
		}
	}
	if pub != "" {
		group = append(group, pub)
		if n := metroNodeByName(snap, pub); n != nil && n.Spec.TFTP {
			tftp = append(tftp, pub)
		}
	}
	addPhones(pl, Metro, group, tftp, perCluster, mac)
	return nil
}

func metroNodeByName(snap *cucmsim.Snapshot, name string) *cucmsim.NodeSnapshot {
	for i := range snap.Nodes {
		if snap.Nodes[i].Spec.Name == name {
			return &snap.Nodes[i]
		}
	}
	return nil
}

// nodeIdentity is what a phone-side node is now: its host name, its IPv4 address as its CTL
// records carry it, and its cluster's security mode. metro's come from the simulator's
// state (by the node's TFTP address, which renames and address changes keep), the others'
// from their node.yaml and provider state.
func (l *Lab) nodeIdentity(pn *PhoneNode) (name, ip string, mode provider.Mode, err error) {
	if pn.Upstream != "" {
		snap, err := l.metroState()
		if err != nil {
			return "", "", "", err
		}
		ns, err := metroNodeByTFTP(snap, pn.Upstream)
		if err != nil {
			return "", "", "", err
		}
		mode = provider.ModeNonSecure
		if snap.Mixed {
			mode = provider.ModeMixed
		}
		return ns.Spec.Name, ns.Spec.IP.String(), mode, nil
	}
	c, err := refserver.LoadConfig(pn.Config)
	if err != nil {
		return "", "", "", err
	}
	return c.Name, c.IPv4, clusterMode(c), nil
}

func metroNodeByTFTP(snap *cucmsim.Snapshot, addr string) (*cucmsim.NodeSnapshot, error) {
	if snap == nil {
		return nil, errors.New("the lab has no metro")
	}
	for i := range snap.Nodes {
		if snap.Nodes[i].Spec.TFTPAddr == addr {
			return &snap.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("metro has no node with TFTP at %s (removed?)", addr)
}

// metroKeys reads metro's state file again when it changed (the simulator writes it after
// every utils ctl command and event), so that a regenerated certificate is presented.
type metroKeys struct {
	l        *Lab
	upstream string

	mu    sync.Mutex
	stamp time.Time
	size  int64
	snap  *cucmsim.Snapshot
}

func (m *metroKeys) state() (*cucmsim.Snapshot, error) {
	sc, err := cucmsim.LoadServeConfig(m.l.metroConfig())
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fi, err := os.Stat(sc.StateFile)
	if err != nil {
		if m.snap != nil {
			return m.snap, nil
		}
		return nil, err
	}
	if m.snap != nil && fi.ModTime().Equal(m.stamp) && fi.Size() == m.size {
		return m.snap, nil
	}
	snap, err := cucmsim.LoadSnapshot(sc.StateFile)
	if err != nil {
		if m.snap != nil {
			return m.snap, nil // written as we read: keep the last good one
		}
		return nil, err
	}
	m.snap, m.stamp, m.size = snap, fi.ModTime(), fi.Size()
	return snap, nil
}

// unit is the node's certificate and key of a unit (CallManager, TVS, ITLRecovery).
func (m *metroKeys) unit(name string) (*tls.Certificate, error) {
	snap, err := m.state()
	if err != nil {
		return nil, err
	}
	ns, err := metroNodeByTFTP(snap, m.upstream)
	if err != nil {
		return nil, err
	}
	return unitCert(ns, name)
}

func unitCert(ns *cucmsim.NodeSnapshot, name string) (*tls.Certificate, error) {
	k, ok := ns.Keys[name]
	if !ok {
		return nil, fmt.Errorf("metro/%s has no %s certificate", ns.Spec.Name, name)
	}
	key, err := x509.ParsePKCS8PrivateKey(k.Key)
	if err != nil {
		return nil, fmt.Errorf("metro/%s %s key: %w", ns.Spec.Name, name, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("metro/%s %s key: not RSA", ns.Spec.Name, name)
	}
	leaf, err := x509.ParseCertificate(k.Cert)
	if err != nil {
		return nil, fmt.Errorf("metro/%s %s certificate: %w", ns.Spec.Name, name, err)
	}
	return &tls.Certificate{Certificate: [][]byte{k.Cert}, PrivateKey: rk, Leaf: leaf}, nil
}

// trust is TVS's certificate store on metro (P30): the publisher's ITLRecovery, which signs
// metro's CTL and ITL (12.x, §3.1), as SAST; every node's CallManager certificate as
// CCM+TFTP. Taken from the certificate store, not from the CTL, as for the token clusters.
func (m *metroKeys) trust() (sast, ccm []*x509.Certificate) {
	snap, err := m.state()
	if err != nil {
		return nil, nil
	}
	for i := range snap.Nodes {
		ns := &snap.Nodes[i]
		if c, err := unitCert(ns, "ITLRecovery"); err == nil && ns.Spec.Publisher {
			sast = append(sast, c.Leaf)
		}
		if c, err := unitCert(ns, "CallManager"); err == nil {
			ccm = append(ccm, c.Leaf)
		}
	}
	return sast, ccm
}

// metroCallManager is the options of a metro node's phone side; the caller adds what every
// phone side has (configuration files, TLS requirement, service control).
func (l *Lab) metroCallManager(pn *PhoneNode, out io.Writer) (callmanager.Options, error) {
	keys := &metroKeys{l: l, upstream: pn.Upstream}
	snap, err := keys.state()
	if err != nil {
		return callmanager.Options{}, err
	}
	ns, err := metroNodeByTFTP(snap, pn.Upstream)
	if err != nil {
		return callmanager.Options{}, err
	}
	o := callmanager.Options{
		Name: ns.Spec.Name,
		Log:  log.New(out, "", log.LstdFlags),
		Source: &callmanager.Source{
			CallManager: func() (*tls.Certificate, error) { return keys.unit("CallManager") },
			TVS:         func() (*tls.Certificate, error) { return keys.unit("TVS") },
			File:        callmanager.Upstream(pn.Upstream),
			Trust:       keys.trust,
		},
	}
	o.Self = func() (string, netip.Addr) {
		name, ip, _, _ := l.nodeIdentity(pn)
		a, _ := netip.ParseAddr(ip)
		return name, a
	}
	return o, nil
}

// isMetroCluster reports whether name is metro in a lab that has it.
func (l *Lab) isMetroCluster(name string) bool { return name == Metro && l.hasMetro() }

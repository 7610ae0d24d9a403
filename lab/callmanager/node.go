package callmanager

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/lab/tvs"
)

// Options describe one node's phone-facing services. Paths are read on use, so that events
// that change certificate files (R22) show up without a restart.
type Options struct {
	Name string
	// Host and IP are what the node's records say (the ITL's CCM+TFTP record, P8).
	Host string
	IP   netip.Addr
	// Self, when set, gives Host and IP at each use instead (they change with R22 events).
	Self func() (host string, ip netip.Addr)
	// Config, when set, serves configuration files instead of ConfigDir (see Files.Config).
	Config func(mac string) ([]byte, error)
	// Certificate and Key are the node's CallManager certificate (CallManager.pem).
	Certificate, Key string
	// TVSCertificate and TVSKey are the node's TVS identity (see EnsureTVSCert).
	TVSCertificate, TVSKey string
	// CAPFCertificate, when set, is listed in the ITL.
	CAPFCertificate string
	// FileLocation holds CTLFile.tlv; ConfigDir the devices' SEP<MAC>.cnf.xml.
	FileLocation, ConfigDir string
	// ClusterTVS are the TVS certificates of every node of the cluster, this one included:
	// the ITL holds them all (P24, C8).
	ClusterTVS []string
	// ClusterCallManagers are the CallManager certificates of the cluster's nodes: TVS vouches
	// for them as CCM+TFTP (role 2), which lets an SBD phone take an ITL signed by a node whose
	// certificate is newer than its CTL (P21, P30).
	ClusterCallManagers []string
	// PhoneSASTTrust are certificates uploaded to Phone-SAST-trust: TVS vouches for them as
	// SAST (role 0, P30). TVS does not vouch from the node's own CTLFile.tlv (C4's
	// CertificateCTLCache): a file written behind the provider's back would then vouch for
	// itself. Not modelling it is the stricter choice.
	PhoneSASTTrust []string
	// RequireTLS, when set, refuses devices whose profile asks for TLS on the plain ports.
	RequireTLS func(device string) bool
	// TFTPStopped, when set and true, refuses every download: Cisco Tftp is stopped on the
	// node (see Services, issue 16).
	TFTPStopped func() bool
	Log         *log.Logger

	// A node whose keys and files another program keeps (the lab's tokenless metro, whose
	// simulator holds them: see Source) sets these instead of the paths above.
	Source *Source
}

// Source is where a node's phone side takes what it serves when it does not hold it itself:
// a tokenless CUCM's TFTP service builds CTLFile.tlv and ITLFile.tlv, and its certificate
// store holds the CallManager and TVS keys. Every function is called at each use, so that a
// change (utils ctl, set cert regen) shows without a restart.
type Source struct {
	// CallManager and TVS are the node's certificates and keys (TVS is read once, at New).
	CallManager, TVS func() (*tls.Certificate, error)
	// File returns CTLFile.tlv or ITLFile.tlv as the node's TFTP service serves it now; an
	// error is "File not found" (P4).
	File func(name string) ([]byte, error)
	// Trust is TVS's certificate store (P30): certificates it vouches for as SAST, and as
	// CCM+TFTP.
	Trust func() (sast, ccmTFTP []*x509.Certificate)
}

// Listeners are the sockets a node serves phones on.
type Listeners struct {
	TFTP          net.PacketConn
	SCCP, SCCPTLS net.Listener // SCCPTLS is the Ethernet Phone Port + 443 in CUCM (P40)
	SIP, SIPTLS   net.Listener
	TVS           net.Listener
}

// Node runs a node's phone-facing services.
type Node struct {
	o    Options
	cm   func() (*tls.Certificate, error)
	tvsc func() (*tls.Certificate, error)
	reg  *Registrar
	tvs  *tvs.Server
	tftp *tftp.Server

	mu     sync.Mutex
	pc     net.PacketConn
	closed bool
}

// New prepares a node; Serve starts it.
func New(o Options) (*Node, error) {
	n := &Node{o: o}
	files := &Files{Dir: o.FileLocation, ConfigDir: o.ConfigDir, Config: o.Config, ITL: n.ITL}
	if src := o.Source; src != nil {
		n.cm, n.tvsc = src.CallManager, src.TVS
		files.Dir, files.ITL = "", func() ([]byte, error) { return src.File(ITLFileName) }
		files.CTL = func() ([]byte, error) { return src.File(CTLFileName) }
	} else {
		cm := &certFiles{certPath: o.Certificate, keyPath: o.Key}
		tv := &certFiles{certPath: o.TVSCertificate, keyPath: o.TVSKey}
		n.cm, n.tvsc = cm.get, tv.get
	}
	if _, err := n.cm(); err != nil {
		return nil, fmt.Errorf("CallManager certificate: %w", err)
	}
	tc, err := n.tvsc()
	if err != nil {
		return nil, fmt.Errorf("TVS certificate: %w", err)
	}
	n.reg = &Registrar{Node: o.Name, Cert: n.cm, RequireTLS: o.RequireTLS, Log: n.logf}
	n.tvs = &tvs.Server{Cert: *tc, Lookup: n.lookup, Log: n.logf}
	n.tftp = tftp.NewServer(func(name string, rf io.ReaderFrom) error {
		if o.TFTPStopped != nil && o.TFTPStopped() {
			n.logf("TFTP %s: refused, Cisco Tftp is stopped", name)
			return errTFTPStopped
		}
		err := files.Read(name, rf)
		n.logf("TFTP %s: %s", name, resultText(err))
		return err
	}, nil)
	n.tftp.SetTimeout(2 * time.Second)
	return n, nil
}

func resultText(err error) string {
	if err == nil {
		return "sent"
	}
	return err.Error()
}

func (n *Node) logf(format string, a ...any) {
	if n.o.Log != nil {
		n.o.Log.Printf(format, a...)
	}
}

// Registrar returns the node's registrar, to see who registered.
func (n *Node) Registrar() *Registrar { return n.reg }

// ITL builds the ITL this node serves from the current certificate files.
func (n *Node) ITL() ([]byte, error) {
	if n.o.Source != nil {
		return n.o.Source.File(ITLFileName)
	}
	cm, err := n.cm()
	if err != nil {
		return nil, err
	}
	tvsCerts, err := readCerts(n.o.ClusterTVS)
	if err != nil {
		return nil, err
	}
	host, ip := n.o.Host, n.o.IP
	if n.o.Self != nil {
		host, ip = n.o.Self()
	}
	o := ITLOptions{Signer: cm.Leaf, SignerKey: cm.PrivateKey.(*rsa.PrivateKey), Host: host, IP: ip, TVS: tvsCerts}
	if n.o.CAPFCertificate != "" {
		c, err := readCerts([]string{n.o.CAPFCertificate})
		if err != nil {
			return nil, err
		}
		o.CAPF, o.CAPFHost, o.CAPFIP = c[0], host, ip
	}
	return BuildITL(o)
}

// lookup is TVS's trust (P30): Phone-SAST-trust as SAST, the cluster's CallManager
// certificates as CCM+TFTP. A file that cannot be read counts as not trusting.
func (n *Node) lookup(der []byte) ([]ctl.Role, bool) {
	sast, ccm := n.trustStore()
	var roles []ctl.Role
	for _, set := range []struct {
		certs []*x509.Certificate
		role  ctl.Role
	}{{sast, ctl.RoleSAST}, {ccm, ctl.RoleCCMTFTP}} {
		for _, c := range set.certs {
			if bytes.Equal(c.Raw, der) {
				roles = append(roles, set.role)
				break
			}
		}
	}
	return roles, len(roles) > 0
}

// trustStore is TVS's certificates: the Source's, else Phone-SAST-trust and the cluster's
// CallManager certificates from their files (one that cannot be read is left out).
func (n *Node) trustStore() (sast, ccm []*x509.Certificate) {
	if n.o.Source != nil && n.o.Source.Trust != nil {
		return n.o.Source.Trust()
	}
	if certs, err := readCerts(n.o.PhoneSASTTrust); err == nil {
		sast = certs
	}
	for _, p := range n.o.ClusterCallManagers {
		if certs, err := readCerts([]string{p}); err == nil {
			ccm = append(ccm, certs[0])
		}
	}
	return sast, ccm
}

// Serve serves every listener given (nil ones are skipped) until Close or the first failure.
func (n *Node) Serve(l Listeners) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.pc = l.TFTP
	n.mu.Unlock()
	errc := make(chan error, 6)
	count := 0
	run := func(f func() error) { count++; go func() { errc <- f() }() }
	if l.TFTP != nil {
		run(func() error { return n.tftp.Serve(l.TFTP) })
	}
	for _, p := range []struct {
		ln     net.Listener
		secure bool
	}{{l.SCCP, false}, {l.SCCPTLS, true}, {l.SIP, false}, {l.SIPTLS, true}} {
		if p.ln == nil {
			continue
		}
		ln, secure := p.ln, p.secure
		if secure {
			run(func() error { return n.reg.ServeTLS(ln) })
		} else {
			run(func() error { return n.reg.ServePlain(ln) })
		}
	}
	if l.TVS != nil {
		run(func() error { return n.tvs.Serve(l.TVS) })
	}
	var first error
	for i := 0; i < count; i++ {
		err := <-errc
		if i == 0 {
			first = err
			n.Close()
		}
	}
	if errors.Is(first, net.ErrClosed) {
		return nil
	}
	return first
}

// Close stops everything.
func (n *Node) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	pc := n.pc
	n.mu.Unlock()
	n.tftp.Shutdown()
	if pc != nil {
		pc.Close()
	}
	n.reg.Close()
	n.tvs.Close()
}

// EnsureTVSCert writes a self-signed TVS certificate and key for host unless both exist. CUCM
// gives TVS its own certificate (TVS.pem), apart from CallManager.pem; the lab does the same,
// so that a CallManager regeneration leaves TVS trusted (P27) as on a real cluster.
func EnsureTVSCert(certPath, keyPath, host string) error {
	_, e1 := os.Stat(certPath)
	_, e2 := os.Stat(keyPath)
	if e1 == nil && e2 == nil {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host + "-TVS", OrganizationalUnit: []string{"ctlops lab"}, Organization: []string{"ctlops"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

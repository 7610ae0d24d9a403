package phone

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/lab/cnf"
	"github.com/ctlops/ctlops/lab/phonetest"
)

// lab is one node (cm1) serving phones on loopback: TFTP, SCCP and SIP on plain and TLS
// ports, TVS; and the identities of a cluster: two SAST tokens, a rogue key, cm1's CallManager
// certificate, another node's (cm2), and cm1's TVS certificate.
type lab struct {
	t                                *testing.T
	dir                              string
	alice, bob, rogue, cm1, cm2, tvs phonetest.Identity
	node                             *callmanager.Node
	tftp                             string
	sccp, sip, sipTLS, tvsPort       int
	trustFile                        string
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sccpPair listens on a port p and p+443, as SCCP's secure port is the plain one + 443 (P40).
func sccpPair(t *testing.T) (net.Listener, net.Listener) {
	for i := 0; i < 100; i++ {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		if p+443 > 65535 {
			a.Close()
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+443))
		if err != nil {
			a.Close()
			continue
		}
		return a, b
	}
	t.Fatal("no free port pair p, p+443")
	return nil, nil
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

func newLab(t *testing.T) *lab {
	l := &lab{t: t, dir: t.TempDir(),
		alice: phonetest.New(t, "alice", 1024), bob: phonetest.New(t, "bob", 1024),
		rogue: phonetest.New(t, "rogue", 1024), cm1: phonetest.New(t, "cm1", 1024),
		cm2: phonetest.New(t, "cm2", 1024), tvs: phonetest.New(t, "cm1-TVS", 1024)}
	for _, d := range []string{"tftp", "cnf"} {
		if err := os.MkdirAll(filepath.Join(l.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(l.dir, n) }
	writePEM(t, p("cm1.pem"), "CERTIFICATE", l.cm1.Cert.Raw)
	writePEM(t, p("cm1.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(l.cm1.Key))
	writePEM(t, p("tvs.pem"), "CERTIFICATE", l.tvs.Cert.Raw)
	writePEM(t, p("tvs.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(l.tvs.Key))
	l.trustFile = p("phone-sast-trust.pem")
	n, err := callmanager.New(callmanager.Options{Name: "cm1", Host: "cm1", IP: netip.MustParseAddr("192.0.2.11"),
		Certificate: p("cm1.pem"), Key: p("cm1.key"), TVSCertificate: p("tvs.pem"), TVSKey: p("tvs.key"),
		FileLocation: p("tftp"), ConfigDir: p("cnf"), ClusterTVS: []string{p("tvs.pem")},
		ClusterCallManagers: []string{p("cm1.pem")}, PhoneSASTTrust: []string{l.trustFile}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sccp, sccpTLS := sccpPair(t)
	sip, sipTLS, tvsLn := listen(t), listen(t), listen(t)
	l.node, l.tftp = n, pc.LocalAddr().String()
	l.sccp, l.sip, l.sipTLS, l.tvsPort = port(sccp), port(sip), port(sipTLS), port(tvsLn)
	done := make(chan error, 1)
	go func() {
		done <- n.Serve(callmanager.Listeners{TFTP: pc, SCCP: sccp, SCCPTLS: sccpTLS, SIP: sip, SIPTLS: sipTLS, TVS: tvsLn})
	}()
	t.Cleanup(func() {
		n.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("node did not stop")
		}
	})
	return l
}

// serveCTL writes the file the node's TFTP serves as CTLFile.tlv and returns its SHA-256.
func (l *lab) serveCTL(b []byte) string {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.dir, "tftp", "CTLFile.tlv"), b, 0o644); err != nil {
		l.t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mixedCTL is a mixed-mode CTL: SAST alice and bob, cm1 as CCM+TFTP, signed by signer.
func (l *lab) mixedCTL(signer phonetest.Identity, h ctl.HashAlgorithm, sasts ...phonetest.Identity) []byte {
	var recs []phonetest.Rec
	for _, s := range sasts {
		recs = append(recs, phonetest.Rec{ID: s, Role: ctl.RoleSAST})
	}
	recs = append(recs, phonetest.Rec{ID: l.cm1, Role: ctl.RoleCCMTFTP, Host: "cm1", IP: "192.0.2.11"})
	_, b := phonetest.File(l.t, "CTLFile.tlv", signer, h, recs...)
	return b
}

// device writes the phone's SEP<MAC>.cnf.xml.
func (l *lab) device(mac, proto string, mode int) {
	l.t.Helper()
	d := &cnf.Device{Protocol: proto, SecurityMode: mode,
		CallManagers: []cnf.CallManager{{Name: "cm1", Address: "127.0.0.1", EthernetPhonePort: l.sccp, SIPPort: l.sip, SecuredSIPPort: l.sipTLS}},
		TVS:          []cnf.TVS{{Address: "127.0.0.1", Port: l.tvsPort}}}
	b, err := d.Marshal()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, "cnf", "SEP"+mac+".cnf.xml"), b, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// trustForTVS uploads certificates to Phone-SAST-trust: TVS vouches for them as SAST.
func (l *lab) trustForTVS(ids ...phonetest.Identity) {
	var b []byte
	for _, id := range ids {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw})...)
	}
	if err := os.WriteFile(l.trustFile, b, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

var macs = 0

// phone makes a phone of model on this lab, with its configuration file in place.
func (l *lab) phone(model, proto string, mode int) *Phone {
	l.t.Helper()
	macs++
	mac := fmt.Sprintf("00AABB%06X", 0xCC0000+macs)
	l.device(mac, proto, mode)
	p, err := New(Config{Name: "p" + strconv.Itoa(macs), MAC: mac, Model: model, Cluster: "hq", Protocol: proto,
		TFTP:     []TFTPServer{{Host: "cm1", IP: "192.0.2.11", Addr: l.tftp}},
		FlashDir: filepath.Join(l.dir, "flash-"+mac), PacketTimeout: 300 * time.Millisecond})
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(p.Close)
	return p
}

func boot(t *testing.T, p *Phone) State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Boot(ctx)
}

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

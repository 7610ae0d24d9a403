package callmanager

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

// upstreamTFTP is a TFTP service that serves files only under their own names, as the
// platform CLI simulator's (lab/cucmsim) does; what it serves can change between requests.
func upstreamTFTP(t *testing.T, files map[string][]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := tftp.NewServer(func(name string, rf io.ReaderFrom) error {
		b, ok := files[name]
		if !ok {
			return errNotFound
		}
		_, err := rf.ReadFrom(bytes.NewReader(b))
		return err
	}, nil)
	srv.SetTimeout(time.Second)
	go srv.Serve(pc.(*net.UDPConn))
	t.Cleanup(func() { srv.Shutdown(); pc.Close() })
	return pc.LocalAddr().String()
}

// TestSourceNode: a node whose files and keys another program keeps (metro's phone side)
// answers the per-MAC names with what the upstream TFTP service serves now (P3), relays its
// "File not found" (P4), presents the Source's CallManager certificate and vouches, through
// TVS, with the Source's certificate store.
func TestSourceNode(t *testing.T) {
	cm, tv, sast := phonetest.New(t, "mpub", 1024), phonetest.New(t, "mpub-TVS", 1024), phonetest.New(t, "ITLRECOVERY_mpub", 1024)
	files := map[string][]byte{ITLFileName: []byte("the itl")}
	up := upstreamTFTP(t, files)
	cmTLS, tvTLS := cm.TLS(), tv.TLS()
	n, err := New(Options{Name: "mpub", Config: func(string) ([]byte, error) { return []byte("<device/>"), nil }, Source: &Source{
		CallManager: func() (*tls.Certificate, error) { return &cmTLS, nil },
		TVS:         func() (*tls.Certificate, error) { return &tvTLS, nil },
		File:        Upstream(up),
		Trust: func() ([]*x509.Certificate, []*x509.Certificate) {
			return []*x509.Certificate{sast.Cert}, []*x509.Certificate{cm.Cert}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go n.Serve(Listeners{TFTP: pc})
	t.Cleanup(n.Close)
	fetch := Upstream(pc.LocalAddr().String()) // a TFTP client, to the node's own server
	get := func(name string) string {
		b, err := fetch(name)
		if err != nil {
			if errors.Is(err, errNotFound) {
				return "File not found"
			}
			return "error: " + err.Error()
		}
		return string(b)
	}
	// Non-secure: the upstream has no CTL, and the per-MAC name says so.
	if got := get("CTLSEP00C0FFEE0001.tlv"); got != "File not found" {
		t.Errorf("no CTL upstream: CTLSEP… = %q", got)
	}
	files[CTLFileName] = []byte("the ctl")
	for name, want := range map[string]string{
		"CTLSEP00C0FFEE0001.tlv": "the ctl", "CTLFile.tlv": "the ctl", "ITLSEP00C0FFEE0001.tlv": "the itl",
		"ITLFile.tlv": "the itl", "SEP00C0FFEE0001.cnf.xml": "<device/>", "other.txt": "File not found",
	} {
		if got := get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if c, err := n.reg.Cert(); err != nil || !c.Leaf.Equal(cm.Cert) {
		t.Errorf("registration certificate: %v, %v", c, err)
	}
	if roles, ok := n.lookup(sast.Cert.Raw); !ok || len(roles) != 1 || roles[0] != ctl.RoleSAST {
		t.Errorf("TVS on the ITLRecovery certificate: %v %v", roles, ok)
	}
	if roles, ok := n.lookup(cm.Cert.Raw); !ok || len(roles) != 1 || roles[0] != ctl.RoleCCMTFTP {
		t.Errorf("TVS on the CallManager certificate: %v %v", roles, ok)
	}
	if _, ok := n.lookup(tv.Cert.Raw); ok {
		t.Error("TVS vouched for a certificate its store does not hold")
	}
}

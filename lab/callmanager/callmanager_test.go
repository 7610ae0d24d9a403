package callmanager

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

type sink struct{ bytes.Buffer }

func (s *sink) ReadFrom(r io.Reader) (int64, error) { return s.Buffer.ReadFrom(r) }

func TestFilesNames(t *testing.T) {
	dir := t.TempDir()
	cnfDir := t.TempDir()
	os.WriteFile(filepath.Join(dir, CTLFileName), []byte("the ctl"), 0o644)
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte("other"), 0o644)
	os.WriteFile(filepath.Join(cnfDir, "SEP00AABBCCDDEE.cnf.xml"), []byte("<device/>"), 0o644)
	f := &Files{Dir: dir, ConfigDir: cnfDir, ITL: func() ([]byte, error) { return []byte("the itl"), nil }}
	cases := []struct{ name, want string }{
		{"CTLSEP00AABBCCDDEE.tlv", "the ctl"},
		{"ctlsep00aabbccddee.tlv", "the ctl"},
		{"CTLFile.tlv", "the ctl"},
		{"ITLSEP00AABBCCDDEE.tlv", "the itl"},
		{"ITLFile.tlv", "the itl"},
		{"SEP00aabbccddee.cnf.xml", "<device/>"},
		{"SEP00AABBCCDDEE.cnf.xml.sgn", "error"},
		{"SEP00AABBCCDDEE.cnf.xml.enc.sgn", "error"},
		{"SEP001122334455.cnf.xml", "error"},
		{"other.txt", "other"},
		{"../etc/passwd", "error"},
		{".hidden", "error"},
		{"CTLSEP00AABBCCDD.tlv", "error"}, // 10 digits: not a MAC
	}
	for _, c := range cases {
		var s sink
		err := f.Read(c.name, &s)
		got := s.String()
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestBuildITL(t *testing.T) {
	cm := phonetest.New(t, "cm1", 1024)
	tvs := phonetest.New(t, "cm1-TVS", 1024)
	o := ITLOptions{Signer: cm.Cert, SignerKey: cm.Key, Host: "cm1", IP: netip.MustParseAddr("192.0.2.11"), TVS: []*x509.Certificate{tvs.Cert}}
	a, err := BuildITL(o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BuildITL(o)
	if !bytes.Equal(a, b) {
		t.Fatal("the same inputs must give the same ITL bytes (phones would see a change on every boot)")
	}
	f, err := ctl.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	roles := map[ctl.Role]int{}
	for _, r := range f.Records {
		roles[r.Role]++
	}
	if roles[ctl.RoleSAST] != 1 || roles[ctl.RoleCCMTFTP] != 1 || roles[ctl.RoleTVS] != 1 || f.Header.FileName != ITLFileName {
		t.Fatalf("records %v, file name %q", roles, f.Header.FileName)
	}
}

func TestRegistrarSecurityMismatch(t *testing.T) {
	r := &Registrar{Node: "cm1", RequireTLS: func(dev string) bool { return strings.HasPrefix(dev, "CP-8861") }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServePlain(ln)
	t.Cleanup(r.Close)
	for _, c := range []struct{ dev, want string }{
		{"CP-8861-SEP00AABBCCDDEE", "REJECTED Device security mismatch: expected TLS"},
		{"CP-7960G-SEP00AABBCCDDEF", "REGISTERED cm1 non-secure"},
		{"", "REJECTED bad request"},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "REGISTER %s SIP\n", c.dev)
		line, err := ReadLine(bufio.NewReader(conn))
		conn.Close()
		if err != nil || line != c.want {
			t.Errorf("%q: got %q %v, want %q", c.dev, line, err, c.want)
		}
	}
}

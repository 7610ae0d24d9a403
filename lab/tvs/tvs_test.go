package tvs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

func TestVerifyOverTLS(t *testing.T) {
	tvsID := phonetest.New(t, "tvs1", 1024)
	known := phonetest.New(t, "known", 1024)
	unknown := phonetest.New(t, "unknown", 1024)
	s := &Server{Cert: tvsID.TLS(), Lookup: func(der []byte) ([]ctl.Role, bool) {
		if bytes.Equal(der, known.Cert.Raw) {
			return []ctl.Role{ctl.RoleSAST}, true
		}
		return nil, false
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Close)
	trust := func(der []byte) error {
		if !bytes.Equal(der, tvsID.Cert.Raw) {
			return errors.New("not the ITL's TVS")
		}
		return nil
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS12} {
		c := &Client{Addr: ln.Addr().String(), Device: "CP-7965G-SEP00AABBCCDDEE", TLSMax: v, TrustServer: trust}
		a, err := c.Verify(context.Background(), known.Cert.Raw)
		if err != nil || !a.Valid || len(a.Roles) != 1 || a.Roles[0] != ctl.RoleSAST || a.TTL.Seconds() != DefaultTTL {
			t.Fatalf("TLS %x known: %+v %v", v, a, err)
		}
		a, err = c.Verify(context.Background(), unknown.Cert.Raw)
		if err != nil || a.Valid {
			t.Fatalf("TLS %x unknown: %+v %v", v, a, err)
		}
	}
	// P27: a TVS whose certificate is not the ITL's TVS record is not believed.
	c := &Client{Addr: ln.Addr().String(), TLSMax: tls.VersionTLS12, TrustServer: func([]byte) error { return errors.New("not in the ITL") }}
	if _, err := c.Verify(context.Background(), known.Cert.Raw); err == nil || !strings.Contains(err.Error(), "not in the ITL") {
		t.Fatalf("untrusted TVS server: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	good, err := (&Message{Command: CmdVerify, Session: 7, Device: "CP-8861-SEP00AABBCCDDEE", Cert: []byte{1, 2, 3}, Status: -1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(good)
	if err != nil || m.Device != "CP-8861-SEP00AABBCCDDEE" || m.Session != 7 || !bytes.Equal(m.Cert, []byte{1, 2, 3}) {
		t.Fatalf("round trip: %+v %v", m, err)
	}
	cases := map[string][]byte{
		"short":        good[:5],
		"bad protocol": append([]byte{0x58}, good[1:]...),
		"length":       good[:len(good)-1],
		"overrun":      func() []byte { b := bytes.Clone(good); b[11] = 0xFF; return b }(),
	}
	for name, b := range cases {
		if _, err := Parse(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _ := (&Message{Command: CmdVerify, Session: 7, Device: "CP-8861-SEP00AABBCCDDEE", Cert: []byte{1, 2, 3}, Status: -1}).Marshal()
	rep, _ := (&Message{Command: CmdVerifyReply, Session: 7, Status: 0, Roles: []ctl.Role{0, 2}, TTL: 86400}).Marshal()
	f.Add(good)
	f.Add(rep)
	f.Add([]byte{0x57, 1, 3, 0, 0, 0, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			return
		}
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-marshalled message does not parse: %v", err)
		}
		if m2.Command != m.Command || m2.Session != m.Session || m2.Device != m.Device || !bytes.Equal(m2.Cert, m.Cert) {
			t.Fatalf("round trip changed the message")
		}
	})
}

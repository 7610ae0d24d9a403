package phone

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/phonerules"
)

func TestImprintAndSecureRegistration(t *testing.T) {
	l := newLab(t)
	served := l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	cases := []struct {
		model, proto, status string
		itl                  bool
	}{
		{"7960", "SCCP", phonerules.StatusCTLInstalled, false},
		{"7965", "SCCP", phonerules.StatusCTLAndITLInstalled, true},
		{"8861", "SIP", phonerules.StatusCTLAndITLInstalled, true},
		{"7965", "SIP", phonerules.StatusCTLAndITLInstalled, true},
	}
	for _, c := range cases {
		t.Run(c.model+"-"+c.proto, func(t *testing.T) {
			p := l.phone(c.model, c.proto, phonerules.ModeEncrypted)
			st := boot(t, p)
			if !st.Registered || !st.Secure || str(st.Node) != "cm1" || st.LastError != nil {
				t.Fatalf("want registered securely with cm1: %+v", st)
			}
			if str(st.CTLSHA256) != served {
				t.Fatalf("ctlSHA256 %s, served %s", str(st.CTLSHA256), served)
			}
			if st.Status != c.status || (st.ITLSHA256 != nil) != c.itl {
				t.Fatalf("status %q itl %v, want %q itl %v\n%s", st.Status, st.ITLSHA256 != nil, c.status, c.itl, strings.Join(st.Log, "\n"))
			}
			reg := l.node.Registrar().Registered()[p.Profile().Model+"-SEP"+st.MAC]
			if !reg.Secure || reg.Protocol != c.proto {
				t.Fatalf("the node sees %+v", reg)
			}
		})
	}
}

func TestTLSVersionByModel(t *testing.T) {
	l := newLab(t)
	l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	for _, c := range []struct {
		model string
		want  uint16
	}{{"7960", tls.VersionTLS10}, {"8861", tls.VersionTLS12}} {
		p := l.phone(c.model, "SIP", phonerules.ModeEncrypted)
		st := boot(t, p)
		if !st.Secure {
			t.Fatalf("%s: not secure: %+v", c.model, st)
		}
		reg := l.node.Registrar().Registered()[p.Profile().Model+"-SEP"+st.MAC]
		if reg.TLSVersion != c.want {
			t.Fatalf("%s registered with TLS %x, want %x (P41)", c.model, reg.TLSVersion, c.want)
		}
	}
}

func TestUpdateBySecondSAST(t *testing.T) {
	l := newLab(t)
	l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	p := l.phone("7960", "SCCP", phonerules.ModeEncrypted)
	first := boot(t, p)
	// bob was a SAST of the installed CTL: his new file, which drops alice, is taken whole
	// (P14, P18).
	served := l.serveCTL(l.mixedCTL(l.bob, ctl.SHA1, l.bob))
	st := boot(t, p)
	if st.Status != phonerules.StatusTLUpdated || st.AlarmName != "TL_SUCCESS" || str(st.CTLSHA256) != served || str(st.CTLSHA256) == str(first.CTLSHA256) {
		t.Fatalf("want the update installed: %+v", st)
	}
	// P18: alice is forgotten: her file is now refused.
	l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	if st := boot(t, p); st.Status != failed(p) || str(st.CTLSHA256) != served {
		t.Fatalf("alice was dropped from the CTL, her file must be refused: %+v", st)
	}
}

func TestRogueRefusedAndOldListKept(t *testing.T) {
	l := newLab(t)
	for _, c := range []struct{ model, proto string }{{"7960", "SCCP"}, {"7965", "SCCP"}, {"8861", "SIP"}} {
		t.Run(c.model, func(t *testing.T) {
			// The file this phone installs: signed now, so its timestamp (seconds) is this
			// subtest's, not the one of a file signed before (a flake across a second).
			good := l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
			p := l.phone(c.model, c.proto, phonerules.ModeEncrypted)
			boot(t, p)
			// A validly formed CTL whose signer (rogue) no installed CTL trusts and TVS does
			// not know.
			l.serveCTL(l.mixedCTL(l.rogue, ctl.SHA1, l.rogue, l.bob))
			st := boot(t, p)
			if st.Status != failed(p) || str(st.CTLSHA256) != good || st.LastError == nil {
				t.Fatalf("want refused, old CTL kept: %+v\n%s", st, strings.Join(st.Log, "\n"))
			}
			if st.AlarmName != "TL_FAILED_OLD_CTL" {
				t.Fatalf("alarm %s", st.AlarmName)
			}
			// The old CTL still anchors TLS: the phone registers securely with cm1.
			if !st.Registered || !st.Secure {
				t.Fatalf("want still registered securely with the old CTL: %+v", st)
			}
			if p.Profile().SBD && !strings.Contains(strings.Join(st.Log, "\n"), "TVS") {
				t.Fatalf("an SBD phone must have asked TVS:\n%s", strings.Join(st.Log, "\n"))
			}
		})
	}
}

func TestSHA512(t *testing.T) {
	l := newLab(t)
	good := l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	old, new := l.phone("7960", "SCCP", phonerules.ModeEncrypted), l.phone("8861", "SIP", phonerules.ModeEncrypted)
	boot(t, old)
	boot(t, new)
	sha512 := l.serveCTL(l.mixedCTL(l.bob, ctl.SHA512, l.alice, l.bob))
	if st := boot(t, old); st.Status != failed(old) || str(st.CTLSHA256) != good || !strings.Contains(str(st.LastError), "P32") {
		t.Fatalf("a 79xx must refuse SHA-512 (P32): %+v", st)
	}
	if st := boot(t, new); st.Status != phonerules.StatusTLUpdated || str(st.CTLSHA256) != sha512 {
		t.Fatalf("an 88xx takes SHA-512: %+v", st)
	}
}

func TestSignerChangeTVSAndErase(t *testing.T) {
	l := newLab(t)
	l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	old, sbd := l.phone("7960", "SCCP", phonerules.ModeEncrypted), l.phone("7965", "SCCP", phonerules.ModeEncrypted)
	boot(t, old)
	boot(t, sbd)
	// The signer changes to a certificate uploaded to Phone-SAST-trust (P30).
	l.trustForTVS(l.rogue)
	served := l.serveCTL(l.mixedCTL(l.rogue, ctl.SHA1, l.rogue, l.bob))
	st := boot(t, sbd)
	if st.Status != phonerules.StatusTLUpdated || str(st.CTLSHA256) != served {
		t.Fatalf("an SBD phone takes the CTL through TVS (P15): %+v\n%s", st, strings.Join(st.Log, "\n"))
	}
	st = boot(t, old)
	if st.Status != failed(old) || !strings.Contains(str(st.LastError), "erased by hand") {
		t.Fatalf("a 7960 needs a manual erase (P17): %+v", st)
	}
	if err := old.Erase(); err != nil {
		t.Fatal(err)
	}
	if st := old.State(); st.Status != phonerules.StatusErasing || st.CTLSHA256 != nil {
		t.Fatalf("after erase (P49): %+v", st)
	}
	if st := boot(t, old); st.Status != phonerules.StatusCTLInstalled || str(st.CTLSHA256) != served || !st.Secure {
		t.Fatalf("after the erase the new CTL is imprinted: %+v", st)
	}
}

func TestTFTPServerNotInCTL(t *testing.T) {
	l := newLab(t)
	good := l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	p := l.phone("8861", "SIP", phonerules.ModeEncrypted)
	boot(t, p)
	// Same flash, but DHCP now hands out a TFTP server the installed CTL does not name (P8).
	cfg := p.cfg
	cfg.TFTP = []TFTPServer{{Host: "tftp9", IP: "192.0.2.99", Addr: l.tftp}}
	p2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p2.Close)
	l.serveCTL(l.mixedCTL(l.bob, ctl.SHA1, l.alice, l.bob))
	st := boot(t, p2)
	if !strings.Contains(str(st.LastError), "TFTP authorization failure") || str(st.CTLSHA256) != good || st.Status != phonerules.StatusTLUpdateFailed {
		t.Fatalf("want a TFTP authorization failure and the old CTL: %+v", st)
	}
}

func TestOversizeRefused(t *testing.T) {
	l := newLab(t)
	good := l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	p := l.phone("8861", "SIP", phonerules.ModeEncrypted)
	boot(t, p)
	big := make([]byte, ctl.MaxFileSize+1)
	copy(big, l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	l.serveCTL(big)
	st := boot(t, p)
	if !strings.Contains(str(st.LastError), "P9") || str(st.CTLSHA256) != good {
		t.Fatalf("want the oversize file refused (P9): %+v", st)
	}
	// Positive control: exactly the limit is not refused for its size.
	if err := os.WriteFile(filepath.Join(l.dir, "tftp", "CTLFile.tlv"), big[:ctl.MaxFileSize], 0o644); err != nil {
		t.Fatal(err)
	}
	if st := boot(t, p); strings.Contains(str(st.LastError), "P9") {
		t.Fatalf("a file of exactly %d bytes was refused for its size: %+v", ctl.MaxFileSize, st)
	}
}

func TestCallManagerNotInCTL(t *testing.T) {
	l := newLab(t)
	// The CTL names cm2's certificate for CallManager; cm1 presents its own (P42).
	_, b := phonetestFile(t, l, l.cm2)
	l.serveCTL(b)
	p := l.phone("8861", "SIP", phonerules.ModeEncrypted)
	st := boot(t, p)
	if st.Registered || !strings.Contains(str(st.LastError), "P42") {
		t.Fatalf("want the registration refused (P42): %+v\n%s", st, strings.Join(st.Log, "\n"))
	}
}

func TestNonSecure(t *testing.T) {
	l := newLab(t)
	l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	// Mode 1: plain TCP although the CTL is mixed (P38).
	p := l.phone("7965", "SCCP", phonerules.ModeNonSecure)
	if st := boot(t, p); !st.Registered || st.Secure {
		t.Fatalf("want a non-secure registration: %+v", st)
	}
	// A non-secure CTL (no CallManager certificate, P19) with mode 3: plain TCP too.
	l2 := newLab(t)
	_, b := phonetestNonSecure(t, l2)
	l2.serveCTL(b)
	q := l2.phone("8861", "SIP", phonerules.ModeEncrypted)
	if st := boot(t, q); !st.Registered || st.Secure {
		t.Fatalf("want a non-secure registration with a non-secure CTL: %+v", st)
	}
	// No CTL at all on the server and mode 3: the phone does not register (P39, [?]).
	l3 := newLab(t)
	r := l3.phone("8861", "SIP", phonerules.ModeEncrypted)
	if st := boot(t, r); st.Registered || st.CTLSHA256 != nil || !strings.Contains(str(st.LastError), "P39") {
		t.Fatalf("want no registration without a CTL in secure mode: %+v", st)
	}
	s := l3.phone("8861", "SIP", phonerules.ModeNonSecure)
	if st := boot(t, s); !st.Registered || st.Secure {
		t.Fatalf("want a non-secure registration without a CTL in non-secure mode: %+v", st)
	}
}

// failed is the refusal message a model shows (P46): "CTL update failed" on phones that hold no
// ITL, "Trust List update failed" on the others.
func failed(p *Phone) string {
	if p.Profile().RequestsITL {
		return phonerules.StatusTLUpdateFailed
	}
	return phonerules.StatusCTLUpdateFailed
}

func TestTLSConstants(t *testing.T) {
	if phonerules.TLS10 != tls.VersionTLS10 || phonerules.TLS12 != tls.VersionTLS12 {
		t.Fatal("phonerules' TLS version constants differ from crypto/tls's")
	}
}

// TestDHCPRenewedAtBoot: option 150 is asked again at every boot (P1), so the next boot goes
// where DHCP now points; an unusable answer keeps the last list.
func TestDHCPRenewedAtBoot(t *testing.T) {
	l := newLab(t)
	l.serveCTL(l.mixedCTL(l.alice, ctl.SHA1, l.alice, l.bob))
	p := l.phone("8861", "SIP", phonerules.ModeEncrypted)
	if st := boot(t, p); !st.Secure {
		t.Fatalf("first boot: %+v", st)
	}
	answer := []TFTPServer{{Host: "tftp9", IP: "192.0.2.99", Addr: l.tftp}}
	var dhcpErr error
	p.cfg.DHCP = func() ([]TFTPServer, error) { return answer, dhcpErr }
	// A server the installed CTL does not name: P8 refuses it, proving the new list is used.
	if st := boot(t, p); !strings.Contains(str(st.LastError), "TFTP authorization failure") || !strings.Contains(strings.Join(st.Log, "\n"), "DHCP: option 150 = tftp9 (192.0.2.99)") {
		t.Fatalf("renewed list not used: %+v", st)
	}
	// Back to cm1 (positive control: the same phone boots cleanly again).
	answer = []TFTPServer{{Host: "cm1", IP: "192.0.2.11", Addr: l.tftp}}
	if st := boot(t, p); st.LastError != nil || !st.Secure {
		t.Fatalf("back on cm1: %+v", st)
	}
	// An error or a bad address keeps the list (cm1).
	for _, bad := range []struct {
		list []TFTPServer
		err  error
	}{{nil, errors.New("no lease")}, {[]TFTPServer{{IP: "not-an-ip", Addr: l.tftp}}, nil}, {nil, nil}} {
		answer, dhcpErr = bad.list, bad.err
		if st := boot(t, p); st.LastError != nil || !st.Secure {
			t.Fatalf("DHCP answer %+v: the last list must stay: %+v", bad, st)
		}
	}
}

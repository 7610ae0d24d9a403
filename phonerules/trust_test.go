package phonerules

import (
	"net/netip"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

func TestTFTPAuthorized(t *testing.T) {
	w := newWorld(t)
	installed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, append(w.ctlRecs(w.alice, w.bob),
		phonetest.Rec{ID: w.cm2, Role: ctl.RoleCCM, Host: "cm2", IP: "192.0.2.12"})...)
	ip := netip.MustParseAddr
	cases := []struct {
		name      string
		installed *ctl.File
		s         Server
		ok        bool
	}{
		{"no CTL: any server", nil, Server{IP: ip("198.51.100.1")}, true},
		{"CCM+TFTP record by IP", installed, Server{IP: ip("192.0.2.11")}, true},
		{"TFTP record by IP", installed, Server{IP: ip("192.0.2.13"), Host: "whatever"}, true},
		{"CCM-only record does not authorise TFTP", installed, Server{IP: ip("192.0.2.12"), Host: "cm2"}, false},
		{"unknown address", installed, Server{IP: ip("192.0.2.99"), Host: "cm1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := TFTPAuthorized(c.installed, c.s)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestRegistrationTrust(t *testing.T) {
	w := newWorld(t)
	mixed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	nonSecure, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1,
		phonetest.Rec{ID: w.alice, Role: ctl.RoleSAST}, phonetest.Rec{ID: w.bob, Role: ctl.RoleSAST})
	if !MixedMode(mixed) || MixedMode(nonSecure) || MixedMode(nil) {
		t.Fatal("MixedMode: want true for a CTL with a CCM+TFTP certificate only")
	}
	for _, c := range []struct {
		mode int
		f    *ctl.File
		want bool
	}{{ModeEncrypted, mixed, true}, {ModeAuthenticated, mixed, true}, {ModeNonSecure, mixed, false},
		{ModeEncrypted, nonSecure, false}, {ModeEncrypted, nil, false}} {
		if got := SecureRegistration(c.mode, c.f); got != c.want {
			t.Errorf("SecureRegistration(%d, mixed=%v) = %v", c.mode, MixedMode(c.f), got)
		}
	}
	if err := CallManagerTrusted(mixed, w.cm1.Cert.Raw); err != nil {
		t.Errorf("cm1 is a CCM+TFTP record: %v", err)
	}
	for _, bad := range []phonetest.Identity{w.cm2, w.tftp, w.alice} {
		if err := CallManagerTrusted(mixed, bad.Cert.Raw); err == nil {
			t.Errorf("%s must not be trusted for CallManager TLS", bad.Name)
		}
	}
}

func TestConfigFileName(t *testing.T) {
	w := newWorld(t)
	mixed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	nonSecure, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, phonetest.Rec{ID: w.alice, Role: ctl.RoleSAST})
	for _, c := range []struct {
		ctl, itl *ctl.File
		want     string
	}{
		{nil, nil, "SEP00AABBCCDDEE.cnf.xml"},
		{mixed, nil, "SEP00AABBCCDDEE.cnf.xml.sgn"},
		{nonSecure, nil, "SEP00AABBCCDDEE.cnf.xml"},
		{nonSecure, mixed, "SEP00AABBCCDDEE.cnf.xml.sgn"},
	} {
		if got := ConfigFileName("00aabbccddee", c.ctl, c.itl); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	cases := []struct {
		c, i           Step
		hadCTL, hadITL bool
		status         string
		alarm          Alarm
	}{
		{Imprinted, Imprinted, false, false, StatusCTLAndITLInstalled, TLInitialSuccess},
		{Imprinted, Absent, false, false, StatusCTLInstalled, CTLInitialSuccess},
		{Absent, Imprinted, false, false, StatusITLInstalled, ITLInitialSuccess},
		{Updated, Unchanged, true, true, StatusTLUpdated, TLSuccess},
		{Refused, Unchanged, true, true, StatusTLUpdateFailed, TLFailedOldCTL},
		{Refused, Unchanged, true, false, StatusCTLUpdateFailed, TLFailedOldCTL},
		{Unchanged, Refused, true, true, StatusTLUpdateFailed, TLFailedOldITL},
		{Refused, Refused, true, true, StatusTLUpdateFailed, TLFailedOldTL},
		{Refused, Refused, false, false, StatusTLUpdateFailed, TLFailedNoTL},
		{Absent, Absent, false, false, StatusCTLNotFound, AlarmNone},
		{Unchanged, Unchanged, true, true, "", AlarmNone},
	}
	for _, c := range cases {
		s, a := Summarize(c.c, c.i, c.hadCTL, c.hadITL)
		if s != c.status || a != c.alarm {
			t.Errorf("Summarize(%v,%v,%v,%v) = %q %v, want %q %v", c.c, c.i, c.hadCTL, c.hadITL, s, a, c.status, c.alarm)
		}
	}
	if TLFailedOldCTL.String() != "TL_FAILED_OLD_CTL" || Alarm(42).String() != "UNKNOWN" {
		t.Error("alarm names")
	}
}

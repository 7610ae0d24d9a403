package phonerules

import (
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

type world struct {
	alice, bob, rogue, cm1, cm2, tftp, tvs phonetest.Identity
}

func newWorld(t *testing.T) world {
	return world{
		alice: phonetest.New(t, "alice", 1024), bob: phonetest.New(t, "bob", 1024),
		rogue: phonetest.New(t, "rogue", 1024), cm1: phonetest.New(t, "cm1", 1024),
		cm2: phonetest.New(t, "cm2", 1024), tftp: phonetest.New(t, "tftp1", 1024),
		tvs: phonetest.New(t, "tvs1", 1024),
	}
}

func (w world) ctlRecs(sasts ...phonetest.Identity) []phonetest.Rec {
	var r []phonetest.Rec
	for _, s := range sasts {
		r = append(r, phonetest.Rec{ID: s, Role: ctl.RoleSAST})
	}
	return append(r,
		phonetest.Rec{ID: w.cm1, Role: ctl.RoleCCMTFTP, Host: "cm1", IP: "192.0.2.11"},
		phonetest.Rec{ID: w.tftp, Role: ctl.RoleTFTP, Host: "tftp1", IP: "192.0.2.13"})
}

func TestCTLDecision(t *testing.T) {
	w := newWorld(t)
	installed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	byBob, _ := phonetest.File(t, "CTLFile.tlv", w.bob, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	byRogue, _ := phonetest.File(t, "CTLFile.tlv", w.rogue, ctl.SHA1, w.ctlRecs(w.rogue, w.bob)...)
	sha512, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA512, w.ctlRecs(w.alice, w.bob)...)
	tampered, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	tampered.Records[2].DNSName = "evil" // after signing: the signature no longer covers it
	small := CP8861
	small.MaxRSABits = 512

	cases := []struct {
		name      string
		p         Profile
		installed *ctl.File
		next      *ctl.File
		want      Outcome
		rule      string
		erase     bool
	}{
		{"imprint on a new phone", CP7960, nil, installed, Imprint, "P13", false},
		{"update by the second SAST", CP7960, installed, byBob, Accept, "P14", false},
		{"rogue signer on a 79xx without SBD", CP7960, installed, byRogue, Reject, "P17", true},
		{"rogue signer on an SBD 79x5", CP7965, installed, byRogue, AskTVS, "P15", false},
		{"rogue signer on an 88xx", CP8861, installed, byRogue, AskTVS, "P15", false},
		{"SHA-512 on a 79xx", CP7960, installed, sha512, Reject, "P32", false},
		{"SHA-512 on a 79xx, even first", CP7965, nil, sha512, Reject, "P32", false},
		{"SHA-512 on an 88xx", CP8861, installed, sha512, Accept, "P14", false},
		{"tampered file", CP8861, installed, tampered, Reject, "P10", false},
		{"tampered first file", CP8861, nil, tampered, Reject, "P10", false},
		{"signer key above the model's limit", small, nil, installed, Reject, "P33", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := CTL(c.p, c.installed, c.next)
			if d.Outcome != c.want || d.Rule != c.rule || d.NeedsErase != c.erase {
				t.Fatalf("got %v %s erase=%v (%s), want %v %s erase=%v", d.Outcome, d.Rule, d.NeedsErase, d.Reason, c.want, c.rule, c.erase)
			}
			if d.Outcome == AskTVS && (len(d.TVSRoles) != 1 || d.TVSRoles[0] != ctl.RoleSAST) {
				t.Fatalf("CTL signer via TVS must need role SAST, got %v", d.TVSRoles)
			}
		})
	}
}

func TestAfterTVS(t *testing.T) {
	w := newWorld(t)
	installed, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	byRogue, _ := phonetest.File(t, "CTLFile.tlv", w.rogue, ctl.SHA1, w.ctlRecs(w.rogue, w.bob)...)
	ask := CTL(CP7965, installed, byRogue)
	if ask.Outcome != AskTVS {
		t.Fatalf("precondition: %v", ask)
	}
	cases := []struct {
		name  string
		valid bool
		cert  []byte
		roles []ctl.Role
		want  Outcome
	}{
		{"vouched as SAST", true, w.rogue.Cert.Raw, []ctl.Role{ctl.RoleSAST}, Accept},
		{"vouched as CCM+TFTP only", true, w.rogue.Cert.Raw, []ctl.Role{ctl.RoleCCMTFTP}, Reject},
		{"unknown to TVS", false, nil, nil, Reject},
		{"answer for another certificate", true, w.bob.Cert.Raw, []ctl.Role{ctl.RoleSAST}, Reject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if d := AfterTVS(ask, c.valid, c.cert, c.roles); d.Outcome != c.want {
				t.Fatalf("got %v (%s), want %v", d.Outcome, d.Reason, c.want)
			}
		})
	}
	if d := NoTVS(ask, "no TVS in the configuration"); d.Outcome != Reject || !strings.Contains(d.Reason, "no TVS") {
		t.Fatalf("NoTVS: %+v", d)
	}
}

func TestITLDecision(t *testing.T) {
	w := newWorld(t)
	installedCTL, _ := phonetest.File(t, "CTLFile.tlv", w.alice, ctl.SHA1, w.ctlRecs(w.alice, w.bob)...)
	itlRecs := func(signer phonetest.Identity) []phonetest.Rec {
		return []phonetest.Rec{{ID: signer, Role: ctl.RoleSAST}, {ID: signer, Role: ctl.RoleCCMTFTP, Host: signer.Name},
			{ID: w.tvs, Role: ctl.RoleTVS, Host: "cm1"}}
	}
	byCM1, _ := phonetest.File(t, "ITLFile.tlv", w.cm1, ctl.SHA1, itlRecs(w.cm1)...)
	byCM2, _ := phonetest.File(t, "ITLFile.tlv", w.cm2, ctl.SHA1, itlRecs(w.cm2)...)
	byTFTP, _ := phonetest.File(t, "ITLFile.tlv", w.tftp, ctl.SHA1, itlRecs(w.tftp)...)
	cases := []struct {
		name     string
		p        Profile
		ctl, itl *ctl.File
		next     *ctl.File
		want     Outcome
		rule     string
	}{
		{"first ITL, no CTL", CP8861, nil, nil, byCM1, Imprint, "P20"},
		{"ITL signed by the CTL's CCM+TFTP", CP8861, installedCTL, nil, byCM1, Accept, "P21"},
		{"ITL signed by a TFTP-only record", CP8861, installedCTL, nil, byTFTP, AskTVS, "P21"},
		{"ITL signer unknown to the CTL", CP7965, installedCTL, byCM1, byCM2, AskTVS, "P21"},
		{"only an ITL: same signer", CP8861, nil, byCM1, byCM1, Accept, "P22"},
		{"only an ITL: new signer", CP8861, nil, byCM1, byCM2, AskTVS, "P22"},
		{"a 7960 takes no ITL", CP7960, nil, nil, byCM1, Reject, "P0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := ITL(c.p, c.ctl, c.itl, c.next)
			if d.Outcome != c.want || d.Rule != c.rule {
				t.Fatalf("got %v %s (%s), want %v %s", d.Outcome, d.Rule, d.Reason, c.want, c.rule)
			}
		})
	}
}

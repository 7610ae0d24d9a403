package plan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// TestPhoneModels: the plan says which phone models would refuse a change, by P rule, and
// only for the models the cluster runs (spec phoneModels; none: every model).
func TestPhoneModels(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	cases := []struct {
		name    string
		tokens  []string
		models  []string
		hash    string
		refused []string // rules, in order
		warned  []string // phone-model kinds among the warnings
		signers int
	}{
		{name: "sha1, every model: nothing refuses (positive control)", tokens: []string{"alice", "bob"}, signers: 2},
		{name: "sha512 on every model: the 79xx refuse", tokens: []string{"alice", "bob"}, hash: "sha512", refused: []string{"P32", "P32"}},
		{name: "sha512 on 88xx only", tokens: []string{"alice", "bob"}, hash: "sha512", models: []string{"CP-8861"}, signers: 2},
		{name: "sha256: no model claims it", tokens: []string{"alice", "bob"}, hash: "sha256", models: []string{"CP-8861"}, refused: []string{"P32"}},
		{name: "signer change, every model", tokens: []string{"carol", "dave"}, refused: []string{"R19", "R19", "P17", "P15", "P15"}},
		{name: "signer change, SBD models only", tokens: []string{"carol", "dave"}, models: []string{"CP-7965G", "CP-8861"}, refused: []string{"R19", "R19", "P15", "P15"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := l.Spec(hq("mixed", c.tokens...))
			cfg.Clusters[0].PhoneModels = c.models
			if c.hash != "" {
				cfg.Clusters[0].SignWith = &spec.SignWith{Hash: c.hash}
			}
			cl := clusterOf(t, l.Plan(cfg), "hq")
			var rules []string
			for _, r := range cl.Refusals {
				rules = append(rules, r.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(c.refused, ",") || len(cl.Signers) != c.signers {
				t.Fatalf("refusals %v and %d signers, want %v and %d: %+v", rules, len(cl.Signers), c.refused, c.signers, cl.Refusals)
			}
			for _, r := range cl.Refusals {
				if r.Rule[0] == 'P' && (r.Have == "" || !strings.Contains(r.Message(), r.Have)) {
					t.Errorf("a phone refusal must name its model: %q", r.Message())
				}
			}
		})
	}
}

// TestPhoneModelsGolden shows the phone-model refusals in every view.
func TestPhoneModelsGolden(t *testing.T) {
	l := installed(t, 2, hq("mixed", "alice", "bob"))
	p := l.Plan(l.Spec(hq("mixed", "carol", "dave")))
	erase := false
	for _, r := range clusterOf(t, p, "hq").Refusals {
		erase = erase || r.Kind == plan.PhoneModelNeedsErase && r.Have == "CP-7960G"
	}
	if !erase {
		t.Fatalf("want CP-7960G's erase among the refusals: %+v", clusterOf(t, p, "hq").Refusals)
	}
	goldenAll(t, "signer-change-phones", p)
}

// TestPhoneModelsWarnWhenAnotherTokenSigns: a token a model would refuse (a 4096-bit key on
// 79xx phones, P33) is a warning when another declared token every model takes can sign, and
// is not offered as a signer.
func TestPhoneModelsWarnWhenAnotherTokenSigns(t *testing.T) {
	small, big := phonetest.New(t, "small", 2048), phonetest.New(t, "big", 4096)
	_, data := phonetest.File(t, "CTLFile.tlv", small, ctl.SHA1,
		phonetest.Rec{ID: small, Role: ctl.RoleSAST}, phonetest.Rec{ID: big, Role: ctl.RoleSAST})
	c := &spec.Cluster{Name: "hq", Mode: spec.ModeMixed, Tokens: []spec.Token{{Name: "small", Cert: small.Cert}, {Name: "big", Cert: big.Cert}}}
	live := &plan.Live{Targets: []plan.Target{{Server: "cm1", Address: "tftp://cm1", Data: data}}}
	for _, tc := range []struct {
		models []string
		warned int
	}{{nil, 2}, {[]string{"CP-8861"}, 0}} {
		c.PhoneModels = tc.models
		p := plan.Build(c, live, time.Now())
		var warned []string
		for _, w := range p.Warnings {
			if w.Kind == plan.PhoneModelRefuses {
				warned = append(warned, w.Have+" "+w.Rule+" "+w.Token)
			}
		}
		if len(warned) != tc.warned || len(p.Signers) != 2-min(tc.warned, 1) || len(p.Refusals) != 0 {
			t.Fatalf("models %v: warnings %v, signers %+v, refusals %+v", tc.models, warned, p.Signers, p.Refusals)
		}
		for _, w := range warned {
			if !strings.HasSuffix(w, "P33 big") {
				t.Errorf("want the 4096-bit token refused by P33: %v", warned)
			}
		}
	}
}

// TestTokenlessPhoneModels: on a tokenless cluster CUCM signs; when its signer is not a SAST
// of the publisher's live CTL (an ITLRecovery regenerated on 12.x), the plan warns which
// models need an erase (P17) and which rely on TVS (P15).
func TestTokenlessPhoneModels(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed}
	cur, old := phonetest.New(t, "ITLRECOVERY_mpub", 1024), phonetest.New(t, "ITLRECOVERY_old", 1024)
	for _, tc := range []struct {
		name   string
		signer phonetest.Identity
		want   []string
	}{
		{"same ITLRecovery (positive control)", cur, nil},
		{"ITLRecovery regenerated", old, []string{"CP-7960G P17 phone-model-needs-erase", "CP-7965G P15 phone-model-needs-tvs", "CP-8861 P15 phone-model-needs-tvs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tokenlessLive(t)
			inv := &l.Platform.Inventory
			inv.Mixed = true
			inv.Nodes[0].ITLRecoveryCert = cur.Cert
			_, data := phonetest.File(t, "CTLFile.tlv", tc.signer, ctl.SHA1, phonetest.Rec{ID: tc.signer, Role: ctl.RoleSAST})
			l.Platform.Nodes[0].CTL = data
			p := plan.Build(c, l, time.Now())
			var got []string
			for _, w := range p.Warnings {
				if strings.HasPrefix(string(w.Kind), "phone-model-") {
					got = append(got, w.Have+" "+w.Rule+" "+string(w.Kind))
					if !strings.Contains(w.Message(), "CUCM's ITLRecovery certificate") {
						t.Errorf("the warning must name CUCM's signer: %s", w.Message())
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("phone warnings %v, want %v (refusals %+v)", got, tc.want, p.Refusals)
			}
		})
	}
}

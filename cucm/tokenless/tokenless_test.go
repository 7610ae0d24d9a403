package tokenless

import (
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

var sampleTime = time.Date(2015, 5, 7, 4, 0, 0, 0, time.UTC)

func readSample(t *testing.T) *ctl.File {
	t.Helper()
	b, err := os.ReadFile("testdata/SCFFile.tlv")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ctl.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func cert(t *testing.T, r *ctl.Record) *x509.Certificate {
	t.Helper()
	c, err := r.X509()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sampleInventory is the cluster the real SCFFile.tlv came from, rebuilt from the file's own
// certificates: publisher gigantic-6 (CallManager+TFTP, CAPF), subscribers gigantic-7 and
// ccm-sjcctg-013.
func sampleInventory(t *testing.T, f *ctl.File, release string) Inventory {
	rel, err := ParseRelease(release)
	if err != nil {
		t.Fatal(err)
	}
	inv := Inventory{Release: rel, Mixed: true}
	byName := map[string]int{}
	for i := range f.Records {
		r := &f.Records[i]
		idx, ok := byName[r.DNSName]
		if !ok {
			inv.Nodes = append(inv.Nodes, Node{Name: r.DNSName, IP: r.IPAddress})
			idx = len(inv.Nodes) - 1
			byName[r.DNSName] = idx
		}
		n := &inv.Nodes[idx]
		switch {
		case r.Role == ctl.RoleCCMTFTP:
			n.CallManager, n.TFTP, n.CallManagerCert = true, true, cert(t, r)
		case r.Role == ctl.RoleCAPF:
			n.CAPF, n.CAPFCert, n.Publisher = true, cert(t, r), true
		case r.Role == ctl.RoleSAST && strings.HasPrefix(r.SubjectName, "CN=ITLRECOVERY_"):
			n.ITLRecoveryCert = cert(t, r)
		}
	}
	return inv
}

// TestRealSampleIsTokenless105: the CTL a real CUCM 10.5 publisher built is recognised as
// tokenless, signed by CallManager, with expired certificates as warnings only.
func TestRealSampleIsTokenless105(t *testing.T) {
	f := readSample(t)
	r, err := Recognize(f, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("a real tokenless CTL must be checked without a hard error: %v", err)
	}
	if !r.Tokenless || r.Signer != SignerCallManager || r.Publisher != "gigantic-6" || !r.Mixed || r.Releases != "10.0–11.5" {
		t.Fatalf("recognition = %+v", r)
	}
	if len(r.Warnings) != 6 {
		t.Errorf("want 6 expiry warnings (every certificate has expired by 2026), got %q", r.Warnings)
	}
	// Positive control: a file whose SAST is no node certificate is token-signed.
	g := readSample(t)
	g.Records = g.Records[1:] // drop the CallManager SAST... the signer is gone: Verify fails
	if _, err := Recognize(g, sampleTime); err == nil {
		t.Fatal("a file without its signer record must not be recognised")
	}
}

// TestPredictMatchesRealSample: from the inventory alone, the prediction for 10.5(2) is the
// record set of the file CUCM built, signed by the publisher's CallManager certificate.
func TestPredictMatchesRealSample(t *testing.T) {
	f := readSample(t)
	cases := []struct {
		release string
		want    []string // Difference kinds+records, sorted as Compare returns them
	}{
		{"10.5.2.10000-5", nil},
		{"11.5.1.12900-21", nil},
		// 10.5(1): no ITLRecovery SAST: the real file's second SAST is unexpected.
		{"10.5.1.10000-7", []string{"unexpected SAST gigantic-6 (ITLRecovery)"}},
		// 12.5: ITLRecovery signs; the file signed by CallManager is drift.
		{"12.5.1.11900-146", []string{"signer"}},
	}
	for _, c := range cases {
		t.Run(c.release, func(t *testing.T) {
			inv := sampleInventory(t, f, c.release)
			p, err := Predict(inv, sampleTime)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range Compare(p, f) {
				got = append(got, strings.TrimSpace(d.Kind+" "+d.Record))
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("differences = %q, want %q", got, c.want)
			}
		})
	}
}

// TestPredictDetectsInventoryChanges: the events that make the real outage (R22).
func TestPredictDetectsInventoryChanges(t *testing.T) {
	f := readSample(t)
	other := cert(t, &f.Records[2]) // gigantic-7's certificate
	cases := []struct {
		name string
		edit func(*Inventory)
		want string
	}{
		{"regen-cert", func(inv *Inventory) { inv.Nodes[2].CallManagerCert = other }, "changed CCM+TFTP ccm-sjcctg-013"},
		{"ip-change", func(inv *Inventory) { inv.Nodes[1].IP = inv.Nodes[0].IP }, "changed CCM+TFTP gigantic-7"},
		{"rename", func(inv *Inventory) { inv.Nodes[1].Name = "gigantic-8" }, "missing CCM+TFTP gigantic-8|unexpected CCM+TFTP gigantic-7"},
		{"remove-node", func(inv *Inventory) { inv.Nodes = inv.Nodes[:2] }, "unexpected CCM+TFTP ccm-sjcctg-013"},
		{"non-secure", func(inv *Inventory) { inv.Mixed = false }, "changed CCM+TFTP ccm-sjcctg-013|changed CCM+TFTP gigantic-6|changed CCM+TFTP gigantic-7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := sampleInventory(t, f, "10.5.2.1-1")
			c.edit(&inv)
			p, err := Predict(inv, sampleTime)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range Compare(p, f) {
				got = append(got, d.Kind+" "+d.Record)
			}
			if strings.Join(got, "|") != c.want {
				t.Fatalf("differences = %q, want %q", got, c.want)
			}
		})
	}
}

func TestPredictExpiredIsWarning(t *testing.T) {
	f := readSample(t)
	inv := sampleInventory(t, f, "10.5.2.1-1")
	p, err := Predict(inv, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("expired certificates must not fail the prediction: %v", err)
	}
	if len(p.Warnings) == 0 {
		t.Fatal("no expiry warning")
	}
	p, err = Predict(inv, sampleTime.AddDate(-3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "expired") {
			t.Fatalf("warning before expiry: %s", w)
		}
	}
}

// The expiry window is the caller's (the spec's expiryWarning): a certificate 45 days from its
// end is a warning within 60 days, and not within the default 30 (the control).
func TestPredictExpiryWindow(t *testing.T) {
	f := readSample(t)
	inv := sampleInventory(t, f, "10.5.2.1-1")
	var first time.Time
	for _, n := range inv.Nodes {
		for _, c := range []*x509.Certificate{n.CallManagerCert, n.CAPFCert, n.ITLRecoveryCert} {
			if c != nil && (first.IsZero() || c.NotAfter.Before(first)) {
				first = c.NotAfter
			}
		}
	}
	now := first.Add(-45 * 24 * time.Hour)
	expiring := func(p *Prediction) int {
		n := 0
		for _, w := range p.Warnings {
			if strings.Contains(w, "expires on") {
				n++
			}
		}
		return n
	}
	p, err := Predict(inv, now)
	if err != nil {
		t.Fatal(err)
	}
	if n := expiring(p); n != 0 {
		t.Fatalf("default window: %d expiring warnings, want 0 (%q)", n, p.Warnings)
	}
	p, err = PredictWithin(inv, now, 60*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := expiring(p); n == 0 {
		t.Fatalf("60-day window: no expiring warning (%q)", p.Warnings)
	}
}

func TestRelease(t *testing.T) {
	cases := []struct {
		in             string
		itlSAST, itlSg bool
		err            bool
	}{
		{"10.0.1.10000-24", false, false, false},
		{"10.5.1.10000-7", false, false, false},
		{"10.5.2.15900-8", true, false, false},
		{"11.5.1.12900-21", true, false, false},
		{"12.0.1.10000-10", true, true, false},
		{"14.0.1.13900-155", true, true, false},
		{"9.1.2.10000-28", false, false, true},
		{"x.y", false, false, true},
	}
	for _, c := range cases {
		r, err := ParseRelease(c.in)
		if (err != nil) != c.err {
			t.Fatalf("%s: err %v", c.in, err)
		}
		if err == nil && (r.HasITLRecoverySAST() != c.itlSAST || r.ITLRecoverySigns() != c.itlSg) {
			t.Errorf("%s: ITLRecovery SAST %v signs %v", c.in, r.HasITLRecoverySAST(), r.ITLRecoverySigns())
		}
	}
}

package tokenless

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"

	"github.com/ctlops/ctlops/ctl"
)

// Difference is one way a live CTL differs from the prediction.
type Difference struct {
	Kind   string // missing, unexpected, changed, signer, unsigned, absent
	Record string // "CCM+TFTP msub", or "" for the file
	Detail string
}

func (d Difference) String() string {
	if d.Record == "" {
		return d.Kind + ": " + d.Detail
	}
	return d.Kind + " " + d.Record + ": " + d.Detail
}

// key identifies a record for comparison: role and DNS name. A second SAST of the publisher
// (CallManager and ITLRecovery share the name) is told apart by its subject.
func key(r *ctl.Record) string {
	k := r.Role.String() + " " + r.DNSName
	if r.Role == ctl.RoleSAST {
		if strings.HasPrefix(strings.ToUpper(r.SubjectName), "CN=ITLRECOVERY") {
			k += " (ITLRecovery)"
		} else {
			k += " (CallManager)"
		}
	}
	return k
}

// Compare checks a live CTL (nil: the node serves none) against the prediction: the
// signature verifies, the signer is the release's (§3.1), and the records are the predicted
// ones, matched by role and name, with the same certificate and IP.
func Compare(p *Prediction, live *ctl.File) []Difference {
	var d []Difference
	if live == nil {
		if p.Mixed {
			d = append(d, Difference{Kind: "absent", Detail: "the node serves no CTL; the cluster is declared mixed"})
		}
		// Non-secure with no CTL: what a cluster that was never mixed has (§2.3).
		return d
	}
	if err := live.Verify(); err != nil {
		d = append(d, Difference{Kind: "unsigned", Detail: "signature does not verify: " + err.Error()})
	} else if i := live.SignerRecord(); i < 0 || !sameCert(live.Records[i].Certificate, p.SignerCert) {
		got := "an unknown key"
		if i >= 0 {
			got = key(&live.Records[i])
		}
		d = append(d, Difference{Kind: "signer", Detail: fmt.Sprintf("signed by %s; release expects the %s certificate (%s)", got, p.Signer, ctl.NameString(p.SignerCert.Subject))})
	}
	want := map[string]*ctl.Record{}
	for i := range p.File.Records {
		want[key(&p.File.Records[i])] = &p.File.Records[i]
	}
	got := map[string]*ctl.Record{}
	for i := range live.Records {
		got[key(&live.Records[i])] = &live.Records[i]
	}
	for _, k := range sortedKeys(want) {
		w, g := want[k], got[k]
		switch {
		case g == nil:
			d = append(d, Difference{Kind: "missing", Record: k, Detail: describe(w)})
		case w.IsPlaceholder() != g.IsPlaceholder():
			d = append(d, Difference{Kind: "changed", Record: k, Detail: fmt.Sprintf("live %s, expected %s", describe(g), describe(w))})
		case !bytes.Equal(w.Certificate, g.Certificate):
			d = append(d, Difference{Kind: "changed", Record: k, Detail: fmt.Sprintf("certificate %s, node now has %s (regenerated; run utils ctl update CTLFile, R22)", short(g.Certificate), short(w.Certificate))})
		case w.IPAddress != g.IPAddress:
			d = append(d, Difference{Kind: "changed", Record: k, Detail: fmt.Sprintf("IP %v, node now has %v", g.IPAddress, w.IPAddress)})
		}
	}
	for _, k := range sortedKeys(got) {
		if want[k] == nil {
			d = append(d, Difference{Kind: "unexpected", Record: k, Detail: describe(got[k])})
		}
	}
	return d
}

func sameCert(der []byte, c *x509.Certificate) bool { return c != nil && bytes.Equal(der, c.Raw) }

func short(der []byte) string {
	if len(der) == 0 {
		return "(none)"
	}
	return "sha256:" + ctl.Fingerprint(der)[:16]
}

func describe(r *ctl.Record) string {
	if r.IsPlaceholder() {
		return fmt.Sprintf("placeholder (non-secure), IP %v", r.IPAddress)
	}
	return fmt.Sprintf("%s, certificate %s, IP %v", r.SubjectName, short(r.Certificate), r.IPAddress)
}

func sortedKeys(m map[string]*ctl.Record) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

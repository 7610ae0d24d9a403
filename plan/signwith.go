package plan

import "github.com/ctlops/ctlops/ctl"

// signWith checks the spec's signer against the tokens that may sign this plan (R19), where
// the plan can know it without a token: a lab key names its certificate. (A PKCS#11 signWith
// names a token by label or serial only; apply looks at the inserted token before its
// question.) Only a plan that signs is checked: one whose servers merely catch up with the
// cluster's file signs nothing.
func (b *builder) signWith() {
	sw := b.spec.SignWith
	if sw == nil || sw.Software == nil || sw.Software.Cert == nil || !b.p.Summary.Changes || len(b.p.Refusals) > 0 {
		return
	}
	if len(b.p.Actions) == 0 && b.baseline != nil {
		return
	}
	fp := ctl.Fingerprint(sw.Software.Cert.Raw)
	var may []string
	for _, s := range b.p.Signers {
		if s.CertificateSHA256 == fp {
			return
		}
		may = append(may, s.Token)
	}
	b.refuse(Problem{Kind: SignWithUntrusted, Rule: "R19", Pos: sw.Pos.String(), Signer: ctl.NameString(sw.Software.Cert.Subject), List: may})
}

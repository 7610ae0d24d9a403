package plan

import (
	"fmt"
	"net/netip"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/phonerules"
	"github.com/ctlops/ctlops/spec"
)

// The plan's "can be signed by", model by model. A declared token may sign the next file only
// if every phone model the cluster runs (spec phoneModels; none declared: every model ctlops
// knows, the safest reading) would install a CTL it signs with the digest apply will use:
// phonerules.Planned, the decision the lab phones take (through phonerules.CTL) once the file
// exists, and the one apply checks again before pushing. So the plan can say which models
// would refuse a change and why, by P rule, before a token is touched.

// Problem kinds about phone models. Have is the model (CP-7960G), Want its series (79xx), Token
// the declared token the verdict is about, Rule the deciding P rule, Detail phonerules' reason.
const (
	// PhoneModelRefuses: the model does not install the file: a digest (P32) or key size
	// (P33) it does not verify.
	PhoneModelRefuses ProblemKind = "phone-model-refuses"
	// PhoneModelNeedsErase: the signer is unknown to the installed CTL and the model has no
	// TVS: every such phone needs its trust list erased by hand (P17).
	PhoneModelNeedsErase ProblemKind = "phone-model-needs-erase"
	// PhoneModelNeedsTVS: the signer is unknown to the installed CTL; the model asks TVS,
	// which ctlops cannot see: the phone takes the file only if TVS vouches for it (P15).
	PhoneModelNeedsTVS ProblemKind = "phone-model-needs-tvs"
)

// phoneProfiles are the models the cluster runs. spec validated the names; an unknown one here
// (a spec made by hand) falls back to every model, the stricter side.
func (b *builder) phoneProfiles() []phonerules.Profile {
	ps, err := phonerules.Models(b.spec.PhoneModels)
	if err != nil {
		return phonerules.All()
	}
	return ps
}

// plannedHash is the digest apply signs with: signWith.hash, else the installed file's, else
// SHA-1 (apply's Options.hash decides the same way).
func (b *builder) plannedHash() ctl.HashAlgorithm {
	if sw := b.spec.SignWith; sw != nil && sw.Hash != "" {
		if h, err := ctl.ParseHashAlgorithm(sw.Hash); err == nil {
			return h
		}
	}
	if b.baseline != nil {
		return b.baseline.Header.HashAlgorithm
	}
	return ctl.SHA1
}

// tokenVerdicts is one declared token's verdicts by every model of the cluster.
type tokenVerdicts struct {
	token    spec.Token
	trusted  bool // a SAST record of the installed CTL (R19), or no CTL yet
	verdicts []phonerules.Verdict
	refusers []phonerules.Verdict
}

// phoneVerdicts decides, for each declared token, what every model would do with a CTL it
// signs.
func (b *builder) phoneVerdicts() []tokenVerdicts {
	profiles, hash := b.phoneProfiles(), b.plannedHash()
	var out []tokenVerdicts
	for _, t := range b.spec.Tokens {
		if t.Cert == nil {
			continue
		}
		r, err := ctl.NewRecord(t.Cert, ctl.RoleSAST, "", netip.Addr{})
		if err != nil {
			continue
		}
		vs := phonerules.Planned(b.baseline, phonerules.Signing{Signer: &r, Hash: hash}, profiles...)
		out = append(out, tokenVerdicts{token: t, trusted: b.baseline == nil || b.baseline.HasSAST(&r),
			verdicts: vs, refusers: phonerules.Refusers(vs)})
	}
	return out
}

// phoneProblems turns the refusing models into problems. With a token every model takes,
// the others are warnings (apply will not pick them); with none, the token closest to being
// usable (fewest refusing models, then declaration order) says which models refuse, as
// refusals.
func (b *builder) phoneProblems(tvs []tokenVerdicts, usable int) {
	if usable > 0 {
		for _, tv := range tvs {
			if tv.trusted {
				for _, v := range tv.refusers {
					b.warn(phoneProblem(tv.token.Name, v))
				}
			}
		}
		return
	}
	best := -1
	for i, tv := range tvs {
		if best < 0 || len(tv.refusers) < len(tvs[best].refusers) {
			best = i
		}
	}
	if best < 0 {
		return
	}
	for _, v := range tvs[best].refusers {
		b.refuse(phoneProblem(tvs[best].token.Name, v))
	}
}

func phoneProblem(token string, v phonerules.Verdict) Problem {
	kind := PhoneModelRefuses
	switch {
	case v.Decision.NeedsErase:
		kind = PhoneModelNeedsErase
	case v.Decision.Outcome == phonerules.AskTVS:
		kind = PhoneModelNeedsTVS
	}
	p := Problem{Kind: kind, Rule: v.Decision.Rule, Token: token, Have: v.Profile.Model, Want: v.Profile.Series}
	if kind == PhoneModelRefuses {
		// The other two say all there is; the R19 refusal beside them lists the trusted signers.
		p.Detail = v.Decision.Reason
	}
	return p
}

// phoneMessage is the sentence of a phone-model problem; ok is false for other kinds.
func (p Problem) phoneMessage() (string, bool) {
	model := fmt.Sprintf("%s (%s) phones", p.Have, p.Want)
	by := "token " + p.Token
	if p.Token == "" {
		by = q(p.Signer) // a tokenless cluster: CUCM's own certificate
	}
	switch p.Kind {
	case PhoneModelRefuses:
		return fmt.Sprintf("%s would refuse a CTL signed by %s: %s", model, by, q(p.Detail)), true
	case PhoneModelNeedsErase:
		return fmt.Sprintf("%s have no TVS (no Security by Default): they would refuse a CTL signed by %s, which the installed CTL does not trust, and keep their old one until their trust list is erased by hand on every phone, a Security Settings reset", model, by), true
	case PhoneModelNeedsTVS:
		return fmt.Sprintf("%s would take a CTL signed by %s, which the installed CTL does not trust, only if their TVS vouches for it (Phone-SAST-trust), which ctlops cannot check", model, by), true
	}
	return "", false
}

// tokenlessPhones is the same question for a tokenless cluster: CUCM signs with the predicted
// signer (its CallManager or ITLRecovery certificate, §3.1), and phones holding the
// publisher's live CTL judge it like any other (phonerules.Planned). ctlops cannot choose
// another signer there, and `update CTLFile` is how CUCM repairs drift, so these are
// warnings: after, say, an ITLRecovery regeneration on 12.x the models without Security by
// Default need an erase (P17), and SBD phones rely on TVS, which answers from CUCM's own CTL
// (P30).
func (b *builder) tokenlessPhones(pl *PlatformLive, inv *tokenless.Inventory, pred *tokenless.Prediction) {
	if pred == nil || pred.SignerCert == nil || len(pl.Nodes) != len(inv.Nodes) {
		return
	}
	var installed *ctl.File
	for i, n := range pl.Nodes {
		if inv.Nodes[i].Publisher && n.CTL != nil {
			if f, err := ctl.Parse(n.CTL); err == nil && f.Verify() == nil {
				installed = f
			}
		}
	}
	if installed == nil {
		return // a first CTL is imprinted (P13); a broken one is reported already
	}
	r, err := ctl.NewRecord(pred.SignerCert, ctl.RoleSAST, "", netip.Addr{})
	if err != nil {
		return
	}
	// CUCM's "TFTP File Signature Algorithm" is SHA-1 unless changed (P32): keep what the
	// publisher's file says.
	h := installed.Header.HashAlgorithm
	vs := phonerules.Planned(installed, phonerules.Signing{Signer: &r, Hash: h}, b.phoneProfiles()...)
	for _, v := range phonerules.Refusers(vs) {
		p := phoneProblem("", v)
		p.Signer = "CUCM's " + string(pred.Signer) + " certificate"
		b.warn(p)
	}
}

package phonerules

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/ctlops/ctlops/ctl"
)

// Outcome is what a phone does with a downloaded CTL or ITL.
type Outcome int

const (
	// Reject: the phone keeps what it holds (P16).
	Reject Outcome = iota
	// Imprint: the phone held no trust list and takes the file (P13, P20).
	Imprint
	// Accept: the signer is trusted by what the phone holds (P14, P21, P22).
	Accept
	// AskTVS: the signer is unknown, and the model would ask TVS (P15, P25). The file is
	// accepted only if TVS vouches for the signer with one of Decision.TVSRoles (P30): see
	// AfterTVS. An offline check (the plan) must read it as "accepted only by SBD phones whose
	// TVS knows the signer" (PHONE-RULES.md N2).
	AskTVS
)

func (o Outcome) String() string {
	return [...]string{"reject", "imprint", "accept", "ask-tvs"}[o]
}

// Decision is the outcome and why, citing the rule.
type Decision struct {
	Outcome Outcome
	Rule    string // P-number of the deciding rule
	Reason  string
	// NeedsErase: the phone will not take this file until its trust list is erased by hand
	// (P17): an unknown signer on a model without TVS.
	NeedsErase bool
	// Signer is the signer's record in the new file, when it has one.
	Signer *ctl.Record
	// TVSRoles are the roles TVS must return for the signer when Outcome is AskTVS (P30).
	TVSRoles []ctl.Role
}

func reject(rule, format string, a ...any) Decision {
	return Decision{Outcome: Reject, Rule: rule, Reason: fmt.Sprintf(format, a...)}
}

// common checks what every .tlv must pass before trust is looked at: it verifies against its
// own signer record (P10), with a digest (P32) and a key size (P33) the model supports.
func common(p Profile, next *ctl.File) (*ctl.Record, *Decision) {
	if d := hashLimit(p, next.Header.HashAlgorithm); d != nil {
		return nil, d
	}
	if err := next.Verify(); err != nil {
		d := reject("P10", "the file does not verify: %v", err)
		return nil, &d
	}
	signer := &next.Records[next.SignerRecord()]
	if d := keyLimit(p, signer); d != nil {
		return nil, d
	}
	return signer, nil
}

// hashLimit is P32: the model verifies only the digests it knows.
func hashLimit(p Profile, h ctl.HashAlgorithm) *Decision {
	if p.Supports(h) {
		return nil
	}
	d := reject("P32", "%s phones do not verify %s signatures (header tag 8 = %d); they support %v",
		p.Series, h, uint8(h), p.Hashes)
	return &d
}

// keyLimit is P33: the model verifies RSA keys up to its size.
func keyLimit(p Profile, signer *ctl.Record) *Decision {
	var d Decision
	if bits, err := keyBits(signer); err != nil {
		d = reject("P33", "signer key: %v", err)
	} else if bits > p.MaxRSABits {
		d = reject("P33", "the signer's key is %d-bit; %s phones verify up to %d bits", bits, p.Series, p.MaxRSABits)
	} else {
		return nil
	}
	return &d
}

func keyBits(r *ctl.Record) (int, error) {
	if len(r.Certificate) > 0 {
		c, err := r.X509()
		if err != nil {
			return 0, err
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok {
			return k.N.BitLen(), nil
		}
		return 0, fmt.Errorf("certificate key is %T, not RSA", c.PublicKey)
	}
	k, err := x509.ParsePKCS1PublicKey(r.PublicKey)
	if err != nil {
		return 0, err
	}
	return k.N.BitLen(), nil
}

// CTL decides what a phone of profile p that holds installedCTL and installedITL (either nil)
// does with next (P10–P19): the digest must be one the model verifies (P32), the file must
// verify against its own signer record (P10), and then the signer decides (Signed). Trust
// continuity is ctl's one definition (HasSAST, as in ctl.Accepts), nothing else.
func CTL(p Profile, installedCTL, installedITL *ctl.File, next *ctl.File) Decision {
	signer, bad := common(p, next)
	if bad != nil {
		return *bad
	}
	if installedCTL == nil && installedITL == nil {
		// P13: imprinting. Whether the phone checks the first file's self-signature is [?];
		// the safer choice checks it (common above, and ctl.Accepts(nil, next) again).
		if err := ctl.Accepts(nil, next); err != nil {
			return reject("P13", "%v", err)
		}
	}
	return Signed(p, installedCTL, installedITL, Signing{Signer: signer, Hash: next.Header.HashAlgorithm})
}

// Signing is a CTL signature as known before it is made: the signer's record (ctl.NewRecord of
// its certificate, role SAST) and the digest (header tag 8). The plan knows both before any
// token is touched; a signed file carries both (its signer record and tag 8).
type Signing struct {
	Signer *ctl.Record
	Hash   ctl.HashAlgorithm
}

// Signed is the acceptance decision itself, for a CTL signed as s, whether that file exists
// yet (apply, resign, inspect and the lab phones, through CTL) or not (the plan): the digest
// (P32), the signer's key size (P33), then trust: imprinting with no trust list (P13), the
// installed ITL's SAST records for a first CTL (N1.5), else the installed CTL's SAST records
// (P12, P14), else TVS on SBD models (P15) or a manual erase on the others (P16, P17). The
// signature itself is not checked here: CTL does that for a file.
func Signed(p Profile, installedCTL, installedITL *ctl.File, s Signing) Decision {
	if d := hashLimit(p, s.Hash); d != nil {
		return *d
	}
	if s.Signer == nil {
		return reject("P12", "no signer")
	}
	if d := keyLimit(p, s.Signer); d != nil {
		return *d
	}
	signer := s.Signer
	switch {
	case installedCTL == nil && installedITL == nil:
		return Decision{Outcome: Imprint, Rule: "P13", Reason: "no trust list installed: the first CTL is imprinted", Signer: signer}
	case installedCTL == nil:
		// N1.5 [?]: a first CTL on a phone that holds an ITL. The initial-success alarms say
		// "no existing TL", so the safer reading treats it as an update: its signer must be a
		// SAST of the ITL, or TVS must vouch for it (C4: an eToken-signed first CTL passes
		// through TVS).
		if installedITL.HasSAST(signer) {
			return Decision{Outcome: Imprint, Rule: "P14", Reason: "first CTL, signed by a SAST record of the installed ITL", Signer: signer}
		}
		return unknownSigner(p, signer, "P15", []ctl.Role{ctl.RoleSAST}, "first CTL on a phone holding an ITL: its signer is not a SAST record of the ITL (N1.5)")
	}
	if installedCTL.HasSAST(signer) {
		return Decision{Outcome: Accept, Rule: "P14", Reason: "signed by a SAST record of the installed CTL", Signer: signer}
	}
	return unknownSigner(p, signer, "P15", []ctl.Role{ctl.RoleSAST}, fmt.Sprintf(
		"the signer %s is not a SAST record of the installed CTL (R19, P12); trusted signers: %s", signer.Identity(), installedCTL.SASTList()))
}

// unknownSigner is P15–P17: SBD models ask TVS, the others refuse and need an erase.
func unknownSigner(p Profile, signer *ctl.Record, rule string, roles []ctl.Role, why string) Decision {
	if p.SBD {
		return Decision{Outcome: AskTVS, Rule: rule, Signer: signer, TVSRoles: roles,
			Reason: why + "; a " + p.Series + " phone asks TVS about the signer"}
	}
	return Decision{Outcome: Reject, Rule: "P17", Signer: signer, NeedsErase: true,
		Reason: why + "; " + p.Series + " phones have no TVS (no Security by Default): the trust list must be erased by hand"}
}

// ITL decides what a phone holding installedCTL and installedITL (either nil) does with a
// downloaded ITL (P20–P22).
func ITL(p Profile, installedCTL, installedITL, next *ctl.File) Decision {
	if !p.RequestsITL {
		return reject("P0", "%s phones take no ITL", p.Series)
	}
	signer, bad := common(p, next)
	if bad != nil {
		return *bad
	}
	roles := []ctl.Role{ctl.RoleSAST, ctl.RoleCCMTFTP}
	switch {
	case installedCTL == nil && installedITL == nil:
		if err := ctl.Accepts(nil, next); err != nil {
			return reject("P20", "%v", err)
		}
		return Decision{Outcome: Imprint, Rule: "P20", Reason: "no CTL and no ITL installed: the first ITL is trusted", Signer: signer}
	case installedCTL != nil:
		// P21: the ITL is authenticated against the CTL. SAST records count (ctl.Accepts);
		// C18 adds the CCM+TFTP record that signs pre-12 ITLs [?]. A TFTP-only record does
		// not count: the stricter reading.
		err := ctl.Accepts(installedCTL, next)
		if err == nil {
			return Decision{Outcome: Accept, Rule: "P21", Reason: "signed by a SAST record of the installed CTL", Signer: signer}
		}
		if holds(installedCTL, signer, ctl.RoleCCMTFTP) {
			return Decision{Outcome: Accept, Rule: "P21", Reason: "signed by a CCM+TFTP record of the installed CTL", Signer: signer}
		}
		return unknownSigner(p, signer, "P21", roles, "the ITL's signer is neither a SAST nor a CCM+TFTP record of the installed CTL")
	default:
		// P22: only an ITL installed: its SAST records (ctl.Accepts); C18's TFTP records are
		// [?] and left out.
		if err := ctl.Accepts(installedITL, next); err == nil {
			return Decision{Outcome: Accept, Rule: "P22", Reason: "signed by a SAST record of the installed ITL", Signer: signer}
		}
		return unknownSigner(p, signer, "P22", roles, "the ITL's signer is not a SAST record of the installed ITL")
	}
}

// holds reports whether f has a record of one of roles with the same identity as r
// (ctl.SameIdentity, the one comparison).
func holds(f *ctl.File, r *ctl.Record, roles ...ctl.Role) bool {
	for i := range f.Records {
		for _, role := range roles {
			if f.Records[i].Role == role && ctl.SameIdentity(&f.Records[i], r) {
				return true
			}
		}
	}
	return false
}

// AfterTVS completes an AskTVS decision with TVS's answer (P15, P29, P30): the certificate TVS
// returned must be the signer's own (compared by ctl.SameIdentity) and carry one of the roles
// the decision names. The file's signature was verified against that certificate already.
func AfterTVS(d Decision, valid bool, cert []byte, roles []ctl.Role) Decision {
	if d.Outcome != AskTVS {
		return d
	}
	if !valid {
		return Decision{Outcome: Reject, Rule: "P16", Signer: d.Signer, Reason: d.Reason + "; TVS does not know the signer"}
	}
	if len(cert) > 0 && !ctl.SameIdentity(&ctl.Record{Certificate: cert}, d.Signer) {
		return Decision{Outcome: Reject, Rule: "P16", Signer: d.Signer, Reason: d.Reason + "; TVS answered for another certificate"}
	}
	for _, want := range d.TVSRoles {
		for _, got := range roles {
			if want == got {
				return Decision{Outcome: Accept, Rule: "P15", Signer: d.Signer, Reason: fmt.Sprintf("TVS vouched for the signer as %s", got)}
			}
		}
	}
	return Decision{Outcome: Reject, Rule: "P30", Signer: d.Signer, Reason: fmt.Sprintf("%s; TVS knows the signer only as %v, not as %v", d.Reason, roles, d.TVSRoles)}
}

// NoTVS completes an AskTVS decision when no TVS can be asked (P16, P24), saying why.
func NoTVS(d Decision, why string) Decision {
	if d.Outcome != AskTVS {
		return d
	}
	return Decision{Outcome: Reject, Rule: "P16", Signer: d.Signer, Reason: d.Reason + "; " + why}
}

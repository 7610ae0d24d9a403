// Package phonerules is what a Cisco IP phone decides about a CTL or ITL file, by model: the
// rules P0..P51 of PHONE-RULES.md that can be decided offline, from files alone. The lab phones
// (lab/phone) decide through it, and so can ctlops' plan, so that "phones will accept this
// change" and what a lab phone does cannot drift apart.
//
// Trust continuity itself (R19, P12, P14) is not defined here: it is ctl.Accepts and
// (*ctl.File).HasSAST, the one definition. This package wraps them with what depends on the
// model: hash support (P32), key size (P33), Security by Default and TVS (P15–P17), the ITL's
// own rules (P20–P22), TFTP server authorisation (P8) and CallManager's TLS certificate (P42).
//
// It imports no project package but ctl.
package phonerules

import (
	"crypto/tls"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ctlops/ctlops/ctl"
)

// Protocol is the signalling protocol of a phone.
type Protocol string

const (
	SCCP Protocol = "SCCP"
	SIP  Protocol = "SIP"
)

// Profile is what a phone model can do (P0). Every decision of this package is driven by it.
type Profile struct {
	// Model is the product name as CUCM names devices (CP-7960G).
	Model string `json:"model"`
	// Series is a short family name for text ("79xx").
	Series string `json:"series"`
	// SBD: Security by Default, i.e. the model takes an ITL and asks TVS about unknown signers
	// (P0, P15). 7940/7960 do not; 7945/7965 and newer do [C4].
	SBD bool `json:"sbd"`
	// RequestsITL: the model downloads ITLSEP<MAC>.tlv (P3). False for 7940/7960 and 6901/6911.
	RequestsITL bool `json:"requestsITL"`
	// HTTPFirst: 78xx/88xx try HTTP :6970 before TFTP (P2). The lab serves TFTP only, so a lab
	// phone with HTTPFirst goes straight to TFTP and says so in its log.
	HTTPFirst bool `json:"httpFirst"`
	// Hashes are the digest codes (header tag 8) the model verifies (P32).
	Hashes []ctl.HashAlgorithm `json:"hashes"`
	// MaxRSABits is the largest signer key the model verifies (P33).
	MaxRSABits int `json:"maxRSABits"`
	// TLSMax is the newest TLS version the model speaks (P41): TLS 1.0 on the 7900 series.
	TLSMax uint16 `json:"tlsMax"`
	// Protocols the model runs; the first is its default.
	Protocols []Protocol `json:"protocols"`
}

// Supports reports whether the model verifies digest h (P32).
func (p Profile) Supports(h ctl.HashAlgorithm) bool { return slices.Contains(p.Hashes, h) }

// NeedsManualErase reports whether the model, holding a CTL, needs its trust list erased by
// hand before it takes a CTL signed by a signer it does not know (P17): every model without
// Security by Default, since it has no TVS to ask.
func (p Profile) NeedsManualErase() bool { return !p.SBD }

// The lab's model profiles (P0). Values marked [?] in PHONE-RULES.md take the stricter side:
// a lab phone that refuses where a real one might accept keeps ctlops' promise conservative.
var (
	// CP7960 is a 79xx without Security by Default: no ITL, no TVS (P0 [C4]), TLS 1.0 only
	// (P41 [U2, U6]), SHA-1 only (P32: "treat 79xx as SHA-1-only" [?], the stricter choice),
	// RSA up to 2048 bits (P33 [?]: usecallmanager's cap, the stricter of the sources).
	CP7960 = Profile{Model: "CP-7960G", Series: "79xx", SBD: false, RequestsITL: false,
		Hashes: []ctl.HashAlgorithm{ctl.SHA1}, MaxRSABits: 2048, TLSMax: tls.VersionTLS10,
		Protocols: []Protocol{SCCP, SIP}}
	// CP7965 is a 7945/7965-class phone with Security by Default (P0 [C4]): ITL and TVS, but
	// still a 79xx: TLS 1.0 and SHA-1 only [?], RSA up to 2048 bits [?].
	CP7965 = Profile{Model: "CP-7965G", Series: "79x5", SBD: true, RequestsITL: true,
		Hashes: []ctl.HashAlgorithm{ctl.SHA1}, MaxRSABits: 2048, TLSMax: tls.VersionTLS10,
		Protocols: []Protocol{SCCP, SIP}}
	// CP8861 is an 88xx SIP phone: SBD, SHA-1 and SHA-512 (P32 [C11]), RSA up to 4096 bits
	// (P33 [C11]), TLS 1.2 (P41 [C11]), HTTP :6970 first (P2 [C2, U3]). SHA-256 (code 2) is
	// seen in no CUCM file (§2.4), so it is not claimed [?].
	CP8861 = Profile{Model: "CP-8861", Series: "88xx", SBD: true, RequestsITL: true, HTTPFirst: true,
		Hashes: []ctl.HashAlgorithm{ctl.SHA1, ctl.SHA512}, MaxRSABits: 4096, TLSMax: tls.VersionTLS12,
		Protocols: []Protocol{SIP}}
)

// Profiles lists the known models by the short name flags and lab files use.
var Profiles = map[string]Profile{"7960": CP7960, "7965": CP7965, "8861": CP8861}

// Lookup returns the profile of a short name (7960) or a model name (CP-7960G).
func Lookup(name string) (Profile, error) {
	if p, ok := Profiles[name]; ok {
		return p, nil
	}
	for _, p := range Profiles {
		if strings.EqualFold(p.Model, name) {
			return p, nil
		}
	}
	names := make([]string, 0, len(Profiles))
	for n := range Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return Profile{}, fmt.Errorf("unknown phone model %q (known: %s)", name, strings.Join(names, ", "))
}

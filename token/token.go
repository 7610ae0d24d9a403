// Package token gives ctlops the key that signs a CTL file: a Site Administrator Security Token
// (SAST, R6, R19-R21) reached through its PKCS#11 module (a SafeNet eToken in the field,
// SoftHSM2 in tests, the same code path), or a software key for labs.
//
// Tokens are chosen by label or serial, never by slot: slot numbers change when a token is
// re-inserted (and SoftHSM2 draws them at random). When several tokens are present and none is
// named, nothing is chosen silently (R20): Choose refuses with the list, and a terminal caller
// may ask the user. Each Open makes its own short-lived PKCS#11 context that Close tears down,
// so a token pulled out during one run cannot poison the next.
package token

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Signer is something that can sign a CTL file: the key and the certificate that phones will
// find as a SAST record (R19).
type Signer interface {
	crypto.Signer
	// Certificate is the signer's certificate; its public key is the signer's.
	Certificate() *x509.Certificate
	// Describe says in one line what signs, for logs and confirmations (never the PIN).
	Describe() string
	// Close releases the token session (and the module when nothing else uses it).
	Close() error
}

// ModuleEnv names the environment variable that gives the PKCS#11 module path.
const ModuleEnv = "CTLOPS_PKCS11_MODULE"

// ResolveModule returns the PKCS#11 module to load: the flag first, then $CTLOPS_PKCS11_MODULE,
// then the one from the spec. It never guesses: a module picked silently could be the wrong
// vendor's, and the error says where to give one.
func ResolveModule(flag, fromSpec string) (string, error) {
	for _, m := range []string{flag, os.Getenv(ModuleEnv), fromSpec} {
		if m != "" {
			return m, nil
		}
	}
	return "", errors.New("no PKCS#11 module: give --pkcs11-module PATH or set " + ModuleEnv +
		" (SafeNet eToken: /usr/lib/libeTPkcs11.so; SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)")
}

// Flags are the token flags that matter to someone about to type a PIN.
type Flags struct {
	Initialized    bool `json:"initialized"`
	LoginRequired  bool `json:"loginRequired"`
	PINInitialized bool `json:"pinInitialized"`
	PINCountLow    bool `json:"pinCountLow"`
	PINFinalTry    bool `json:"pinFinalTry"`
	PINLocked      bool `json:"pinLocked"`
	PINToBeChanged bool `json:"pinToBeChanged"`
}

// Strings lists the set flags in words, in a fixed order.
func (f Flags) Strings() []string {
	var s []string
	add := func(b bool, w string) {
		if b {
			s = append(s, w)
		}
	}
	add(!f.Initialized, "not initialised")
	add(f.LoginRequired, "login required")
	add(f.Initialized && !f.PINInitialized, "user PIN not set")
	add(f.PINLocked, "PIN LOCKED")
	add(f.PINFinalTry, "PIN FINAL TRY")
	add(f.PINCountLow, "PIN count low")
	add(f.PINToBeChanged, "PIN to be changed")
	return s
}

// PINWarning is what to tell the user about the PIN retry counter before (or after) a login
// attempt; empty when there is nothing to say. eTokens lock themselves after repeated failures.
func (f Flags) PINWarning() string {
	switch {
	case f.PINLocked:
		return "the user PIN is LOCKED: the token refuses any login until its security officer unblocks it"
	case f.PINFinalTry:
		return "FINAL TRY: one more wrong PIN locks this token"
	case f.PINCountLow:
		return "the token reports that few PIN attempts remain (a wrong PIN has been entered since the last good one)"
	}
	return ""
}

// KeyPresence says whether a private key matching a certificate is on the token.
type KeyPresence string

const (
	KeyPresent KeyPresence = "yes"
	KeyAbsent  KeyPresence = "no"
	// KeyUnknown: the token hides private objects until login, and no login was made.
	KeyUnknown KeyPresence = "unknown"
)

// CertInfo describes one certificate on a token.
type CertInfo struct {
	Label       string            `json:"label"`
	ID          string            `json:"id"` // CKA_ID, hex
	Subject     string            `json:"subject,omitempty"`
	Issuer      string            `json:"issuer,omitempty"`
	Serial      string            `json:"serial,omitempty"` // hex
	SHA256      string            `json:"sha256"`
	NotBefore   time.Time         `json:"notBefore"`
	NotAfter    time.Time         `json:"notAfter"`
	PrivateKey  KeyPresence       `json:"privateKey"`
	ParseError  string            `json:"parseError,omitempty"`
	Certificate *x509.Certificate `json:"-"`
}

// Info describes one token present in a slot.
type Info struct {
	Slot         uint       `json:"slot"` // for diagnostics only: never used to select
	Label        string     `json:"label"`
	Serial       string     `json:"serial"`
	Manufacturer string     `json:"manufacturer"`
	Model        string     `json:"model"`
	Flags        Flags      `json:"flags"`
	LoggedIn     bool       `json:"loggedIn"` // whether the listing logged in (key presence is then known)
	Certificates []CertInfo `json:"certificates"`
	// Error is set when the token was seen but its objects could not be read.
	Error string `json:"error,omitempty"`
}

// Name is how messages refer to a token: label and serial.
func (i Info) Name() string {
	return fmt.Sprintf("%q (serial %s)", i.Label, termsafe.Line(i.Serial)) // the token's words
}

// Selection names a token by label or serial; both empty means "the one inserted" (R20).
type Selection struct {
	Label  string
	Serial string
}

func (s Selection) String() string {
	switch {
	case s.Label != "" && s.Serial != "":
		return fmt.Sprintf("label %q serial %s", s.Label, s.Serial)
	case s.Label != "":
		return fmt.Sprintf("label %q", s.Label)
	case s.Serial != "":
		return "serial " + s.Serial
	}
	return "any token"
}

func (s Selection) matches(i Info) bool {
	return (s.Label == "" || i.Label == s.Label) && (s.Serial == "" || i.Serial == s.Serial)
}

// ErrNoToken: no initialised token is present.
var ErrNoToken = errors.New("no security token is present (insert one)")

// ErrTokenNotFound: the named token is not present.
var ErrTokenNotFound = errors.New("security token not found")

// ErrSeveralTokens: several tokens are present and none was named (R20).
var ErrSeveralTokens = errors.New("several security tokens are present")

// SelectError carries the tokens that were present, so that the caller can list them.
type SelectError struct {
	Err     error // ErrNoToken, ErrTokenNotFound or ErrSeveralTokens
	Wanted  Selection
	Present []Info
}

func (e *SelectError) Error() string {
	var b strings.Builder
	switch e.Err {
	case ErrSeveralTokens:
		if e.Wanted == (Selection{}) {
			b.WriteString("several security tokens are present and none was named; insert only one (R20) or name one with --token-label or --token-serial")
		} else {
			fmt.Fprintf(&b, "several security tokens match %s; name it by --token-serial", e.Wanted)
		}
	case ErrTokenNotFound:
		fmt.Fprintf(&b, "no security token with %s is present", e.Wanted)
	default:
		b.WriteString(e.Err.Error())
	}
	if len(e.Present) > 0 {
		b.WriteString("; present:")
		for _, i := range e.Present {
			b.WriteString(" ")
			b.WriteString(i.Name())
			b.WriteString(";")
		}
		return strings.TrimSuffix(b.String(), ";")
	}
	return b.String()
}

func (e *SelectError) Unwrap() error { return e.Err }

// Choose applies the insert-one-token rule (R20) to the tokens present: the named token when
// one is named, the only initialised token when none is named, and otherwise an error listing
// what is present. It never picks one of several.
func Choose(present []Info, want Selection) (Info, error) {
	var usable []Info
	for _, i := range present {
		if i.Flags.Initialized {
			usable = append(usable, i)
		}
	}
	var match []Info
	for _, i := range usable {
		if want.matches(i) {
			match = append(match, i)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) > 1:
		return Info{}, &SelectError{Err: ErrSeveralTokens, Wanted: want, Present: usable}
	case want == (Selection{}):
		return Info{}, &SelectError{Err: ErrNoToken, Present: usable}
	}
	return Info{}, &SelectError{Err: ErrTokenNotFound, Wanted: want, Present: usable}
}

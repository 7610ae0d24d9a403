package token

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// ErrWrongPIN: the token refused the PIN.
var ErrWrongPIN = errors.New("wrong PIN")

// ErrPINLocked: the token's user PIN is locked after too many wrong PINs.
var ErrPINLocked = errors.New("the user PIN is locked (too many wrong PINs); the token's security officer must unblock it")

// ErrNoKey: the token holds no private key paired with a certificate, so it cannot sign.
var ErrNoKey = errors.New("no private key with a matching certificate")

// LoginError is a failed login, with what the token said about its retry counter afterwards.
type LoginError struct {
	Token Info
	After Flags // token flags read after the attempt
	Err   error // ErrWrongPIN, ErrPINLocked, or the module's error
}

func (e *LoginError) Error() string {
	msg := fmt.Sprintf("token %s: login failed: %v", e.Token.Name(), e.Err)
	if e.Err == ErrWrongPIN {
		msg = fmt.Sprintf("token %s: wrong PIN", e.Token.Name())
	}
	if w := e.After.PINWarning(); w != "" && e.Err != ErrPINLocked {
		msg += "; " + w
	}
	return msg
}

func (e *LoginError) Unwrap() error { return e.Err }

func loginError(tok Info, after Flags, err error) error {
	switch {
	case isRV(err, pkcs11.CKR_PIN_INCORRECT):
		err = ErrWrongPIN
	case isRV(err, pkcs11.CKR_PIN_LOCKED):
		err = ErrPINLocked
		after.PINLocked = true
	case isRV(err, pkcs11.CKR_PIN_LEN_RANGE):
		err = errors.New("the PIN's length is out of the token's range")
	case isRV(err, pkcs11.CKR_PIN_EXPIRED):
		err = errors.New("the PIN has expired; change it with the token's own tools")
	}
	return &LoginError{Token: tok, After: after, Err: err}
}

// Options says which token to open and how to get its PIN.
type Options struct {
	Module string
	Selection
	PIN PINSource
	// Ask lets a terminal user pick one of several present tokens when none is named (R20);
	// nil refuses with the list.
	Ask func(present []Info) (Info, error)
	// Prefer, when a token holds several key pairs, keeps those it accepts (for instance the
	// SAST records of the installed CTL, R19). A single pair is never refused here: the caller's
	// own check then explains what is wrong with it.
	Prefer func(*x509.Certificate) bool
	// CertSHA256 picks a key pair by its certificate's SHA-256 fingerprint.
	CertSHA256 string
	// Warn receives PIN-counter warnings (before the attempt); nil discards them.
	Warn io.Writer
	// Retry asks for the PIN again after a wrong one, while the token is not locked: only
	// for a PIN a person types (a wrong PIN from a file or the environment would only burn
	// the token's tries).
	Retry bool
}

// MaxPINTries bounds the PIN attempts of one Open even when a token never reports its
// counter (SoftHSM2 raises "count low" but never locks): the token's own limit decides
// first on real tokens, which say FINAL TRY and LOCKED.
const MaxPINTries = 10

// loginRetrying asks for the PIN and opens the token with it, again after a wrong PIN when
// o.Retry, saying what the token reports of its remaining tries.
func loginRetrying(ctx context.Context, o Options, tok Info) (*crypto11.Context, error) {
	for attempt := 1; ; attempt++ {
		pin, err := o.PIN(tok)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			wipe(pin)
			return nil, err
		}
		cfg := &crypto11.Config{Path: o.Module, Pin: string(pin)}
		wipe(pin)
		// The serial is unique where labels need not be; tokens without a serial go by label.
		if tok.Serial != "" {
			cfg.TokenSerial = tok.Serial
		} else {
			cfg.TokenLabel = tok.Label
		}
		moduleMu.Lock()
		c11, err := crypto11.Configure(cfg)
		cfg.Pin = "" // crypto11 keeps cfg; drop the PIN so that only the GC's copy remains
		moduleMu.Unlock()
		if err == nil {
			return c11, nil
		}
		lerr := configureError(o.Module, tok, err)
		var le *LoginError
		if !o.Retry || !errors.As(lerr, &le) || le.Err != ErrWrongPIN || le.After.PINLocked || attempt >= MaxPINTries {
			return nil, lerr
		}
		tok.Flags = le.After
		if o.Warn != nil {
			fmt.Fprintf(o.Warn, "token %s: wrong PIN; %s (Ctrl-C stops)\n", tok.Name(), triesLeft(le.After))
		}
	}
}

// triesLeft says what the token reports of the PIN tries left, in words.
func triesLeft(f Flags) string {
	switch {
	case f.PINFinalTry:
		return "1 try remains before the token locks itself: try again"
	case f.PINCountLow:
		return "the token does not say how many tries remain, only that few do: try again"
	}
	return "try again"
}

// Open chooses a token (R20), logs in and finds its signing key through its certificate. The
// returned Signer holds a PKCS#11 context of its own: Close it when the operation is done.
func Open(ctx context.Context, o Options) (Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.PIN == nil {
		return nil, ErrNoPIN
	}
	present, err := List(o.Module)
	if err != nil {
		return nil, err
	}
	tok, err := Choose(present, o.Selection)
	var se *SelectError
	if errors.As(err, &se) && se.Err == ErrSeveralTokens && o.Selection == (Selection{}) && o.Ask != nil {
		tok, err = o.Ask(se.Present)
	}
	if err != nil {
		return nil, err
	}
	if tok.Flags.PINLocked {
		return nil, &LoginError{Token: tok, After: tok.Flags, Err: ErrPINLocked}
	}
	if w := tok.Flags.PINWarning(); w != "" && o.Warn != nil {
		fmt.Fprintf(o.Warn, "warning: token %s: %s\n", tok.Name(), w)
	}
	c11, err := loginRetrying(ctx, o, tok)
	if err != nil {
		return nil, err
	}
	s, err := pickKey(c11, tok, o)
	if err != nil {
		closeContext(c11)
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func closeContext(c *crypto11.Context) {
	moduleMu.Lock()
	defer moduleMu.Unlock()
	_ = c.Close()
}

// configureError turns crypto11's errors into messages that name the token and say what to do.
func configureError(module string, tok Info, err error) error {
	switch {
	case isRV(err, pkcs11.CKR_PIN_INCORRECT), isRV(err, pkcs11.CKR_PIN_LOCKED),
		isRV(err, pkcs11.CKR_PIN_LEN_RANGE), isRV(err, pkcs11.CKR_PIN_EXPIRED):
		after := tok.Flags
		if now, lerr := List(module); lerr == nil {
			for _, i := range now {
				if i.Serial == tok.Serial && i.Label == tok.Label {
					after = i.Flags
				}
			}
		}
		return loginError(tok, after, err)
	case isRV(err, pkcs11.CKR_TOKEN_NOT_PRESENT), isRV(err, pkcs11.CKR_DEVICE_REMOVED),
		strings.Contains(err.Error(), "could not find PKCS#11 token"):
		return fmt.Errorf("token %s: removed before it could be opened", tok.Name())
	}
	return fmt.Errorf("token %s: opening through %s: %w", tok.Name(), module, err)
}

func pickKey(c11 *crypto11.Context, tok Info, o Options) (Signer, error) {
	pairs, err := c11.FindAllPairedCertificates()
	if err != nil {
		return nil, fmt.Errorf("token %s: finding key pairs: %w", tok.Name(), err)
	}
	type cand struct {
		signer crypto11.Signer
		cert   *x509.Certificate
	}
	var cands []cand
	var seen []string
	for _, p := range pairs {
		s, ok := p.PrivateKey.(crypto11.Signer)
		if !ok || p.Leaf == nil {
			continue
		}
		if _, rsaKey := s.Public().(*rsa.PublicKey); !rsaKey {
			continue // CTL files are signed with RSA only
		}
		fp := ctl.Fingerprint(p.Leaf.Raw)
		seen = append(seen, fmt.Sprintf("%s (sha256 %s)", ctl.NameString(p.Leaf.Subject), fp))
		if o.CertSHA256 != "" && !strings.EqualFold(o.CertSHA256, fp) {
			continue
		}
		cands = append(cands, cand{s, p.Leaf})
	}
	if len(cands) > 1 && o.Prefer != nil {
		var kept []cand
		for _, c := range cands {
			if o.Prefer(c.cert) {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			cands = kept
		}
	}
	switch {
	case len(cands) == 0 && len(seen) == 0:
		return nil, fmt.Errorf("token %s: %w: it cannot sign (certificates on it: %d)", tok.Name(), ErrNoKey, len(tok.Certificates))
	case len(cands) == 0 && o.CertSHA256 != "":
		return nil, fmt.Errorf("token %s: no key pair whose certificate has SHA-256 %s; key pairs: %s", tok.Name(), o.CertSHA256, strings.Join(seen, "; "))
	case len(cands) > 1:
		return nil, fmt.Errorf("token %s holds %d key pairs; choose one by certificate fingerprint: %s", tok.Name(), len(cands), strings.Join(seen, "; "))
	}
	c := cands[0]
	cpub, ok := c.cert.PublicKey.(*rsa.PublicKey)
	if !ok || !cpub.Equal(c.signer.Public()) {
		return nil, fmt.Errorf("token %s: the private key with the CKA_ID of certificate %s does not match it", tok.Name(), ctl.NameString(c.cert.Subject))
	}
	return &p11Signer{c11: c11, key: c.signer, cert: c.cert, tok: tok}, nil
}

type p11Signer struct {
	c11  *crypto11.Context
	key  crypto11.Signer
	cert *x509.Certificate
	tok  Info
}

func (s *p11Signer) Public() crypto.PublicKey { return s.key.Public() }

func (s *p11Signer) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.key.Sign(r, digest, opts)
	if err != nil {
		if isRV(err, pkcs11.CKR_DEVICE_REMOVED) || isRV(err, pkcs11.CKR_TOKEN_NOT_PRESENT) || isRV(err, pkcs11.CKR_SESSION_HANDLE_INVALID) {
			return nil, fmt.Errorf("token %s was removed while signing", s.tok.Name())
		}
		return nil, fmt.Errorf("token %s: signing: %w", s.tok.Name(), err)
	}
	return sig, nil
}

func (s *p11Signer) Certificate() *x509.Certificate { return s.cert }

func (s *p11Signer) Describe() string {
	return termsafe.Line(fmt.Sprintf("PKCS#11 token %s (%s %s), certificate %s serial %s", // the token's words
		s.tok.Name(), s.tok.Manufacturer, s.tok.Model, ctl.NameString(s.cert.Subject), ctl.SerialHex(s.cert.SerialNumber.Bytes())))
}

func (s *p11Signer) Close() error {
	if s.c11 == nil {
		return nil
	}
	closeContext(s.c11)
	s.c11 = nil
	return nil
}

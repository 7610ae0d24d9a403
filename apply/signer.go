package apply

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
)

// TokenOptions are the command line's say in choosing the signer; each field left empty falls
// back to the cluster's signWith.
type TokenOptions struct {
	Module  string // --pkcs11-module, else $CTLOPS_PKCS11_MODULE, else signWith.pkcs11.module
	Label   string // --token-label
	Serial  string // --token-serial
	PINFile string // --pin-file
	// Input allows questions on the terminal: which token (R20) and its PIN (R21).
	Input  bool
	Stdin  io.Reader
	Prompt io.Writer
}

// resolved is what TokenOptions and a cluster's signWith decide before any token is touched.
type resolved struct {
	software *spec.SoftwareKey // a lab key instead of a token
	module   string
	sel      token.Selection
	pin      token.PINSource
	ask      bool // questions may be asked on the terminal
	fd       int  // the terminal, when ask
	termPIN  bool // the PIN is typed on the terminal (asked again when wrong)
	// pinCheck says, without asking anything, whether the PIN will be there when needed.
	pinCheck func() error
}

// resolve picks the signer's module, token and PIN source. The PIN comes from --pin-file, else
// $CTLOPS_TOKEN_PIN, else the spec's signWith.pkcs11.pin reference, else a prompt without echo
// on a terminal; with none of them it is an error rather than a hang.
func (t TokenOptions) resolve(sw *spec.SignWith) (*resolved, error) {
	named := t.Module != "" || t.Label != "" || t.Serial != ""
	if !named && sw != nil && sw.Software != nil {
		return &resolved{software: sw.Software}, nil
	}
	r := &resolved{}
	var specModule string
	var specPIN *spec.SecretRef
	if sw != nil && sw.PKCS11 != nil {
		specModule, specPIN = sw.PKCS11.Module, sw.PKCS11.PIN
		r.sel = token.Selection{Label: sw.PKCS11.TokenLabel, Serial: sw.PKCS11.TokenSerial}
	}
	if t.Label != "" || t.Serial != "" {
		r.sel = token.Selection{Label: t.Label, Serial: t.Serial}
	}
	mod, err := token.ResolveModule(t.Module, specModule)
	if err != nil {
		return nil, err
	}
	r.module = mod
	fd, tty := token.TerminalFD(t.Stdin)
	r.ask, r.fd = tty && t.Input, fd
	r.pinCheck = func() error { return nil }
	switch {
	case t.PINFile != "":
		r.pin = token.PINFromFile(t.PINFile)
		r.pinCheck = func() error {
			f, err := os.Open(t.PINFile)
			if err != nil {
				return fmt.Errorf("--pin-file: %w", err)
			}
			return f.Close()
		}
	case os.Getenv(token.PINEnv) != "":
		r.pin = token.PINFromEnv(token.PINEnv)
	case specPIN != nil:
		ref := *specPIN
		r.pin = func(token.Info) ([]byte, error) {
			v, err := ref.Resolve()
			if err != nil {
				return nil, fmt.Errorf("token PIN: %w", err)
			}
			return []byte(v), nil
		}
		r.pinCheck = func() error {
			if _, err := ref.Resolve(); err != nil {
				return fmt.Errorf("token PIN: %w", err)
			}
			return nil
		}
	case r.ask:
		r.pin, r.termPIN = token.PINFromTerminal(fd, t.Prompt), true
	default:
		msg := token.ErrNoPIN.Error()
		if tty {
			msg += " (input is disabled: --input=false)"
		}
		return nil, errors.New(msg)
	}
	return r, nil
}

// TokenPreflight checks, before any lock is taken and without touching a token, that the
// signer TokenOpener would open can be found and unlocked: the PKCS#11 module resolves and a
// PIN source is there (a readable --pin-file, a set variable), or the lab key loads.
func TokenPreflight(t TokenOptions) func(SignerRequest) error {
	return func(req SignerRequest) error {
		r, err := t.resolve(req.SignWith)
		if err != nil {
			return err
		}
		if r.software != nil {
			s, err := token.LoadSoftware(r.software.KeyFile, r.software.CertFile)
			if err != nil {
				return err
			}
			return s.Close()
		}
		if strings.ContainsRune(r.module, '/') { // a bare name is for the loader's search path
			if _, err := os.Stat(r.module); err != nil {
				return fmt.Errorf("PKCS#11 module: %w", err)
			}
		}
		return r.pinCheck()
	}
}

// TokenOpener opens the signer as `ctlops apply` does (see resolve for where the PIN comes
// from). When the token holds several key pairs, the ones phones already trust (R19) are
// preferred.
func TokenOpener(t TokenOptions) func(context.Context, SignerRequest) (token.Signer, error) {
	if t.Prompt == nil {
		t.Prompt = io.Discard
	}
	return func(ctx context.Context, req SignerRequest) (token.Signer, error) {
		r, err := t.resolve(req.SignWith)
		if err != nil {
			return nil, err
		}
		if r.software != nil {
			fmt.Fprintln(t.Prompt, "WARNING:", token.SoftwareWarning)
			return token.LoadSoftware(r.software.KeyFile, r.software.CertFile)
		}
		mod, sel, pin, ask := r.module, r.sel, r.pin, r.ask
		o := token.Options{Module: mod, Selection: sel, PIN: pin, Warn: t.Prompt}
		if ask {
			// Every question on the terminal gives up when ctx ends: Ctrl-C at the token or
			// PIN prompt, with every update lock held, stops the apply, which releases them.
			o.Ask = token.AskTokenContext(ctx, r.fd, t.Prompt)
		}
		if r.termPIN {
			o.PIN, o.Retry = token.PINFromTerminalContext(ctx, r.fd, t.Prompt), true
		}
		if len(req.Trusted) > 0 {
			o.Prefer = func(c *x509.Certificate) bool { return trusted(req.Trusted, ctl.Fingerprint(c.Raw)) }
		}
		s, err := token.Open(ctx, o)
		if err != nil {
			var se *token.SelectError
			if errors.As(err, &se) && len(req.Trusted) > 0 {
				return nil, fmt.Errorf("%w; tokens phones already trust (R19): %s", err, strings.TrimSpace(signerList(req.Trusted)))
			}
			return nil, err
		}
		return s, nil
	}
}
